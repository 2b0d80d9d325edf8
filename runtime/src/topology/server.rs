//! One server of a cluster: its pools, and whether reads may go to it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;

use crate::backend::Backend;
use crate::config::PoolOptions;
use crate::error::{BoxError, Error, Role};
use crate::server::Server;
use crate::topology::metrics;
use crate::topology::pool::{Alarm, Checkout, Pool};
use crate::topology::readiness::{Chain, Why};
use crate::topology::rotation::Rotation;
use crate::topology::stats::ServerStats;

/// A server and its pools: read-only sessions for readers, and on the primary read-write
/// sessions for writers.
pub(crate) struct ServerPools<C: Backend> {
    pub(crate) server: Arc<Server>,
    reader: Pool<C>,
    writer: Option<Pool<C>>,
    options: Arc<PoolOptions>,
    /// Where the server stands in its cluster's rotation: replicas only (the primary serves
    /// writes whatever its health, and reads only as a fallback).
    rotation: Option<(usize, Arc<Rotation>)>,
    ejections: AtomicU64,
    /// Why it was last taken out of the rotation.
    pub(super) why_out: Why,
    /// The health check's own connection, outside the pools: a busy pool does not make a
    /// healthy server look dead.
    pub(super) probe: Mutex<Option<C>>,
}

impl<C: Backend> ServerPools<C> {
    pub(crate) fn new(
        server: Server,
        options: &Arc<PoolOptions>,
        rotation: &Arc<Rotation>,
        alarm: &Arc<Alarm>,
    ) -> Self {
        let server = Arc::new(server);
        let writer = server
            .is_primary()
            .then(|| Pool::new(&server, Role::Writer, options, alarm));
        Self {
            reader: Pool::new(&server, Role::Reader, options, alarm),
            writer,
            options: Arc::clone(options),
            rotation: server
                .replica_number()
                .map(|number| (number - 1, Arc::clone(rotation))),
            ejections: AtomicU64::new(0),
            why_out: Why::default(),
            probe: Mutex::new(None),
            server,
        }
    }

    pub(crate) async fn checkout(&self, role: Role) -> Result<Checkout<C>, Error> {
        match (role, &self.writer) {
            (Role::Writer, Some(writer)) => writer.checkout().await,
            _ => self.reader.checkout().await,
        }
    }

    /// A call failed on a checkout of the server's pool of `role`.
    pub(crate) fn checkout_failed(&self, role: Role) {
        let pool = match (role, &self.writer) {
            (Role::Writer, Some(writer)) => writer,
            _ => &self.reader,
        };
        pool.counters().checkout_failed();
    }

    /// The server's counters and the state of its pools.
    pub(crate) fn stats(&self) -> ServerStats {
        let pools = std::iter::once(&self.reader).chain(&self.writer);
        ServerStats {
            server: self.server.name(),
            url: self.server.url().to_string(),
            in_rotation: self.in_rotation(),
            why_out_of_rotation: (!self.in_rotation()).then(|| self.why_out.get()).flatten(),
            ejections: self.ejections.load(Ordering::Relaxed),
            pools: pools.map(Pool::stats).collect(),
        }
    }

    /// Whether reads may be sent here.
    pub(crate) fn in_rotation(&self) -> bool {
        self.rotation
            .as_ref()
            .is_none_or(|(index, rotation)| rotation.contains(*index))
    }

    /// Puts the replica in or out of the rotation; whether that changed anything.
    fn set_rotation(&self, in_rotation: bool) -> bool {
        self.rotation
            .as_ref()
            .is_some_and(|(index, rotation)| rotation.set(*index, in_rotation))
    }

    /// Takes the server out of the rotation after a failure seen by a call; the health check
    /// brings it back once it answers.
    pub(crate) fn take_out_of_rotation(&self, why: &dyn fmt::Display) {
        self.why_out.set(&self.server, why);
        if self.set_rotation(false) {
            self.ejections.fetch_add(1, Ordering::Relaxed);
            metrics::ejected(&self.server);
            tracing::warn!(server = %self.server, %why, "replica taken out of rotation");
            self.reader.dispose();
        }
    }

    /// One health check of a replica: connect if needed, and ping, within the health check's
    /// timeout (a frozen server answers nothing). Puts the replica back in rotation, or takes
    /// it out.
    pub(crate) async fn check_health(&self) {
        if self.server.is_primary() {
            return;
        }
        let mut probe = self.probe.lock().await;
        let limit = self.options.health_check_timeout;
        let outcome = tokio::time::timeout(limit, ping(&mut probe, &self.server)).await;
        match outcome {
            Ok(Ok(())) => {
                if self.set_rotation(true) {
                    metrics::rejoined(&self.server);
                    tracing::info!(server = %self.server, "replica back in rotation");
                }
            }
            Ok(Err(error)) => {
                *probe = None;
                self.take_out_of_rotation(&Chain(&*error));
            }
            Err(_elapsed) => {
                *probe = None;
                self.take_out_of_rotation(&"no answer to its health check in time");
            }
        }
    }

    /// Closes expired and long-idle connections, pings idle ones when `keepalive` is due, and
    /// opens connections up to `min_idle`.
    pub(crate) async fn maintain(&self, keepalive: bool) {
        for pool in std::iter::once(&self.reader).chain(&self.writer) {
            pool.reap();
            if self.in_rotation() {
                pool.refresh(keepalive).await;
            }
        }
    }

    /// Drops every pooled connection; new ones open on demand.
    pub(crate) async fn dispose(&self) {
        for pool in std::iter::once(&self.reader).chain(&self.writer) {
            pool.dispose();
        }
        *self.probe.lock().await = None;
    }
}

/// Pings the probe connection; when it is dead (its session killed, the server restarted),
/// judges the server by a fresh one, so that the probe's own death does not take a healthy
/// server out.
pub(super) async fn ping<C: Backend>(
    probe: &mut Option<C>,
    server: &Server,
) -> Result<(), BoxError> {
    if let Some(conn) = probe.as_mut() {
        if conn.probe().await.is_ok() {
            return Ok(());
        }
        *probe = None;
    }
    let watch = Arc::new(crate::backend::Watch::default());
    let mut conn = Box::pin(C::connect(server.url(), Role::Reader, &watch)).await?;
    conn.probe().await?;
    *probe = Some(conn);
    Ok(())
}
