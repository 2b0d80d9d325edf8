//! Replicated database clusters for integration tests.
//!
//! [`PgCluster`] starts a PostgreSQL primary with streaming standbys, [`MariaDbCluster`] a
//! MariaDB primary with GTID replicas, each in a temp dir on free loopback ports. Everything is
//! synchronous and driven through the servers' own command-line tools, so sync and async tests
//! use it alike.
//!
//! ```no_run
//! let Some(cluster) = harness::pg_cluster_or_skip(1) else { return };
//! cluster.sql(&cluster.primary(), "CREATE TABLE t (id int)");
//! cluster.wait_caught_up();
//! assert_eq!(cluster.sql(&cluster.replicas()[0], "SELECT count(*) FROM t"), "0");
//! ```
//!
//! Each cluster copies a data-dir template that is built once per machine and cached in
//! `diesel-route-harness/` on `/dev/shm` (tmpfs, when it has room) or in the temp dir, so a
//! cluster starts in about 0.3 s. Dropping a cluster stops its servers and removes its files,
//! also when the test panics; a watchdog process does the same if the test process dies
//! without dropping it (a cluster kept in a `static`, or a killed test run). Server logs are
//! `<name>.log` beside the data dirs, and a failed start panics with the end of the log.
//!
//! Faults for the tests to inject, on both kinds of cluster: stopping and killing servers,
//! ending sessions, replication that lags, pauses or stops, frozen servers that answer nothing
//! ([`PgCluster::freeze`]), and failover ([`PgCluster::promote`], [`PgCluster::demote`]).
//! PostgreSQL also holds commits in flight ([`PgCluster::hold_commits`]) and runs behind
//! [`PgBouncer`]. [`ClusterOptions`] starts clusters that speak TLS, with the
//! [`certificates`] of the test process, or where PostgreSQL's application user needs its
//! password.

mod availability;
mod cluster;
mod mariadb;
mod node;
mod options;
mod pgbouncer;
mod ports;
mod postgres;
mod process;
mod sql;
mod template;
mod tls;
mod url;
mod wait;
mod workdir;

pub use availability::{
    mariadb_available, mariadb_cluster_or_skip, mariadb_cluster_with_or_skip, pg_cluster_or_skip,
    pg_cluster_with_or_skip, pgbouncer_available, pgbouncer_or_skip, postgres_available,
    shared_mariadb_cluster_or_skip, shared_pg_cluster_or_skip,
};
pub use mariadb::{MARIADB_APP_PASSWORD, MariaDbCluster};
pub use options::{ClusterOptions, ServerCert, Tls};
pub use pgbouncer::{PgBouncer, PoolMode};
pub use postgres::{PG_APP_PASSWORD, PgCluster};
pub use tls::{Certificates, certificates};

/// One server of a cluster, as tests name it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerRef {
    /// `"primary"`, `"replica1"`, `"replica2"`, ...
    pub name: String,
    /// The loopback port it listens on; it keeps it across restarts.
    pub port: u16,
    /// Whether it was the cluster's primary when this was taken; a failover changes that.
    pub is_primary: bool,
    /// MariaDB's `@@server_id`; `None` for PostgreSQL.
    pub server_id: Option<u32>,
}

/// How [`PgCluster::stop`] and [`MariaDbCluster::stop`] end a server. Both keep its data dir.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A clean shutdown that disconnects clients: SIGINT (PostgreSQL's fast mode) or SIGTERM
    /// (MariaDB).
    Fast,
    /// A crash: PostgreSQL's immediate mode (SIGQUIT, which also ends its backends and needs
    /// crash recovery on restart), SIGKILL for MariaDB.
    Kill,
}

/// `error` and its causes, as an error reporter prints them: `error: cause: cause`. Errors
/// do not repeat their cause in their own message, so tests that look for what the driver
/// said read the whole chain.
pub fn report(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
