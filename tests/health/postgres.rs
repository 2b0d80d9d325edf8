//! The cases on PostgreSQL: a primary and two streaming standbys.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel_route::DatabaseConfig;
use harness::{PgCluster, ServerRef};

// The same cases compile once per backend: `super::Db`, `super::Cluster` and the SQL below
// differ.
#[path = "cases/commit_in_flight.rs"]
#[allow(clippy::duplicate_mod)]
mod commit_in_flight;
#[path = "cases/common.rs"]
#[allow(clippy::duplicate_mod)]
mod common;
#[path = "cases/deadlines.rs"]
#[allow(clippy::duplicate_mod)]
mod deadlines;
#[path = "cases/failover.rs"]
#[allow(clippy::duplicate_mod)]
mod failover;
#[path = "cases/frozen.rs"]
#[allow(clippy::duplicate_mod)]
mod frozen;
#[path = "cases/lost.rs"]
#[allow(clippy::duplicate_mod)]
mod lost;
#[path = "cases/pool.rs"]
#[allow(clippy::duplicate_mod)]
mod pool;
#[path = "cases/primary.rs"]
#[allow(clippy::duplicate_mod)]
mod primary;
#[path = "cases/sessions.rs"]
#[allow(clippy::duplicate_mod)]
mod sessions;
#[path = "cases/storms.rs"]
#[allow(clippy::duplicate_mod)]
mod storms;

/// The database the cases route to.
pub(crate) type Db = crate::default;
/// Its key in `databases!`.
pub(crate) const KEY: &str = "default";
pub(crate) type Cluster = PgCluster;

/// The password the cases put in URLs, which no error may show (the harness's servers trust
/// any password of a known user).
pub(crate) const PASSWORD: &str = "pg-hunter2";

/// The other declared database, pointing where nothing listens: it has no replica and no
/// `min_idle`, so no connection to it is ever tried.
pub(crate) fn unused_database() -> (&'static str, DatabaseConfig) {
    (
        "maria",
        DatabaseConfig::new("mysql://unused@127.0.0.1:9/unused"),
    )
}

/// The primary and two standbys every case may share, or `None` where PostgreSQL is missing.
pub(crate) fn shared_cluster() -> Option<&'static Cluster> {
    harness::shared_pg_cluster_or_skip()
}

/// A primary and two standbys of the case's own.
pub(crate) fn own_cluster() -> Option<Cluster> {
    harness::pg_cluster_or_skip(2)
}

/// `url` with [`PASSWORD`] in it.
pub(crate) fn with_password(url: &str) -> String {
    url.replacen("://app@", &format!("://app:{PASSWORD}@"), 1)
}

pub(crate) const IDENTITY: &str =
    "SELECT inet_server_port()::bigint AS port, pg_backend_pid()::bigint AS pid";

pub(crate) const SCHEMA: &str = "CREATE TABLE marks (id serial PRIMARY KEY, note text NOT NULL)";

/// PostgreSQL's report to a session `pg_terminate_backend` ends (57P01).
pub(crate) const KILLED_SESSION: &[&str] = &["terminating connection due to administrator command"];

/// A statement that holds its session for `duration`.
pub(crate) fn sleep_sql(duration: Duration) -> String {
    format!("SELECT pg_sleep({})", duration.as_secs_f64())
}

/// `sql` run as the superuser on `server`, in `database`.
pub(crate) fn sql_in(cluster: &Cluster, server: &ServerRef, database: &str, sql: &str) -> String {
    cluster.sql_in(server, database, sql)
}

/// The application user's sessions on `server` in `database`.
pub(crate) fn app_sessions_in(
    cluster: &Cluster,
    server: &ServerRef,
    database: &str,
) -> BTreeSet<i64> {
    let sql = format!(
        "SELECT pid FROM pg_stat_activity WHERE usename = 'app' AND datname = '{database}'"
    );
    ids(&cluster.sql(server, &sql))
}

/// Ends session `pid` on `server` from outside, as an administrator would; its client sees
/// SQLSTATE 57P01.
pub(crate) fn kill_session(cluster: &Cluster, server: &ServerRef, pid: i64) {
    let killed = cluster.sql(
        server,
        &format!("SELECT pg_terminate_backend({pid}, 10000)"),
    );
    assert_eq!(killed, "t", "session {pid} on `{}`", server.name);
}

/// Makes every server close application sessions idle for `timeout` (whole seconds), from
/// their next session on: `idle_session_timeout` on the role, replicated to the standbys.
pub(crate) fn set_server_idle_timeout(cluster: &Cluster, timeout: Duration) {
    let seconds = timeout.as_secs();
    let primary = cluster.primary();
    cluster.sql(
        &primary,
        &format!("ALTER ROLE app SET idle_session_timeout = '{seconds}s'"),
    );
    cluster.wait_caught_up();
}

fn ids(output: &str) -> BTreeSet<i64> {
    output
        .lines()
        .map(|line| line.trim().parse().expect("a session id"))
        .collect()
}
