//! A database's cluster: its servers (the primary, or candidates for it, and replicas), which
//! of them is the primary now, the choice of which serves a call, and the background tasks
//! that keep each server's pools healthy and its role known.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, Weak};
use std::time::Instant;

use tokio::time::MissedTickBehavior;

use crate::backend::Backend;
use crate::config::{DatabaseConfig, PoolOptions, ReadFallback};
use crate::database::Database;
use crate::error::{Error, Role};
use crate::server::{Server, ServerKind, ServerRole};
use crate::token::Position;
use crate::topology::Checkout;
use crate::topology::catalog::Servers;
use crate::topology::freshness::History;
use crate::topology::pool::Alarm;
use crate::topology::readiness::Chain;
use crate::topology::rotation::Rotation;
use crate::topology::server::ServerPools;
use crate::topology::stats::DatabaseStats;

/// The cluster of database `D`.
pub(crate) struct Cluster<D: Database> {
    pub(crate) members: Arc<Members<D::Connection>>,
}

/// What a cluster knows, shared with its servers' maintenance tasks.
pub(crate) struct Members<C: Backend> {
    pub(crate) key: &'static str,
    /// The configured primary (or its candidates) first, then the replicas.
    pub(crate) servers: Box<[Arc<ServerPools<C>>]>,
    /// The slot of the server writes go to; [`NO_PRIMARY`] while none is known (a demoted
    /// primary, two servers claiming to be one).
    primary: AtomicUsize,
    /// The servers reads may go to: healthy replicas.
    pub(crate) rotation: Arc<Rotation>,
    pub(crate) alarm: Arc<Alarm>,
    pub(crate) options: Arc<PoolOptions>,
    /// A writer failed in a way a failover would explain: the next write finds the primary
    /// first.
    pub(crate) primary_in_doubt: AtomicBool,
    /// The servers that said they were the primary at the last discovery: writes fail
    /// closed, naming them, while there are several.
    pub(crate) conflict: std::sync::Mutex<Vec<Arc<Server>>>,
    /// One discovery of the primary at a time; when the last one began.
    pub(crate) discovery: tokio::sync::Mutex<Option<Instant>>,
    read_fallbacks: AtomicU64,
    /// Calls that found no server to serve them.
    unavailable: AtomicU64,
    /// Times the primary changed.
    pub(crate) failovers: AtomicU64,
    /// The primary's positions, for the replicas' lag.
    pub(crate) history: std::sync::Mutex<History>,
    /// Reads given a position; of those, that waited for a replica; that went to the
    /// primary; that could not honour it.
    token_reads: AtomicU64,
    token_waits: AtomicU64,
    token_primary_reads: AtomicU64,
    token_not_honoured: AtomicU64,
    token_positions_asked: AtomicU64,
    /// The last time the primary was asked its position for a client's token; held while
    /// it is asked, so that the reads that need an answer share one.
    primary_asked: tokio::sync::Mutex<Option<Asked>>,
}

/// When the primary was asked its position for a token, and whether it answered.
struct Asked {
    at: Instant,
    done: Instant,
    answered: bool,
}

impl Asked {
    /// Whether this asking answers a read that arrived at `since`: asked after it (so after
    /// the write its token names committed), or failed after it (asking again would too).
    fn answers(&self, since: Instant) -> bool {
        self.at >= since || (!self.answered && self.done >= since)
    }
}

/// Replicas asked to wait for a token's position before the read goes to the primary.
const REPLICAS_ASKED: usize = 2;

/// The value of `Members::primary` while no primary is known.
pub(crate) const NO_PRIMARY: usize = usize::MAX;

