//! A database's cluster: one primary and its replicas, the choice of which serves a call,
//! and the background task that keeps each server's pools healthy.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::time::MissedTickBehavior;

use crate::backend::Backend;
use crate::config::{DatabaseConfig, PoolOptions, ReadFallback};
use crate::database::Database;
use crate::error::{Error, Role};
use crate::server::{Server, ServerKind};
use crate::topology::Checkout;
use crate::topology::catalog::Servers;
use crate::topology::pool::Alarm;
use crate::topology::readiness::Chain;
use crate::topology::rotation::Rotation;
use crate::topology::server::ServerPools;
use crate::topology::stats::DatabaseStats;

pub(crate) struct Cluster<D: Database> {
    primary: Arc<ServerPools<D::Connection>>,
    replicas: Box<[Arc<ServerPools<D::Connection>>]>,
    rotation: Arc<Rotation>,
    alarm: Arc<Alarm>,
    options: Arc<PoolOptions>,
    read_fallbacks: AtomicU64,
    /// Calls that found no server to serve them.
    unavailable: AtomicU64,
}

impl<D: Database> Cluster<D> {
    /// Validates the configuration and builds the pools; no connection is opened yet.
    pub(crate) fn build(config: &DatabaseConfig) -> Result<Self, Error> {
        let servers = Servers::of::<D::Connection>(config, D::KEY)?;
        let options = Arc::new(config.pool.clone());
        let rotation = Arc::new(Rotation::all(servers.replicas.len()));
        let alarm = Arc::new(Alarm::default());
        let server = |kind, url| {
            let server = Server::new(D::KEY, kind, D::Connection::NAME, url);
            Arc::new(ServerPools::new(server, &options, &rotation, &alarm))
        };
        let replicas = servers.replicas.into_iter().enumerate();
        Ok(Self {
            primary: server(ServerKind::Primary, servers.primary),
            replicas: replicas
                .map(|(index, url)| server(ServerKind::Replica(index + 1), url))
                .collect(),
            rotation,
            alarm,
            options,
            read_fallbacks: AtomicU64::new(0),
            unavailable: AtomicU64::new(0),
        })
    }

    /// The primary's identity.
    #[cfg_attr(not(feature = "migrations"), allow(dead_code))]
    pub(crate) fn primary(&self) -> &Arc<Server> {
        &self.primary.server
    }

    /// A writer: always the primary.
    pub(crate) async fn writer(&self) -> Result<Checkout<D::Connection>, Error> {
        self.primary.checkout(Role::Writer).await
    }

    /// A reader: a replica in rotation picked at random (a replica that cannot be reached
    /// leaves the rotation and another is picked), else the primary when the fallback policy
    /// allows it (or when there are no replicas at all).
    pub(crate) async fn reader(&self) -> Result<Checkout<D::Connection>, Error> {
        for _ in 0..self.replicas.len() {
            let Some(replica) = self.pick_replica() else {
                break;
            };
            match replica.checkout(Role::Reader).await {
                Err(error @ Error::Connect { .. }) => replica.take_out_of_rotation(&Chain(&error)),
                result => return result,
            }
        }
        let primary = self.read_fallback()?;
        if !self.replicas.is_empty() {
            self.read_fallbacks.fetch_add(1, Ordering::Relaxed);
            super::metrics::read_fallback(D::KEY);
        }
        primary.checkout(Role::Reader).await
    }

    /// The server a read would go to now, without checking a connection out.
    pub(crate) fn pick_reader(&self) -> Result<&Arc<Server>, Error> {
        match self.pick_replica() {
            Some(replica) => Ok(&replica.server),
            None => self.read_fallback().map(|primary| &primary.server),
        }
    }

    fn stats(&self) -> DatabaseStats {
        DatabaseStats {
            database: D::KEY,
            backend: D::Connection::NAME,
            read_fallbacks: self.read_fallbacks.load(Ordering::Relaxed),
            unavailable: self.unavailable.load(Ordering::Relaxed),
            servers: self.servers().map(|server| server.stats()).collect(),
        }
    }

    /// The options of the database's pools.
    pub(crate) fn options(&self) -> &PoolOptions {
        &self.options
    }

    /// A call that failed before it had a connection counts against the pool or the
    /// database that failed it.
    pub(crate) fn call_failed(&self, error: &Error, role: Role) {
        match error {
            Error::Connect { server, .. } | Error::PoolTimeout { server, .. } => {
                if let Some(pools) = self.pools_of(server) {
                    pools.checkout_failed(role);
                }
            }
            Error::NoServerAvailable { .. } => {
                self.unavailable.fetch_add(1, Ordering::Relaxed);
                super::metrics::unavailable(D::KEY);
            }
            _ => {}
        }
    }

