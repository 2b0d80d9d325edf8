//! Counters of each pool, and the snapshot of them all that `Router::stats` returns.
//!
//! Counters are relaxed atomics bumped on the call path (a few nanoseconds each); the
//! snapshot reads them with the pools' own status, with no lock held across pools.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Role};
use crate::server::{Server, ServerRole};
use crate::topology::metrics::PoolMetrics;

/// Everything the router counted, per database, server and role. Serialises with serde (for
/// a `/debug/db` endpoint, say).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// One entry per declared database.
    pub databases: Vec<DatabaseStats>,
    /// Tokens ignored: text that did not parse (a cookie or header mangled or forged), or,
    /// with token keys, a token not signed by one of them.
    pub tokens_ignored: u64,
}

impl Stats {
    /// The counters of database `key`.
    pub fn database(&self, key: &str) -> Option<&DatabaseStats> {
        self.databases
            .iter()
            .find(|database| database.database == key)
    }
}

/// The counters of one database.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DatabaseStats {
    /// Its key.
    pub database: &'static str,
    /// `postgres`, `mysql` or `sqlite`.
    pub backend: &'static str,
    /// The server writes go to now (`primary`, `replica1` after a failover, ...); `None`
    /// while none is known.
    pub primary: Option<String>,
    /// How many times writes moved to another primary.
    pub failovers: u64,
    /// Reads sent to the primary because no replica was in rotation.
    pub read_fallbacks: u64,
    /// Calls that failed with [`Error::NoServerAvailable`]: no replica in rotation and a
    /// fallback policy that forbids the primary.
    pub unavailable: u64,
    /// Reads given a position to honour (a token, or the router handle's or session's own
    /// writes).
    pub reads_with_token: u64,
    /// Of those, reads that waited for a replica to replay the position.
    pub reads_waited_for_token: u64,
    /// Of those, reads sent to the primary: no replica replayed the position in time.
    pub reads_on_primary_for_token: u64,
    /// Of those, reads that could not honour their position and were served where a read
    /// without one goes (the freshest replica in rotation): a position beyond the
    /// primary's (a forged token), no primary known, or the fallback policy forbidding it.
    pub reads_token_not_honoured: u64,
    /// Times the primary was asked its position to check a client's unsigned token naming
    /// a position beyond the primary's last known one: one question at a time, shared by
    /// every read waiting for it.
    pub token_positions_asked: u64,
    /// The configured primary (or its candidates) first, then the replicas.
    pub servers: Vec<ServerStats>,
}

impl DatabaseStats {
    /// The counters of the server named `name` (`primary`, `replica1`, ...).
    pub fn server(&self, name: &str) -> Option<&ServerStats> {
        self.servers.iter().find(|server| server.server == name)
    }
}

/// The counters of one server.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ServerStats {
    /// `primary`, `replica1`, ...
    pub server: String,
    /// Its URL, without the password.
    pub url: String,
    /// What it was last seen to be.
    pub role: ServerRole,
    /// Whether reads are sent to it (replicas leave the rotation when they fail; the primary
    /// serves reads as a fallback).
    pub in_rotation: bool,
    /// Why it left the rotation, while it is out: what was seen (a failure, without the
    /// password, or its role), for stats and readiness.
    pub why_out_of_rotation: Option<String>,
    /// How many times it was taken out of the rotation.
    pub ejections: u64,
    /// Where its data stands, as the server writes it (PostgreSQL's `16/B374D848`,
    /// MariaDB's `0-1-234`): a primary's written position, a replica's replayed one.
    pub position: Option<String>,
    /// A replica's lag at its last health check, in milliseconds: how long before it the
    /// primary last had no more than the replica (0 when it has all the primary had).
    pub lag_ms: Option<f64>,
    /// How far a replica is behind the primary's last known position: WAL bytes
    /// (PostgreSQL) or transactions (MariaDB, MySQL).
    pub behind: Option<u64>,
    /// Its pools: the reader pool, and on the primary the writer pool.
    pub pools: Vec<PoolStats>,
}