impl<D: Database> Cluster<D> {
    /// Validates the configuration and builds the pools; no connection is opened yet.
    pub(crate) fn build(config: &DatabaseConfig) -> Result<Self, Error> {
        let servers = Servers::of::<D::Connection>(config, D::KEY)?;
        let options = Arc::new(config.pool.clone());
        let candidates = servers.primaries.len();
        let kinds = (1..=candidates)
            .map(|n| ServerKind::Primary((candidates > 1).then_some(n)))
            .chain((1..=servers.replicas.len()).map(ServerKind::Replica));
        let urls = servers.primaries.into_iter().chain(servers.replicas);
        let rotation = Arc::new(Rotation::none());
        let alarm = Arc::new(Alarm::default());
        let members: Box<[_]> = kinds
            .zip(urls)
            .enumerate()
            .map(|(slot, (kind, url))| {
                let server = Server::new(D::KEY, kind, D::Connection::NAME, url);
                Arc::new(ServerPools::new(server, slot, &options, &rotation, &alarm))
            })
            .collect();
        // Until checked, the replicas are replicas and the first candidate is the primary;
        // with several candidates, the first write asks them which is.
        for replica in &members[candidates..] {
            replica.join_rotation();
        }
        for candidate in &members[1..candidates] {
            candidate.server.set_role(ServerRole::Down);
        }
        let primary_in_doubt = AtomicBool::new(candidates > 1);
        Ok(Self {
            members: Arc::new(Members {
                key: D::KEY,
                servers: members,
                primary: AtomicUsize::new(0),
                rotation,
                alarm,
                options,
                primary_in_doubt,
                conflict: std::sync::Mutex::new(Vec::new()),
                discovery: tokio::sync::Mutex::new(None),
                read_fallbacks: AtomicU64::new(0),
                unavailable: AtomicU64::new(0),
                failovers: AtomicU64::new(0),
                history: std::sync::Mutex::new(History::default()),
                token_reads: AtomicU64::new(0),
                token_waits: AtomicU64::new(0),
                token_primary_reads: AtomicU64::new(0),
                token_not_honoured: AtomicU64::new(0),
                token_positions_asked: AtomicU64::new(0),
                primary_asked: tokio::sync::Mutex::new(None),
            }),
        })
    }
}

impl<D: Database> std::ops::Deref for Cluster<D> {
    type Target = Members<D::Connection>;

    fn deref(&self) -> &Members<D::Connection> {
        &self.members
    }
}

impl<C: Backend> Members<C> {
    /// The server writes go to now, if one is known.
    pub(crate) fn primary(&self) -> Option<&Arc<ServerPools<C>>> {
        self.servers.get(self.primary.load(Ordering::Acquire))
    }

    /// Makes `slot` the primary (or none, with [`NO_PRIMARY`]); whether that changed it.
    pub(crate) fn set_primary(&self, slot: usize) -> bool {
        let before = self.primary.swap(slot, Ordering::AcqRel);
        if before != slot && slot != NO_PRIMARY && before != NO_PRIMARY {
            self.failovers.fetch_add(1, Ordering::Relaxed);
        }
        before != slot
    }

    /// A writer: on the primary. When it cannot be reached, the primary is looked for among
    /// every server (a failover may have made another one the primary): a checkout that
    /// failed sent nothing, so the write may go to the new one.
    pub(crate) async fn writer(&self) -> Result<Checkout<C>, Error> {
        let primary = match self.primary() {
            Some(primary) if !self.in_doubt() => Arc::clone(primary),
            _ => self.discover(Instant::now()).await?,
        };
        match primary.checkout(Role::Writer).await {
            Err(error @ Error::Connect { .. }) => match self.discover(Instant::now()).await {
                Ok(found) if found.slot != primary.slot => found.checkout(Role::Writer).await,
                _ => Err(error),
            },
            result => result,
        }
    }

    /// A reader: a replica in rotation picked at random (a replica that cannot be reached
    /// leaves the rotation and another is picked), else the primary when the fallback policy
    /// allows it (or when there are no replicas at all).
    pub(crate) async fn reader(&self) -> Result<Checkout<C>, Error> {
        for _ in 0..self.servers.len() {
            let Some(replica) = self.pick_replica() else {
                break;
            };
            match replica.checkout(Role::Reader).await {
                Err(error @ (Error::Connect { .. } | Error::Unsupported { .. })) => {
                    replica.take_out_of_rotation(&Chain(&error));
                }
                result => return result,
            }
        }
        let primary = self.read_fallback()?;
        if self.has_replicas() {
            self.read_fallbacks.fetch_add(1, Ordering::Relaxed);
            super::metrics::read_fallback(self.key);
        }
        primary.checkout(Role::Reader).await
    }

