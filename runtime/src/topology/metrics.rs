//! Metrics of the pools, servers and rotation, through the `metrics` facade (feature
//! `metrics`). Without the feature every function here is an empty inline one and
//! `PoolMetrics` has no fields, so that call sites need no `cfg` and pay nothing.
//!
//! Counted where the stats are counted (`stats.rs`, the cluster, the servers, the lease);
//! what is counted on every call (checkouts and their wait) goes through handles registered
//! once per pool when the router is built, so a call pays an atomic add and a histogram
//! record, not a registry lookup. Rare events (fallbacks, ejections, retries) look their
//! metric up when they happen. Gauges are set from the pools' status by each server's
//! maintenance tick and by `Router::record_gauges`.
//!
//! The names and labels are in `diesel_route::metrics` (see `lib.rs`).

#[cfg(feature = "metrics")]
pub(crate) use self::enabled::*;

#[cfg(not(feature = "metrics"))]
pub(crate) use self::disabled::*;

/// The names of the metrics and of their labels. OpenTelemetry's database client
/// conventions where they have a name (`db.client.connection.*`), `diesel_route.*` for the
/// rest. Prometheus exporters write `.` as `_`, and with recommended naming add `_total` to
/// counters and the unit to histograms: `db.client.connection.wait_time` becomes
/// `db_client_connection_wait_time_seconds`.
#[cfg(feature = "metrics")]
pub(crate) mod names {
    /// Gauge: connections of the pool, by `db.client.connection.state` (`idle` or `used`).
    pub const CONNECTION_COUNT: &str = "db.client.connection.count";
    /// Gauge: the most connections the pool opens.
    pub const CONNECTION_MAX: &str = "db.client.connection.max";
    /// Gauge: calls waiting for a connection of the pool now.
    pub const PENDING_REQUESTS: &str = "db.client.connection.pending_requests";
    /// Histogram, seconds: how long each successful checkout took (idle connection handed
    /// out, connection opened, or wait for one given back). Its count is the checkouts.
    pub const WAIT_TIME: &str = "db.client.connection.wait_time";
    /// Counter: checkouts that found the pool full and no connection given back within the
    /// checkout timeout ([`Error::PoolTimeout`](crate::Error::PoolTimeout)).
    pub const TIMEOUTS: &str = "db.client.connection.timeouts";
    /// Counter: connections handed out by the pool.
    pub const CHECKOUTS: &str = "diesel_route.checkouts";
    /// Counter: checkouts that found every connection in use and the pool full, and waited.
    pub const CHECKOUT_WAITS: &str = "diesel_route.checkout.waits";
    /// Counter: failures by `error.type`: `pool_timeout`, `connect` (a connection could
    /// not be opened), `connection_lost` (a call's connection died), `timeout` (a call
    /// missed its deadline).
    pub const ERRORS: &str = "diesel_route.errors";
    /// Counter: calls that failed on the pool, whatever the error (query errors too).
    pub const FAILED_CALLS: &str = "diesel_route.calls.failed";
    /// Counter, per database: reads sent to the primary because no replica was in rotation.
    pub const READ_FALLBACKS: &str = "diesel_route.read_fallbacks";
    /// Counter, per database: calls that found no server to serve them
    /// ([`Error::NoServerAvailable`](crate::Error::NoServerAvailable)).
    pub const UNAVAILABLE: &str = "diesel_route.unavailable";
    /// Counter: reads run again on another connection, by `reason` (`connection_lost`,
    /// `timeout`), labelled with the pool whose connection failed.
    pub const RETRIES: &str = "diesel_route.retries";
    /// Counter, per replica: times it was taken out of the read rotation.
    pub const EJECTIONS: &str = "diesel_route.ejections";
    /// Gauge, per replica: 1 while reads may go to it, 0 while it is out of the rotation.
    pub const IN_ROTATION: &str = "diesel_route.replica.in_rotation";

