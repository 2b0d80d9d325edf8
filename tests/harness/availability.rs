//! Whether the servers are installed, and skipping tests where they are not.

use std::sync::OnceLock;

use crate::mariadb::MariaDb;
use crate::pgbouncer::Bouncer;
use crate::postgres::Postgres;
use crate::{ClusterOptions, MariaDbCluster, PgBouncer, PgCluster, PoolMode, ServerRef};

/// `Ok` when PostgreSQL's server binaries are installed (and, for root, user `postgres`
/// exists); else what to install.
pub fn postgres_available() -> Result<(), String> {
    Postgres::find().map(drop)
}

/// `Ok` when MariaDB's server binaries are installed; else what to install.
pub fn mariadb_available() -> Result<(), String> {
    MariaDb::find().map(drop)
}

/// `Ok` when Debian's `pgbouncer` is installed; else what to install.
pub fn pgbouncer_available() -> Result<(), String> {
    Bouncer::find().map(drop)
}

/// Starts a [`PgCluster`] with `replicas` standbys, or skips the test where PostgreSQL is
/// missing: `None` after a `SKIPPED:` line on stderr, but a panic when `CI=true`, where a
/// missing server is a broken machine, not a reason to skip.
pub fn pg_cluster_or_skip(replicas: usize) -> Option<PgCluster> {
    available_or_skip(postgres_available()).then(|| PgCluster::start(replicas))
}

/// Starts a [`PgCluster`] as `options` say, or skips the test as [`pg_cluster_or_skip`] does.
pub fn pg_cluster_with_or_skip(options: ClusterOptions) -> Option<PgCluster> {
    available_or_skip(postgres_available()).then(|| PgCluster::start_with(options))
}

/// Starts a [`MariaDbCluster`] with `replicas` replicas, or skips the test where MariaDB is
/// missing, as [`pg_cluster_or_skip`] does.
pub fn mariadb_cluster_or_skip(replicas: usize) -> Option<MariaDbCluster> {
    available_or_skip(mariadb_available()).then(|| MariaDbCluster::start(replicas))
}

/// Starts a [`MariaDbCluster`] as `options` say, or skips the test as [`pg_cluster_or_skip`]
/// does.
pub fn mariadb_cluster_with_or_skip(options: ClusterOptions) -> Option<MariaDbCluster> {
    available_or_skip(mariadb_available()).then(|| MariaDbCluster::start_with(options))
}

/// Starts a [`PgBouncer`] in front of `server`, or skips the test where `pgbouncer` is
/// missing, as [`pg_cluster_or_skip`] does.
pub fn pgbouncer_or_skip(
    cluster: &PgCluster,
    server: &ServerRef,
    mode: PoolMode,
) -> Option<PgBouncer> {
    available_or_skip(pgbouncer_available()).then(|| PgBouncer::start(cluster, server, mode))
}

/// A primary with two standbys shared by all tests of the process, started on first use, or
/// a skip as in [`pg_cluster_or_skip`].
///
/// Tests run in parallel on it: give each test its own database
/// ([`PgCluster::create_database`]) and never stop servers, delay replicas or terminate
/// sessions here; start a cluster of your own for that. Its watchdog stops it when the
/// process exits.
pub fn shared_pg_cluster_or_skip() -> Option<&'static PgCluster> {
    static SHARED: OnceLock<PgCluster> = OnceLock::new();
    available_or_skip(postgres_available()).then(|| SHARED.get_or_init(|| PgCluster::start(2)))
}

/// A MariaDB primary with two replicas shared by all tests of the process, under the rules
/// of [`shared_pg_cluster_or_skip`].
pub fn shared_mariadb_cluster_or_skip() -> Option<&'static MariaDbCluster> {
    static SHARED: OnceLock<MariaDbCluster> = OnceLock::new();
    let available = available_or_skip(mariadb_available());
    available.then(|| SHARED.get_or_init(|| MariaDbCluster::start(2)))
}

fn available_or_skip(available: Result<(), String>) -> bool {
    let Err(missing) = available else { return true };
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{missing} (CI=true: a missing server fails the test instead of skipping it)");
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    eprintln!("SKIPPED: {test}: {missing}");
    false
}
