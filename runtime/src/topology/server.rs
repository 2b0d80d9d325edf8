//! One server of a cluster: its pools, whether reads may go to it, and its health check.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use tokio::sync::{Mutex, OnceCell};

use crate::backend::{Backend, Health, Watch};
use crate::config::PoolOptions;
use crate::error::{BoxError, Error, Role};
use crate::server::{Server, ServerRole};
use crate::token::Position;
use crate::topology::freshness::Freshness;
use crate::topology::metrics;
use crate::topology::pool::{Alarm, Checkout, Pool};
use crate::topology::readiness::{Chain, Why};
use crate::topology::rotation::Rotation;
use crate::topology::stats::ServerStats;

/// A server and its pools: read-only sessions for readers, read-write sessions for writers.
/// Every server has both: after a failover, any of them may be the primary. Pools open no
/// connection until one is needed.
pub(crate) struct ServerPools<C: Backend> {
    pub(crate) server: Arc<Server>,
    /// Its place in the cluster, and its bit in the rotation.
    pub(crate) slot: usize,
    reader: Pool<C>,
    writer: Pool<C>,
    options: Arc<PoolOptions>,
    /// The replicas reads may go to: this server's bit is set while it is a healthy replica.
    rotation: Arc<Rotation>,
    ejections: AtomicU64,
    /// Why it last left the rotation, for stats and readiness.
    pub(super) why_out: Why,
    /// The health check's own connection, outside the pools: a busy pool does not make a
    /// healthy server look dead.
    pub(super) probe: Mutex<Option<Probe<C>>>,
    /// Why the server cannot serve calls (a pooler in transaction mode in front), once
    /// checked before its first checkout; `None` when it can.
    unusable: OnceCell<Option<&'static str>>,
    /// When that was last asked without an answer.
    unusable_asked: std::sync::Mutex<Option<Instant>>,
    /// Its position and lag, from its health checks.
    freshness: std::sync::Mutex<Freshness>,
}

/// Why a server behind PgBouncer in transaction mode is refused.
const TRANSACTION_POOLING: &str = "it sits behind a connection pooler in transaction mode \
    (PgBouncer's `pool_mode = transaction`, any version), which lends a server session per \
    transaction and so drops what diesel-route keeps on each session: a reader's read-only \
    mode, the read-only transaction of a read on the primary, diesel-async's prepared \
    statements. Give this application a pool in session mode (`pool_mode = session`), or \
    connect to the server directly";

impl<C: Backend> ServerPools<C> {
    pub(crate) fn new(
        server: Server,
        slot: usize,
        options: &Arc<PoolOptions>,
        rotation: &Arc<Rotation>,
        alarm: &Arc<Alarm>,
    ) -> Self {
        let server = Arc::new(server);
        Self {
            reader: Pool::new(&server, Role::Reader, options, alarm),
            writer: Pool::new(&server, Role::Writer, options, alarm),
            slot,
            options: Arc::clone(options),
            rotation: Arc::clone(rotation),
            ejections: AtomicU64::new(0),
            why_out: Why::default(),
            probe: Mutex::new(None),
            unusable: OnceCell::new(),
            unusable_asked: std::sync::Mutex::new(None),
            freshness: std::sync::Mutex::new(Freshness::default()),
            server,
        }
    }

    pub(crate) async fn checkout(&self, role: Role) -> Result<Checkout<C>, Error> {
        let checkout = self.pool(role).checkout().await?;
        // Asked once the server answers, so that a server that does not answer costs no
        // more than its connect timeout; once answered, a load.
        let unusable = match self.unusable.get() {
            Some(verdict) => *verdict,
            None => self.unusable().await,
        };
        if let Some(reason) = unusable {
            return Err(Error::Unsupported {
                server: Arc::clone(&self.server),
                reason,
            });
        }
        Ok(checkout)
    }