    /// Label: the pool, `database/server/role` (`default/replica1/reader`).
    pub const POOL_NAME: &str = "db.client.connection.pool.name";
    /// Label of [`CONNECTION_COUNT`]: `idle` or `used`.
    pub const STATE: &str = "db.client.connection.state";
    /// Label: the database's key in `databases!`.
    pub const DATABASE: &str = "database";
    /// Label: `primary`, `replica1`, ...
    pub const SERVER: &str = "server";
    /// Label: `reader` or `writer`.
    pub const ROLE: &str = "role";
    /// Label of [`ERRORS`]: the kind of failure.
    pub const ERROR_TYPE: &str = "error.type";
    /// Label of [`RETRIES`]: why the read ran again.
    pub const REASON: &str = "reason";

    /// Bucket bounds, in seconds, that suit [`WAIT_TIME`]: a hot checkout takes
    /// microseconds, opening a connection milliseconds, a wait for a full pool up to the
    /// checkout timeout.
    pub const WAIT_TIME_BUCKETS: &[f64] = &[
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
}

#[cfg(feature = "metrics")]
mod enabled {
    use std::sync::Once;
    use std::time::Duration;

    use metrics::{Counter, Histogram, Label, Unit};

    use super::names::*;
    use crate::backend::Backend;
    use crate::error::{Error, Role};
    use crate::server::Server;
    use crate::topology::server::ServerPools;
    use crate::topology::stats::ServerStats;

    /// The handles of one pool's metrics, registered when the pool is built.
    #[derive(Debug)]
    pub(crate) struct PoolMetrics {
        checkouts: Counter,
        waits: Counter,
        wait_time: Histogram,
        timeouts: Counter,
        /// By kind: pool timeout, connect, connection lost, deadline passed.
        errors: [Counter; 4],
        failed_calls: Counter,
    }

    const POOL_TIMEOUT: usize = 0;
    const CONNECT: usize = 1;
    const CONNECTION_LOST: usize = 2;
    const TIMEOUT: usize = 3;
    const ERROR_TYPES: [&str; 4] = ["pool_timeout", "connect", "connection_lost", "timeout"];

    impl PoolMetrics {
        /// Registers the pool's metrics with the recorder installed now: install it before
        /// the router is built.
        pub(crate) fn new(server: &Server, role: Role) -> Self {
            describe();
            let labels = pool_labels(server, role);
            let error = |kind: &'static str| {
                let mut labels = labels.clone();
                labels.push(Label::new(ERROR_TYPE, kind));
                metrics::counter!(ERRORS, labels)
            };
            Self {
                checkouts: metrics::counter!(CHECKOUTS, labels.clone()),
                waits: metrics::counter!(CHECKOUT_WAITS, labels.clone()),
                wait_time: metrics::histogram!(WAIT_TIME, labels.clone()),
                timeouts: metrics::counter!(TIMEOUTS, labels.clone()),
                errors: ERROR_TYPES.map(error),
                failed_calls: metrics::counter!(FAILED_CALLS, labels),
            }
        }

        #[inline]
        pub(crate) fn checkout(&self, waited: bool, took: Duration, outcome: Result<(), &Error>) {
            match outcome {
                Ok(()) => {
                    self.checkouts.increment(1);
                    self.wait_time.record(took.as_secs_f64());
                    if waited {
                        self.waits.increment(1);
                    }
                }
                Err(Error::PoolTimeout { .. }) => {
                    self.timeouts.increment(1);
                    self.errors[POOL_TIMEOUT].increment(1);
                }
                Err(_) => self.errors[CONNECT].increment(1),
            }
        }

        #[inline]
        pub(crate) fn timed_out(&self) {
            self.errors[TIMEOUT].increment(1);
            self.failed_calls.increment(1);
        }

        #[inline]
        pub(crate) fn failed_call(&self, lost: bool) {
            self.failed_calls.increment(1);
            if lost {
                self.errors[CONNECTION_LOST].increment(1);
            }
        }
    }

    fn pool_labels(server: &Server, role: Role) -> Vec<Label> {
        labels(server.database(), server.name(), role)
    }

    fn labels(database: &'static str, server: String, role: Role) -> Vec<Label> {
        vec![
            Label::new(POOL_NAME, format!("{database}/{server}/{role}")),
            Label::new(DATABASE, database),
            Label::new(SERVER, server),
            Label::new(ROLE, role.as_str()),
        ]
    }

