//! Connection health on real clusters: servers that crash, restart, kill sessions or time
//! them out, pools that run dry. Every case runs on PostgreSQL (a primary and two streaming
//! standbys) and on MariaDB (a primary and two GTID replicas), from the same source in
//! `cases/`, compiled once per backend by `postgres.rs` and `mariadb.rs`.
//!
//! Cases that only read and write use the harness's shared clusters, each in a database of its
//! own; cases that stop servers, kill every session or change server settings start a
//! cluster of their own.

#[path = "../shared/hung.rs"]
mod hung;
mod mariadb;
mod postgres;
mod support;

diesel_route::databases! {
    /// The PostgreSQL cases' database. The MariaDB cases configure it with a URL nothing ever
    /// connects to: a router needs every declared database configured.
    default: postgres,
    /// The MariaDB cases' database, likewise unused by the PostgreSQL cases.
    maria: mysql,
}