    /// Why the server cannot serve calls, asked of it before its first call. While it cannot
    /// tell (the server down, say), calls go ahead and meet the server's own errors, and it
    /// is asked again at most once per health check interval.
    async fn unusable(&self) -> Option<&'static str> {
        if let Some(verdict) = self.unusable.get() {
            return *verdict;
        }
        {
            let mut last = self
                .unusable_asked
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let interval = self.options.health_check_interval;
            if last.is_some_and(|asked: Instant| asked.elapsed() < interval) {
                return None;
            }
            *last = Some(Instant::now());
        }
        let verdict = self.unusable.get_or_try_init(|| async {
            let limit = self.options.health_check_timeout;
            match C::keeps_session(self.server.url(), limit).await {
                Ok(true) => Ok(None),
                Ok(false) => {
                    tracing::error!(server = %self.server, TRANSACTION_POOLING);
                    Ok(Some(TRANSACTION_POOLING))
                }
                Err(error) => Err(error),
            }
        });
        verdict.await.ok().copied().flatten()
    }

    fn pool(&self, role: Role) -> &Pool<C> {
        match role {
            Role::Writer => &self.writer,
            Role::Reader => &self.reader,
        }
    }

    /// A call failed on a checkout of the server's pool of `role`.
    pub(crate) fn checkout_failed(&self, role: Role) {
        self.pool(role).counters().checkout_failed();
    }

    /// The server's counters and the state of its pools. Every server has a writer pool,
    /// used only while it is the primary: a replica's is left out unless it served writes
    /// (before a failover, say).
    pub(crate) fn stats(&self) -> ServerStats {
        let pools = [&self.reader, &self.writer]
            .into_iter()
            .map(Pool::stats)
            .filter(|stats| stats.role == Role::Reader || self.may_write() || stats.checkouts > 0);
        let freshness = self.freshness().clone();
        ServerStats {
            server: self.server.name(),
            url: self.server.url().to_string(),
            role: self.server.role(),
            in_rotation: self.in_rotation(),
            why_out_of_rotation: (!self.in_rotation()).then(|| self.why_out.get()).flatten(),
            ejections: self.ejections.load(Ordering::Relaxed),
            position: freshness.position.as_ref().map(ToString::to_string),
            lag_ms: freshness.lag.map(|lag| lag.as_secs_f64() * 1e3),
            behind: freshness.behind,
            pools: pools.collect(),
        }
    }

    /// Whether writes may go here: the server is the primary, or the configuration names it
    /// as one.
    fn may_write(&self) -> bool {
        self.server.is_primary() || self.server.is_configured_primary()
    }

    /// Whether reads are sent here: a replica in rotation, or the primary (which serves
    /// reads as a fallback).
    pub(crate) fn in_rotation(&self) -> bool {
        self.server.is_primary() || self.rotation.contains(self.slot)
    }

    /// Puts the server in the rotation; whether that changed anything.
    pub(crate) fn join_rotation(&self) -> bool {
        let joined = self.rotation.set(self.slot, true);
        if joined {
            metrics::rejoined(&self.server);
        }
        joined
    }

    /// Takes the server out of the rotation, after a failure seen by a call or a check, or
    /// because it is the primary now; a health check brings a replica back once it answers.
    pub(crate) fn take_out_of_rotation(&self, why: &dyn fmt::Display) {
        self.why_out.set(&self.server, why);
        if self.rotation.set(self.slot, false) {
            self.ejections.fetch_add(1, Ordering::Relaxed);
            metrics::ejected(&self.server);
            tracing::warn!(server = %self.server, %why, "taken out of the read rotation");
            self.reader.dispose();
        }
    }

    /// Takes the server out of the rotation for its role (a primary serves reads only as a
    /// fallback): not a failure, so not counted as an ejection.
    pub(crate) fn leave_rotation(&self, why: &dyn fmt::Display) {
        self.why_out.set(&self.server, why);
        if self.rotation.set(self.slot, false) {
            metrics::left_rotation(&self.server);
            self.reader.dispose();
        }
    }

    /// Asks the server what it is and where its data stands, on the health check's
    /// connection, within the health check's timeout: a server that does not answer in time
    /// (frozen, down) is `Down`.
    pub(crate) async fn observe(&self) -> Health {
        let mut probe = self.probe.lock().await;
        let limit = self.options.health_check_timeout;
        match tokio::time::timeout(limit, health_of(&mut probe, &self.server)).await {
            Ok(Ok(health)) => health,
            Ok(Err(error)) => {
                tracing::debug!(server = %self.server, %error, "health check failed");
                self.why_out.set(&self.server, &Chain(&*error));
                *probe = None;
                Health::of(ServerRole::Down)
            }
            Err(_elapsed) => {
                let why = format!("no answer to its health check within {limit:?}");
                self.why_out.set(&self.server, &why);
                *probe = None;
                Health::of(ServerRole::Down)
            }
        }
    }

    /// The primary's position now, on the health check's connection (no answer in time:
    /// none).
    pub(crate) async fn position_now(&self) -> Option<Position> {
        let limit = self.options.health_check_timeout;
        let asked = async {
            let mut probe = self.probe.lock().await;
            let Probe { conn, watch } = probe.as_mut()?;
            match Box::pin(conn.position(watch)).await {
                Ok(position) => position,
                Err(_) => {
                    *probe = None;
                    None
                }
            }
        };
        tokio::time::timeout(limit, asked).await.ok().flatten()
    }

    /// What is known of the server's data.
    pub(crate) fn freshness(&self) -> std::sync::MutexGuard<'_, Freshness> {
        self.freshness
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the server is known to have replayed `position`.
    pub(crate) fn has(&self, position: &Position) -> bool {
        self.freshness()
            .position
            .as_ref()
            .is_some_and(|known| known.covers(position))
    }

    /// Records that the server is `role` now; when that changed, drops its pools' connections
    /// (a reader of a server that became the primary needs the read guard, a writer of a
    /// demoted one is useless). Whether it changed.
    pub(crate) fn became(&self, role: ServerRole) -> bool {
        let changed = self.server.set_role(role);
        if changed {
            tracing::warn!(server = %self.server, role = role.as_str(), "the server's role changed");
            self.reader.dispose();
            self.writer.dispose();
        }
        changed
    }

    /// Drops the writer pool's connections: the server is no longer the primary.
    pub(crate) fn dispose_writers(&self) {
        self.writer.dispose();
    }

    /// Closes expired and long-idle connections, pings idle ones when `keepalive` is due, and
    /// opens connections up to `min_idle`, in the pools the server's role uses.
    pub(crate) async fn maintain(&self, keepalive: bool) {
        for pool in [&self.reader, &self.writer] {
            pool.reap();
        }
        if self.in_rotation() {
            self.reader.refresh(keepalive).await;
        }
        if self.server.is_primary() {
            self.writer.refresh(keepalive).await;
        }
    }

    /// Drops every pooled connection; new ones open on demand.
    pub(crate) async fn dispose(&self) {
        self.reader.dispose();
        self.writer.dispose();
        *self.probe.lock().await = None;
    }
}

/// Asks the server's health on the probe connection; when that connection is dead (its
/// session killed, the server restarted), on a fresh one, so that the probe's own death does
/// not make a healthy server look down.
pub(super) async fn health_of<C: Backend>(
    probe: &mut Option<Probe<C>>,
    server: &Server,
) -> Result<Health, BoxError> {
    if let Some(Probe { conn, .. }) = probe.as_mut() {
        if let Ok(health) = Box::pin(conn.health()).await {
            return Ok(health);
        }
        *probe = None;
    }
    let watch = Arc::new(Watch::default());
    let mut conn = Box::pin(C::connect(server.url(), Role::Reader, &watch)).await?;
    let health = Box::pin(conn.health()).await?;
    *probe = Some(Probe { conn, watch });
    Ok(health)
}

/// The health check's own connection, with its watch.
pub(super) struct Probe<C> {
    conn: C,
    watch: Arc<Watch>,
}