    fn server_labels(server: &Server) -> [Label; 2] {
        [
            Label::new(DATABASE, server.database()),
            Label::new(SERVER, server.name()),
        ]
    }

    /// The units and descriptions, once per process (an exporter prints them as `HELP`).
    fn describe() {
        static DESCRIBED: Once = Once::new();
        DESCRIBED.call_once(|| {
            metrics::describe_gauge!(CONNECTION_COUNT, "Connections of the pool, by state");
            metrics::describe_gauge!(CONNECTION_MAX, "The most connections the pool opens");
            metrics::describe_gauge!(PENDING_REQUESTS, "Calls waiting for a connection");
            metrics::describe_histogram!(
                WAIT_TIME,
                Unit::Seconds,
                "Time a successful checkout took"
            );
            metrics::describe_counter!(TIMEOUTS, "Checkouts that timed out on a full pool");
            metrics::describe_counter!(CHECKOUTS, "Connections handed out");
            metrics::describe_counter!(CHECKOUT_WAITS, "Checkouts that waited for a full pool");
            metrics::describe_counter!(ERRORS, "Failures, by error.type");
            metrics::describe_counter!(FAILED_CALLS, "Calls that failed, any error");
            metrics::describe_counter!(READ_FALLBACKS, "Reads sent to the primary");
            metrics::describe_counter!(UNAVAILABLE, "Calls that found no server");
            metrics::describe_counter!(RETRIES, "Reads run again on another connection");
            metrics::describe_counter!(EJECTIONS, "Times a replica left the read rotation");
            metrics::describe_gauge!(IN_ROTATION, "1 while reads may go to the replica");
        });
    }

    /// Sets the gauges of `server`'s pools and rotation from their status now.
    pub(crate) fn record_server<C: Backend>(pools: &ServerPools<C>) {
        record_gauges(pools.server.database(), &pools.stats());
    }

    /// Sets the gauges of one server's pools and rotation from a snapshot.
    pub(crate) fn record_gauges(database: &'static str, server: &ServerStats) {
        for pool in &server.pools {
            let labels = labels(database, server.server.clone(), pool.role);
            let state = |state: &'static str| {
                let mut labels = labels.clone();
                labels.push(Label::new(STATE, state));
                labels
            };
            metrics::gauge!(CONNECTION_COUNT, state("idle")).set(pool.idle as f64);
            metrics::gauge!(CONNECTION_COUNT, state("used")).set(pool.in_use as f64);
            metrics::gauge!(CONNECTION_MAX, labels.clone()).set(pool.max_size as f64);
            metrics::gauge!(PENDING_REQUESTS, labels).set(pool.waiting as f64);
        }
        if server.server != "primary" {
            let labels = [
                Label::new(DATABASE, database),
                Label::new(SERVER, server.server.clone()),
            ];
            let value = if server.in_rotation { 1.0 } else { 0.0 };
            metrics::gauge!(IN_ROTATION, labels.to_vec()).set(value);
        }
    }

    /// A replica left the rotation.
    pub(crate) fn ejected(server: &Server) {
        metrics::counter!(EJECTIONS, server_labels(server).to_vec()).increment(1);
        rotation(server, false);
    }

    /// A replica is back in the rotation.
    pub(crate) fn rejoined(server: &Server) {
        rotation(server, true);
    }

    /// A server left the rotation for its role (promoted, say), not for a failure.
    pub(crate) fn left_rotation(server: &Server) {
        rotation(server, false);
    }

    fn rotation(server: &Server, in_rotation: bool) {
        let value = if in_rotation { 1.0 } else { 0.0 };
        metrics::gauge!(IN_ROTATION, server_labels(server).to_vec()).set(value);
    }

    /// A read of `database` went to the primary: no replica was in rotation.
    pub(crate) fn read_fallback(database: &'static str) {
        metrics::counter!(READ_FALLBACKS, DATABASE => database).increment(1);
    }

    /// A call of `database` found no server to serve it.
    pub(crate) fn unavailable(database: &'static str) {
        metrics::counter!(UNAVAILABLE, DATABASE => database).increment(1);
    }

    /// A read runs again: its connection to `server` died, or its deadline passed there.
    pub(crate) fn retry(server: Option<&Server>, reason: &'static str) {
        let mut labels = match server {
            Some(server) => pool_labels(server, Role::Reader),
            None => Vec::new(),
        };
        labels.push(Label::new(REASON, reason));
        metrics::counter!(RETRIES, labels).increment(1);
    }

    /// How far `server`, a replica, is behind its primary, at its health check: the gauges
    /// `diesel_route.replica.lag` (how old its data is, in seconds) and
    /// `diesel_route.replica.behind` (WAL bytes on PostgreSQL, transactions on MariaDB and MySQL).
    pub(crate) fn replica_lag(server: &Server, lag: Duration, behind: Option<u64>) {
        describe_lag();
        let labels = server_labels(server).to_vec();
        metrics::gauge!(REPLICA_LAG, labels.clone()).set(lag.as_secs_f64());
        if let Some(behind) = behind {
            metrics::gauge!(REPLICA_BEHIND, labels).set(behind as f64);
        }
    }

    const REPLICA_LAG: &str = "diesel_route.replica.lag";
    const REPLICA_BEHIND: &str = "diesel_route.replica.behind";

    fn describe_lag() {
        static DESCRIBED: Once = Once::new();
        DESCRIBED.call_once(|| {
            let what = "How old the replica's data is: how long ago its primary had no more";
            metrics::describe_gauge!(REPLICA_LAG, Unit::Seconds, what);
            let what = "How far the replica is behind its primary: WAL bytes or transactions";
            metrics::describe_gauge!(REPLICA_BEHIND, what);
        });
    }

    /// A read runs again after its deadline passed (`error`, its [`Error::Timeout`]).
    pub(crate) fn timeout_retry(error: &Error) {
        let server = match error {
            Error::Timeout { server, .. } => server.as_deref(),
            _ => None,
        };
        retry(server, "timeout");
    }
}

