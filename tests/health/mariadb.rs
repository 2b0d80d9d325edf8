//! The cases on MariaDB: a primary and two GTID replicas (`read_only`).

use std::collections::BTreeSet;
use std::time::Duration;

use diesel_route::DatabaseConfig;
use harness::{MariaDbCluster, ServerRef};

// The same cases compile once per backend: `super::Db`, `super::Cluster` and the SQL below
// differ.
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
pub(crate) type Db = crate::maria;
/// Its key in `databases!`.
pub(crate) const KEY: &str = "maria";
pub(crate) type Cluster = MariaDbCluster;

/// The application user's password, in every URL; no error may show it.
pub(crate) const PASSWORD: &str = harness::MARIADB_APP_PASSWORD;

/// The other declared database, pointing where nothing listens: it has no replica and no
/// `min_idle`, so no connection to it is ever tried.
pub(crate) fn unused_database() -> (&'static str, DatabaseConfig) {
    (
        "default",
        DatabaseConfig::new("postgres://unused@127.0.0.1:9/unused"),
    )
}

/// The primary and two replicas every case may share, or `None` where MariaDB is missing.
pub(crate) fn shared_cluster() -> Option<&'static Cluster> {
    harness::shared_mariadb_cluster_or_skip()
}

/// A primary and two replicas of the case's own.
pub(crate) fn own_cluster() -> Option<Cluster> {
    harness::mariadb_cluster_or_skip(2)
}

/// `url`, which has the password already.
pub(crate) fn with_password(url: &str) -> String {
    assert!(url.contains(PASSWORD), "{url}");
    url.to_owned()
}

pub(crate) const IDENTITY: &str =
    "SELECT CAST(@@port AS SIGNED) AS port, CAST(CONNECTION_ID() AS SIGNED) AS pid";

pub(crate) const SCHEMA: &str =
    "CREATE TABLE marks (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(200) NOT NULL)";

/// What the driver reports of a session `KILL CONNECTION` ended mid-statement: the server's
/// 1927 when it told, else mysql_async's own word for the closed socket.
pub(crate) const KILLED_SESSION: &[&str] = &["Connection was killed", "Input/output error"];

/// A statement that holds its session for `duration`.
pub(crate) fn sleep_sql(duration: Duration) -> String {
    format!("SELECT SLEEP({})", duration.as_secs_f64())
}

/// `sql` run as root on `server`, in `database`.
pub(crate) fn sql_in(cluster: &Cluster, server: &ServerRef, database: &str, sql: &str) -> String {
    cluster.sql(server, &format!("USE {database};\n{sql}"))
}

/// The application user's sessions on `server` in `database`.
pub(crate) fn app_sessions_in(
    cluster: &Cluster,
    server: &ServerRef,
    database: &str,
) -> BTreeSet<i64> {
    let sql = format!(
        "SELECT id FROM information_schema.PROCESSLIST WHERE user = 'app' AND db = '{database}'"
    );
    ids(&cluster.sql(server, &sql))
}

/// Ends session `pid` on `server` from outside, as an administrator would (`KILL`).
pub(crate) fn kill_session(cluster: &Cluster, server: &ServerRef, pid: i64) {
    cluster.sql(server, &format!("KILL CONNECTION {pid}"));
}

/// Makes every server close application sessions idle for `timeout` (whole seconds), from
/// their next session on: `wait_timeout`, a global variable of each server.
pub(crate) fn set_server_idle_timeout(cluster: &Cluster, timeout: Duration) {
    let seconds = timeout.as_secs();
    for server in cluster.servers() {
        cluster.sql(&server, &format!("SET GLOBAL wait_timeout = {seconds}"));
    }
}

fn ids(output: &str) -> BTreeSet<i64> {
    output
        .lines()
        .map(|line| line.trim().parse().expect("a session id"))
        .collect()
}