    /// After a call's deadline passed on `server`: a replica leaves the rotation at once (it
    /// may be frozen), and every connection of the database is pinged before its next use.
    pub(crate) fn timed_out(&self, server: &Arc<Server>) {
        self.alarm.raise();
        if let Some(replica) = self.replica_of(server) {
            replica.take_out_of_rotation(&"a call's deadline passed on it");
        }
    }

    fn pools_of(&self, server: &Arc<Server>) -> Option<&ServerPools<D::Connection>> {
        self.servers()
            .find(|pools| Arc::ptr_eq(&pools.server, server))
            .map(|pools| &**pools)
    }

    fn replica_of(&self, server: &Arc<Server>) -> Option<&ServerPools<D::Connection>> {
        self.pools_of(server)
            .filter(|pools| !pools.server.is_primary())
    }

    /// After a call lost its connection to `server`: reads go elsewhere until the server
    /// answers health checks again.
    pub(crate) fn connection_lost(&self, server: &Arc<Server>) {
        self.alarm.raise();
        if let Some(replica) = self.replica_of(server) {
            replica.take_out_of_rotation(&"a call lost its connection");
        }
    }

    fn pick_replica(&self) -> Option<&ServerPools<D::Connection>> {
        self.rotation.pick().map(|index| &*self.replicas[index])
    }

    /// Where reads go with no replica in rotation: the primary, unless the policy says to
    /// fail (and there are replicas to wait for).
    fn read_fallback(&self) -> Result<&ServerPools<D::Connection>, Error> {
        if self.replicas.is_empty() || self.options.read_fallback == ReadFallback::Primary {
            Ok(&self.primary)
        } else {
            Err(Error::NoServerAvailable {
                database: D::KEY,
                role: Role::Reader,
            })
        }
    }

    pub(super) fn servers(&self) -> impl Iterator<Item = &Arc<ServerPools<D::Connection>>> {
        std::iter::once(&self.primary).chain(self.replicas.iter())
    }

    /// Starts the maintenance task of each server on the current Tokio runtime.
    fn start_maintenance(&self, runtime: &tokio::runtime::Handle) {
        for server in self.servers() {
            runtime.spawn(maintenance(
                Arc::downgrade(server),
                Arc::clone(&self.options),
            ));
        }
    }
}

/// Every `health_check_interval`: a health check (replicas). Every tick: closing expired and
/// long-idle connections, opening connections up to `min_idle`, and when due a keepalive
/// ping of every idle connection. Due times are counted from the ticks' scheduled instants,
/// so that a slow check does not push a keepalive a whole tick late. Ends when the router is
/// dropped.
async fn maintenance<C: Backend>(
    server: std::sync::Weak<ServerPools<C>>,
    options: Arc<PoolOptions>,
) {
    let mut ticks = tokio::time::interval(options.maintenance_tick());
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let start = Instant::now();
    let mut next_health = start;
    let mut next_keepalive = options.keepalive.map(|every| start + every);
    loop {
        let tick = ticks.tick().await.into_std();
        let Some(server) = server.upgrade() else {
            return;
        };
        if tick >= next_health {
            next_health = tick + options.health_check_interval;
            server.check_health().await;
        }
        let keepalive = next_keepalive.is_some_and(|due| tick >= due);
        if keepalive {
            next_keepalive = options.keepalive.map(|every| tick + every);
        }
        server.maintain(keepalive).await;
        super::metrics::record_server(&server);
    }
}

/// A future the router awaits without knowing the database type.
pub(crate) type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A cluster whose database type is erased, so that one router holds databases of
/// different backends.
pub(crate) trait AnyCluster: Any + Send + Sync + super::readiness::Probe {
    fn key(&self) -> &'static str;
    /// The read and write deadlines of the database's calls.
    fn deadlines(&self) -> [Option<std::time::Duration>; 2];
    fn stats(&self) -> DatabaseStats;
    fn start_maintenance(&self, runtime: &tokio::runtime::Handle);
    fn dispose(&self) -> BoxFuture<'_>;
}

impl<D: Database> AnyCluster for Cluster<D> {
    fn key(&self) -> &'static str {
        D::KEY
    }

    fn deadlines(&self) -> [Option<std::time::Duration>; 2] {
        [self.options.read_timeout, self.options.write_timeout]
    }

    fn stats(&self) -> DatabaseStats {
        Cluster::stats(self)
    }

    fn start_maintenance(&self, runtime: &tokio::runtime::Handle) {
        Cluster::start_maintenance(self, runtime);
    }

    fn dispose(&self) -> BoxFuture<'_> {
        Box::pin(async move {
            for server in self.servers() {
                server.dispose().await;
            }
        })
    }
}