#[cfg(not(feature = "metrics"))]
mod disabled {
    use std::time::Duration;

    use crate::backend::Backend;
    use crate::error::{Error, Role};
    use crate::server::Server;
    use crate::topology::server::ServerPools;

    /// Nothing: the feature `metrics` is off.
    #[derive(Debug)]
    pub(crate) struct PoolMetrics;

    impl PoolMetrics {
        #[inline(always)]
        pub(crate) fn new(_: &Server, _: Role) -> Self {
            Self
        }

        #[inline(always)]
        pub(crate) fn checkout(&self, _: bool, _: Duration, _: Result<(), &Error>) {}

        #[inline(always)]
        pub(crate) fn timed_out(&self) {}

        #[inline(always)]
        pub(crate) fn failed_call(&self, _: bool) {}
    }

    #[inline(always)]
    pub(crate) fn record_server<C: Backend>(_: &ServerPools<C>) {}

    #[inline(always)]
    pub(crate) fn ejected(_: &Server) {}

    #[inline(always)]
    pub(crate) fn rejoined(_: &Server) {}

    #[inline(always)]
    pub(crate) fn left_rotation(_: &Server) {}

    #[inline(always)]
    pub(crate) fn read_fallback(_: &'static str) {}

    #[inline(always)]
    pub(crate) fn unavailable(_: &'static str) {}

    #[inline(always)]
    pub(crate) fn retry(_: Option<&Server>, _: &'static str) {}

    #[inline(always)]
    pub(crate) fn timeout_retry(_: &Error) {}

    #[inline(always)]
    pub(crate) fn replica_lag(_: &Server, _: Duration, _: Option<u64>) {}
}

#[cfg(feature = "metrics")]
impl crate::topology::Router {
    /// Sets the gauges (connections idle and in use, the pools' maximum, calls waiting,
    /// replicas in rotation) to their values now. Each server's maintenance task sets them
    /// every tick; call this before a scrape for values of this instant. Counters and the
    /// wait-time histogram are recorded as things happen and need nothing.
    pub fn record_gauges(&self) {
        for database in self.stats().databases {
            for server in &database.servers {
                record_gauges(database.database, server);
            }
        }
    }
}