    /// A reader that has replayed `wanted` (the position of writes the read must see), or
    /// any reader without one. `signed`: the position comes from a token the router signed
    /// (or from its own writes), so the primary reached it; else it is client input, honoured
    /// only once the primary is known to have reached it.
    ///
    /// A replica in rotation known to have the position serves at once. Else up to two are
    /// asked to replay it, sharing `read_your_writes_wait` (one whose data was too old at
    /// its last health check to catch up within the wait is asked once, not waited for).
    /// Else the primary, when the fallback policy allows reads there. A token never fails a
    /// call: one that cannot be honoured sends the read to the freshest replica in rotation,
    /// where a read without it goes.
    pub(crate) async fn reader_for(
        &self,
        wanted: Option<&Position>,
        signed: bool,
    ) -> Result<Checkout<C>, Error> {
        let Some(wanted) = wanted.filter(|_| self.has_replicas()) else {
            return self.reader().await;
        };
        self.token_reads.fetch_add(1, Ordering::Relaxed);
        if self.rotation.is_empty() {
            // No replica in rotation: where any read goes, by the fallback policy.
            return self.reader().await;
        }
        if !signed && !self.primary_reached(wanted).await {
            return self
                .not_honoured("it names a position the primary has not reached")
                .await;
        }
        if let Some(conn) = self.fresh_replica(wanted).await? {
            return Ok(conn);
        }
        if self.rotation.is_empty() {
            // Its replicas left the rotation as they were tried.
            return self.reader().await;
        }
        let allowed = self.options.read_fallback == ReadFallback::Primary;
        if let Some(primary) = self.primary().filter(|_| allowed) {
            match primary.checkout(Role::Reader).await {
                Ok(conn) => {
                    self.token_primary_reads.fetch_add(1, Ordering::Relaxed);
                    return Ok(conn);
                }
                Err(error) => tracing::debug!(%error, "a token's read found no primary"),
            }
        }
        self.not_honoured("no replica has it, and reads may not go to the primary")
            .await
    }

