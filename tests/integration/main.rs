//! Behaviour tests on real servers: SQLite files, and PostgreSQL and MariaDB clusters with
//! replicas started by the harness. One binary, so the clusters and the build are shared.

mod harness_selftest;