/// The counters of one pool.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PoolStats {
    /// `reader` or `writer`.
    pub role: Role,
    /// The most connections it holds.
    pub max_size: usize,
    /// Connections open now.
    pub open: usize,
    /// Connections checked out now.
    pub in_use: usize,
    /// Connections idle now.
    pub idle: usize,
    /// Calls waiting for a connection now.
    pub waiting: usize,
    /// Connections handed out since start.
    pub checkouts: u64,
    /// Checkouts that found every connection in use and the pool full, and waited.
    pub waits: u64,
    /// Time spent in checkouts, in microseconds.
    pub wait_time_us: u64,
    /// Failures, by kind.
    pub errors: ErrorCounts,
}

/// Failures of one pool, by kind.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct ErrorCounts {
    /// Checkouts that timed out ([`Error::PoolTimeout`]).
    pub pool_timeout: u64,
    /// Connections that could not be opened ([`Error::Connect`]).
    pub connect: u64,
    /// Calls whose connection died under them.
    pub connection_lost: u64,
    /// Calls that missed their deadline on this pool's server ([`Error::Timeout`]).
    pub timeouts: u64,
    /// Calls that failed on this pool: those whose checkout failed (pool timeouts and
    /// connect errors that no other server made up for), and those that returned an error
    /// on one of its connections (all kinds, lost connections and timeouts included).
    pub failed_calls: u64,
}

/// The live counters of one pool, and its metrics (feature `metrics`).
#[derive(Debug)]
pub(crate) struct PoolCounters {
    checkouts: AtomicU64,
    waits: AtomicU64,
    wait_time_us: AtomicU64,
    pool_timeout: AtomicU64,
    connect: AtomicU64,
    connection_lost: AtomicU64,
    timeouts: AtomicU64,
    failed_calls: AtomicU64,
    metrics: PoolMetrics,
}

impl PoolCounters {
    pub(crate) fn new(server: &Server, role: Role) -> Self {
        let zero = || AtomicU64::new(0);
        Self {
            checkouts: zero(),
            waits: zero(),
            wait_time_us: zero(),
            pool_timeout: zero(),
            connect: zero(),
            connection_lost: zero(),
            timeouts: zero(),
            failed_calls: zero(),
            metrics: PoolMetrics::new(server, role),
        }
    }

    pub(crate) fn checkout(&self, waited: bool, took: Duration, outcome: Result<(), &Error>) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.wait_time_us.fetch_add(micros, Ordering::Relaxed);
        if waited {
            self.waits.fetch_add(1, Ordering::Relaxed);
        }
        let counter = match outcome {
            Ok(()) => &self.checkouts,
            Err(Error::PoolTimeout { .. }) => &self.pool_timeout,
            Err(_) => &self.connect,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.metrics.checkout(waited, took, outcome);
    }

    /// A call missed its deadline on a connection of the pool.
    pub(crate) fn timed_out(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
        self.failed_calls.fetch_add(1, Ordering::Relaxed);
        self.metrics.timed_out();
    }

    /// A call failed because its checkout of the pool did.
    pub(crate) fn checkout_failed(&self) {
        self.failed_calls.fetch_add(1, Ordering::Relaxed);
        self.metrics.failed_call(false);
    }

    pub(crate) fn failed_call(&self, lost: bool) {
        self.failed_calls.fetch_add(1, Ordering::Relaxed);
        if lost {
            self.connection_lost.fetch_add(1, Ordering::Relaxed);
        }
        self.metrics.failed_call(lost);
    }

    pub(crate) fn counts(&self) -> (u64, u64, u64, ErrorCounts) {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let errors = ErrorCounts {
            pool_timeout: load(&self.pool_timeout),
            connect: load(&self.connect),
            connection_lost: load(&self.connection_lost),
            timeouts: load(&self.timeouts),
            failed_calls: load(&self.failed_calls),
        };
        (
            load(&self.checkouts),
            load(&self.waits),
            load(&self.wait_time_us),
            errors,
        )
    }
}
