//! The harness's own tests: its clusters replicate, survive restarts, fail over, freeze, speak
//! TLS, sit behind PgBouncer and leave nothing running. diesel-route's behaviour is tested per
//! backend in the `sqlite`, `postgres`, `mariadb` and `config` test binaries.

mod failover;
mod freeze;
mod harness_selftest;
mod pgbouncer;
mod replication;
mod support;
mod tls;
