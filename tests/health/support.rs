//! What the cases of both backends share: who answered a call, waiting with a deadline, and
//! the checks on errors.

use std::future::Future;
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_route::{DatabaseStats, Error, PoolStats, Role, Server, ServerStats, Stats};

/// The server's own answer to "who are you": its port and the session's id
/// (`pg_backend_pid()`, `CONNECTION_ID()`).
#[derive(QueryableByName, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    #[diesel(sql_type = BigInt)]
    pub(crate) port: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) pid: i64,
}

/// Where a routed call ran: the server the router names and the session the server names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Ran {
    /// `primary`, `replica1`, ...: the router's name, which is also the harness's.
    pub(crate) server: String,
    /// The session on that server.
    pub(crate) pid: i64,
}

impl Ran {
    /// Checks that the router's word and the server's agree on the port.
    pub(crate) fn new(server: &Server, identity: Identity) -> Ran {
        assert_eq!(
            server.url().port().map(i64::from),
            Some(identity.port),
            "the router says {server}, the server says port {}",
            identity.port
        );
        Ran {
            server: server.name(),
            pid: identity.pid,
        }
    }
}

/// Runs blocking harness work (psql, mariadb, stopping servers) on a runtime worker without
/// stalling the other tasks: the cases run on the multi-thread runtime.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `timeout`; the time it
/// took and the value, or `None` when the time ran out.
pub(crate) async fn within<T>(
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<(Duration, T)> {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return Some((started.elapsed(), value));
        }
        if started.elapsed() >= timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Like [`within`], with an async check.
pub(crate) async fn within_async<T, F: Future<Output = Option<T>>>(
    timeout: Duration,
    mut check: impl FnMut() -> F,
) -> Option<(Duration, T)> {
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Some((started.elapsed(), value));
        }
        if started.elapsed() >= timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) use crate::hung::unless_hung;

/// The stats of database `key`.
pub(crate) fn database_stats(stats: &Stats, key: &str) -> DatabaseStats {
    stats
        .databases
        .iter()
        .find(|database| database.database == key)
        .unwrap_or_else(|| panic!("no stats for database `{key}`: {stats:?}"))
        .clone()
}

/// The stats of server `name` (`primary`, `replica1`, ...).
pub(crate) fn server_stats(database: &DatabaseStats, name: &str) -> ServerStats {
    database
        .servers
        .iter()
        .find(|server| server.server == name)
        .unwrap_or_else(|| panic!("no stats for server `{name}`: {database:?}"))
        .clone()
}

/// The stats of a server's pool of `role`.
pub(crate) fn pool_stats(server: &ServerStats, role: Role) -> PoolStats {
    server
        .pools
        .iter()
        .find(|pool| pool.role == role)
        .unwrap_or_else(|| panic!("no {role} pool: {server:?}"))
        .clone()
}

/// Panics unless `error` is a [`Error::PoolTimeout`] of a `role` pool.
pub(crate) fn assert_pool_timeout(error: &Error, role: Role, waited: Duration) {
    let Error::PoolTimeout {
        role: timed_out,
        waited: reported,
        ..
    } = error
    else {
        panic!("expected a pool timeout, got {error:?}");
    };
    assert_eq!((*timed_out, *reported), (role, waited), "{error}");
}