    /// A reader on a replica in rotation that has `wanted` or replays it within
    /// `read_your_writes_wait`: up to [`REPLICAS_ASKED`] replicas, asked to wait (the second
    /// one with what is left of the wait); one that cannot catch up in time is asked once,
    /// without waiting. The first is picked at random, as for any read, so that token reads
    /// spread over the replicas as others do (and each learns, at one round trip, that it has
    /// the position); after a miss, one known to have it comes first. A pool that times out
    /// fails the read, as it would without a token.
    async fn fresh_replica(&self, wanted: &Position) -> Result<Option<Checkout<C>>, Error> {
        let deadline = Instant::now() + self.options.read_your_writes_wait;
        let (mut tried, mut asked) = (0_u64, 0);
        while asked < REPLICAS_ASKED {
            let known = match asked {
                0 => None,
                _ => self
                    .rotation
                    .pick_among(self.replicas_having(wanted) & !tried),
            };
            let Some(slot) = known.or_else(|| self.rotation.pick_among(!tried)) else {
                return Ok(None);
            };
            tried |= 1 << slot;
            let replica = &self.servers[slot];
            let has = replica.has(wanted);
            let mut conn = match replica.checkout(Role::Reader).await {
                Ok(conn) => conn,
                Err(error @ (Error::Connect { .. } | Error::Unsupported { .. })) => {
                    replica.take_out_of_rotation(&Chain(&error));
                    continue;
                }
                Err(error) => return Err(error),
            };
            if has || replica.has(wanted) {
                return Ok(Some(conn));
            }
            asked += 1;
            let budget = match self.may_catch_up(replica, wanted, deadline) {
                true => deadline.saturating_duration_since(Instant::now()),
                // One look (its last health check may be old news), no wait.
                false => std::time::Duration::ZERO,
            };
            if self.wait_for(replica, &mut conn, wanted, budget).await {
                self.token_waits.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(conn));
            }
        }
        Ok(None)
    }

    /// The replicas known to have replayed `wanted`, as rotation bits.
    fn replicas_having(&self, wanted: &Position) -> u64 {
        self.servers
            .iter()
            .filter(|server| server.has(wanted))
            .fold(0, |bits, server| bits | 1 << server.slot)
    }

    /// Whether `replica` may replay `wanted` by `deadline`. Not when the primary reached
    /// `wanted` after a time it was seen without it, and the replica's data was older at its
    /// last health check than the time from then to the deadline: a replica shows each write
    /// about its lag after the primary made it.
    fn may_catch_up(&self, replica: &ServerPools<C>, wanted: &Position, deadline: Instant) -> bool {
        let Some(lag) = replica.freshness().lag else {
            return true;
        };
        let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        history
            .last_without(wanted)
            .is_none_or(|lacked| lacked + lag <= deadline)
    }

    /// Whether the primary has reached `wanted`, a position a client gave: known from its
    /// sampled positions, or else asked, once for all the reads that need to know (single
    /// flight), on a writer connection (no read guard), within the health check's timeout.
    async fn primary_reached(&self, wanted: &Position) -> bool {
        let known = || {
            let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
            history.newest().is_some_and(|newest| newest.covers(wanted))
        };
        if known() {
            return true;
        }
        let since = Instant::now();
        let mut asked = self.primary_asked.lock().await;
        if known() || asked.as_ref().is_some_and(|asked| asked.answers(since)) {
            // Answered while this read queued for it.
            return known();
        }
        let at = Instant::now();
        self.token_positions_asked.fetch_add(1, Ordering::Relaxed);
        let answered = self.ask_primary_position().await;
        let done = Instant::now();
        *asked = Some(Asked { at, done, answered });
        known()
    }

    /// Asks the primary its position, recorded in its history; whether it answered. On a
    /// pooled writer, not the health check's connection (`ServerPools::position_now`): that
    /// one may not be open yet, or be busy with a check, and a token it cannot answer for
    /// would be ignored, and its read stale.
    async fn ask_primary_position(&self) -> bool {
        let Some(primary) = self.primary() else {
            return false;
        };
        let asked = async {
            let mut conn = primary.checkout(Role::Writer).await.ok()?;
            // Dropped while it asks (no answer in time), the connection is never used again.
            conn.abandon();
            let pooled = &mut *conn;
            let position = Box::pin(pooled.raw.position(&pooled.watch)).await.ok()??;
            conn.reinstate();
            Some(position)
        };
        let limit = self.options.health_check_timeout;
        match tokio::time::timeout(limit, asked).await {
            Ok(Some(position)) => {
                self.primary_wrote(&position, &primary.server);
                true
            }
            _ => false,
        }
    }

    /// A reader for a read whose token cannot be honoured (`why`): on the freshest replica
    /// in rotation, else where any read goes.
    async fn not_honoured(&self, why: &str) -> Result<Checkout<C>, Error> {
        self.token_not_honoured.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(database = self.key, why, "a read's token is not honoured");
        let Some(replica) = self.freshest_replica() else {
            return self.reader().await;
        };
        match replica.checkout(Role::Reader).await {
            Err(error @ (Error::Connect { .. } | Error::Unsupported { .. })) => {
                replica.take_out_of_rotation(&Chain(&error));
                self.reader().await
            }
            result => result,
        }
    }

    /// The replica in rotation known to have replayed the most, else any in rotation.
    fn freshest_replica(&self) -> Option<&Arc<ServerPools<C>>> {
        let known = self
            .servers
            .iter()
            .filter(|server| self.rotation.contains(server.slot))
            .filter_map(|server| Some((server, server.freshness().position.clone()?)));
        let freshest = known.reduce(|best, next| match next.1 > best.1 {
            true => next,
            false => best,
        });
        freshest
            .map(|(server, _)| server)
            .or_else(|| self.pick_replica())
    }

    /// Whether `replica` replays `wanted` within `budget`, asked on `conn`.
    async fn wait_for(
        &self,
        replica: &ServerPools<C>,
        conn: &mut Checkout<C>,
        wanted: &Position,
        budget: std::time::Duration,
    ) -> bool {
        // Dropped while it waits (the call's deadline), the connection is never used again.
        conn.abandon();
        let limit = budget + self.options.health_check_timeout;
        let waited = tokio::time::timeout(limit, Box::pin(conn.raw.wait_for(wanted, budget))).await;
        let Ok(Ok(reached)) = waited else {
            return false;
        };
        conn.reinstate();
        if reached {
            replica.freshness().reached(wanted);
        }
        reached
    }

    /// A write committed on `server`: the primary is at `position` now, if `server` is the
    /// primary whose positions the history holds (a write that ends on an old primary as
    /// another is promoted says nothing of the new one's).
    pub(crate) fn primary_wrote(&self, position: &Position, server: &Arc<Server>) {
        let Some(from) = self.pools_of(server) else {
            return;
        };
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        if history.follows(from.slot) {
            history.record(Instant::now(), position);
        }
    }

    /// The server a read would go to now, without checking a connection out.
    pub(crate) fn pick_reader(&self) -> Result<&Arc<Server>, Error> {
        match self.pick_replica() {
            Some(replica) => Ok(&replica.server),
            None => self.read_fallback().map(|primary| &primary.server),
        }
    }

    pub(crate) fn stats(&self, backend: &'static str) -> DatabaseStats {
        DatabaseStats {
            database: self.key,
            backend,
            primary: self.primary().map(|primary| primary.server.name()),
            failovers: self.failovers.load(Ordering::Relaxed),
            read_fallbacks: self.read_fallbacks.load(Ordering::Relaxed),
            unavailable: self.unavailable.load(Ordering::Relaxed),
            reads_with_token: self.token_reads.load(Ordering::Relaxed),
            reads_waited_for_token: self.token_waits.load(Ordering::Relaxed),
            reads_on_primary_for_token: self.token_primary_reads.load(Ordering::Relaxed),
            reads_token_not_honoured: self.token_not_honoured.load(Ordering::Relaxed),
            token_positions_asked: self.token_positions_asked.load(Ordering::Relaxed),
            servers: self.servers.iter().map(|server| server.stats()).collect(),
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
            Error::NoServerAvailable { .. } | Error::ConflictingPrimaries { .. } => {
                self.unavailable.fetch_add(1, Ordering::Relaxed);
                super::metrics::unavailable(self.key);
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
        self.doubt(server);
    }

    /// After a call lost its connection to `server`: reads go elsewhere until the server
    /// answers health checks again, and every connection of the database is pinged before
    /// its next use (a restart, a failover seldom kills one connection alone).
    pub(crate) fn connection_lost(&self, server: &Arc<Server>) {
        self.alarm.raise();
        if let Some(replica) = self.replica_of(server) {
            replica.take_out_of_rotation(&"a call lost its connection");
        }
        self.doubt(server);
    }

    /// A failure on `server` that a failover would explain: when it is the primary, the next
    /// write finds the primary first.
    fn doubt(&self, server: &Arc<Server>) {
        if let Some(pools) = self.pools_of(server) {
            self.doubt_primary(pools);
        }
    }

    pub(crate) fn pools_of(&self, server: &Arc<Server>) -> Option<&Arc<ServerPools<C>>> {
        self.servers
            .iter()
            .find(|pools| Arc::ptr_eq(&pools.server, server))
    }

    fn replica_of(&self, server: &Arc<Server>) -> Option<&Arc<ServerPools<C>>> {
        self.pools_of(server)
            .filter(|pools| !pools.server.is_primary())
    }

    fn pick_replica(&self) -> Option<&Arc<ServerPools<C>>> {
        self.rotation.pick().map(|slot| &self.servers[slot])
    }

    fn has_replicas(&self) -> bool {
        self.servers.len() > 1
    }

    /// Where reads go with no replica in rotation: the primary, unless the policy says to
    /// fail (and there are replicas to wait for).
    fn read_fallback(&self) -> Result<&Arc<ServerPools<C>>, Error> {
        let allowed = !self.has_replicas() || self.options.read_fallback == ReadFallback::Primary;
        match (allowed, self.primary()) {
            (true, Some(primary)) => Ok(primary),
            _ => Err(Error::NoServerAvailable {
                database: self.key,
                role: Role::Reader,
            }),
        }
    }

    /// Starts the maintenance task of each server on `runtime`.
    fn start_maintenance(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        for server in self.servers.iter() {
            runtime.spawn(maintenance(Arc::downgrade(self), server.slot));
        }
    }
}

/// Every `health_check_interval`: a health check (what the server is: primary, replica,
/// down). Every tick: closing expired and long-idle connections, opening connections up to
/// `min_idle`, and when due a keepalive ping of every idle connection. Due times are counted
/// from the ticks' scheduled instants, so that a slow check does not push a keepalive a
/// whole tick late. Ends when the router is dropped.
async fn maintenance<C: Backend>(members: Weak<Members<C>>, slot: usize) {
    let Some(options) = members
        .upgrade()
        .map(|members| Arc::clone(&members.options))
    else {
        return;
    };
    let mut ticks = tokio::time::interval(options.maintenance_tick());
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let start = Instant::now();
    let mut next_health = start;
    let mut next_keepalive = options.keepalive.map(|every| start + every);
    loop {
        let tick = ticks.tick().await.into_std();
        let Some(members) = members.upgrade() else {
            return;
        };
        let server = Arc::clone(&members.servers[slot]);
        if tick >= next_health {
            next_health = tick + options.health_check_interval;
            members.sample_primary(&server).await;
            let health = server.observe().await;
            members.observed(&server, health).await;
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
    /// A write committed on `server`: the primary is at `position` now.
    fn primary_wrote(&self, position: &Position, server: &Arc<Server>);
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
        self.members.stats(D::Connection::NAME)
    }

    fn primary_wrote(&self, position: &Position, server: &Arc<Server>) {
        self.members.primary_wrote(position, server);
    }

    fn start_maintenance(&self, runtime: &tokio::runtime::Handle) {
        self.members.start_maintenance(runtime);
    }

    fn dispose(&self) -> BoxFuture<'_> {
        Box::pin(async move {
            for server in self.servers.iter() {
                server.dispose().await;
            }
        })
    }
}
