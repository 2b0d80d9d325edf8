//! The pool of one server and one role, on deadpool.
//!
//! deadpool brings the fair (FIFO) wait queue, the timeouts and the slot bookkeeping; its
//! `Manager` is where diesel-route decides what a healthy connection is: the connect step
//! makes reader sessions read-only, and the recycle step (run on every checkout) retires
//! connections that are broken, disposed of, past their lifetime or idle for too long, and
//! pings those idle longer than the bypass window.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, Timeouts};
use diesel_async::pooled_connection::PoolableConnection;

use crate::backend::{Backend, Watch, Watcher};
use crate::config::PoolOptions;
use crate::error::{BoxError, Error, Role, Scrubbed};
use crate::server::Server;
use crate::topology::stats::{PoolCounters, PoolStats};

/// The pool of one server and one role.
pub(crate) struct Pool<C: Backend> {
    pool: managed::Pool<Manager<C>>,
    options: Arc<PoolOptions>,
    role: Role,
}

/// A connection out of the pool; back in the pool when dropped.
pub(crate) struct Checkout<C: Backend>(managed::Object<Manager<C>>);

impl<C: Backend> Deref for Checkout<C> {
    type Target = Pooled<C>;
    fn deref(&self) -> &Pooled<C> {
        &self.0
    }
}

impl<C: Backend> DerefMut for Checkout<C> {
    fn deref_mut(&mut self) -> &mut Pooled<C> {
        &mut self.0
    }
}

impl<C: Backend> Drop for Checkout<C> {
    fn drop(&mut self) {
        self.0.last_used = Instant::now();
    }
}

/// A pooled connection and what the pool knows about it.
pub(crate) struct Pooled<C> {
    pub(crate) raw: C,
    pub(crate) server: Arc<Server>,
    pub(crate) counters: Arc<PoolCounters>,
    generation: u64,
    expires_at: Option<Instant>,
    last_used: Instant,
    suspect: bool,
    /// Why it must never be used again, if it must not.
    fate: Fate,
    /// What its statements showed (see `watch.rs`).
    pub(crate) watch: Arc<Watch>,
    /// Reads on it run in a guarded read-only transaction: a reader of the primary, of a
    /// backend whose read-only session alone is not a wall (`Backend::GUARDS_PRIMARY_READS`).
    pub(crate) guarded: bool,
    /// The cluster's alarm and the pool's keepalive round at its last ping (or opening):
    /// when either moved on since, it is pinged before its next use.
    checked: Checked,
}

/// Whether a connection may be used again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    Usable,
    /// A call found it dead.
    Lost,
    /// A call was dropped while it ran on it.
    Abandoned,
}

/// Counters a connection is checked against; see `Pooled::checked`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Checked {
    alarm: u64,
    keepalive: u64,
}

/// Raised when a connection of a database is found dead: a server restart, a failover or a
/// killed set of sessions seldom kills one connection alone, so every connection of the
/// database is pinged before its next use, even one used a moment ago.
#[derive(Debug, Default)]
pub(crate) struct Alarm(AtomicU64);

impl Alarm {
    pub(crate) fn raise(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl<C: Backend> Pooled<C> {
    /// After a failed call: ping before the next use, since the failure may have been the
    /// connection dying.
    pub(crate) fn mark_suspect(&mut self) {
        self.suspect = true;
    }

    /// A call found it dead: the pool retires it, a session holding it checks out another
    /// (or fails its request, when its transaction died with it).
    pub(crate) fn mark_lost(&mut self) {
        self.fate = Fate::Lost;
    }

    /// A call was dropped while it ran on it (its deadline passed, or its caller's future was
    /// dropped): its state is unknown, maybe mid-statement, so it is never used again.
    pub(crate) fn abandon(&mut self) {
        if self.fate == Fate::Usable {
            self.fate = Fate::Abandoned;
        }
    }

    /// Undoes [`abandon`](Self::abandon), for code that abandons a connection while it
    /// waits on it, and got its answer.
    pub(crate) fn reinstate(&mut self) {
        if self.fate == Fate::Abandoned {
            self.fate = Fate::Usable;
        }
    }

    /// Why it must not be used again, if it must not.
    pub(crate) fn fate(&self) -> Fate {
        self.fate
    }

    fn idle_for(&self) -> Duration {
        self.last_used.elapsed()
    }

    fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

pub(crate) struct Manager<C> {
    server: Arc<Server>,
    role: Role,
    options: Arc<PoolOptions>,
    counters: Arc<PoolCounters>,
    ping_after: Duration,
    /// Bumped by `dispose`: connections of an older generation are not reused.
    generation: AtomicU64,
    alarm: Arc<Alarm>,
    /// Bumped by each keepalive: every idle connection is pinged once.
    keepalive_round: AtomicU64,
    _connection: std::marker::PhantomData<fn() -> C>,
}

impl<C: Backend> managed::Manager for Manager<C> {
    /// Boxed: a connection is a few hundred bytes, which every async layer between the pool
    /// and the caller would otherwise copy (measured: two thirds of the checkout's cost).
    type Type = Box<Pooled<C>>;
    type Error = BoxError;

    async fn create(&self) -> Result<Box<Pooled<C>>, BoxError> {
        let generation = self.generation.load(Ordering::Relaxed);
        let url = self.server.url();
        let watch = Arc::new(Watch::default());
        // Boxed: opening a connection is rare, and its future, the largest of a call's, would
        // otherwise make every call's future as large (and overflow small stacks in debug
        // builds).
        let mut raw = Box::pin(C::connect(url, self.role, &watch))
            .await
            .map_err(|error| Scrubbed::boxed(&*error, &url.secrets()))?;
        diesel_async::AsyncConnection::set_instrumentation(&mut raw, Watcher(Arc::clone(&watch)));
        let guarded =
            C::GUARDS_PRIMARY_READS && self.role == Role::Reader && self.server.is_primary();
        Ok(Box::new(Pooled {
            raw,
            watch,
            guarded,
            server: Arc::clone(&self.server),
            counters: Arc::clone(&self.counters),
            generation,
            expires_at: self
                .options
                .max_lifetime
                .map(|max| Instant::now() + jittered(max)),
            last_used: Instant::now(),
            suspect: false,
            fate: Fate::Usable,
            checked: self.checked(),
        }))
    }

    async fn recycle(&self, conn: &mut Box<Pooled<C>>, _: &Metrics) -> RecycleResult<BoxError> {
        let now = Instant::now();
        if let Some(reason) = self.retire_reason(conn, now) {
            return Err(RecycleError::message(reason));
        }
        let checked = self.checked();
        let idle = now.duration_since(conn.last_used) >= self.ping_after;
        if conn.suspect || idle || conn.checked != checked {
            // The timeout is here, around the ping only: a deadpool recycle timeout would arm
            // a timer on every checkout, hot ones included. A server that does not answer a
            // ping within the health check's timeout counts as down.
            let timeout = self.options.health_check_timeout;
            let probe = tokio::time::timeout(timeout, Box::pin(conn.raw.probe())).await;
            if !matches!(probe, Ok(Ok(()))) {
                // The others idle beside it are likely dead too (a restart, a failover):
                // retire them without a ping each, which could wait a timeout each, and
                // have the rest of the database's connections pinged.
                self.generation.fetch_add(1, Ordering::Relaxed);
                self.alarm.raise();
                return Err(RecycleError::message("failed its ping"));
            }
            conn.suspect = false;
            conn.checked = checked;
        }
        Ok(())
    }
}

impl<C: Backend> Manager<C> {
    fn checked(&self) -> Checked {
        Checked {
            alarm: self.alarm.0.load(Ordering::Relaxed),
            keepalive: self.keepalive_round.load(Ordering::Relaxed),
        }
    }

    /// Why a connection must not be handed out again, if it must not.
    fn retire_reason(&self, conn: &mut Pooled<C>, now: Instant) -> Option<&'static str> {
        if conn.fate != Fate::Usable
            || conn.watch.session_writable()
            || PoolableConnection::is_broken(&mut conn.raw)
        {
            Some("left in a transaction, closed by the server, or no longer read-only")
        } else if conn.generation != self.generation.load(Ordering::Relaxed) {
            Some("disposed of")
        } else if conn.expired(now) {
            Some("past its max lifetime")
        } else {
            None
        }
    }
}

/// A connection idle for longer is pinged on checkout. One second by default: a connection
/// used that recently is almost surely alive, and the reads that find it dead anyway are
/// retried. Writes cannot be retried, so backends that cannot see a killed session without a
/// round trip (MySQL/MariaDB) ping every writer checkout unless configured otherwise.
fn ping_after<C: Backend>(options: &PoolOptions, role: Role) -> Duration {
    const DEFAULT: Duration = Duration::from_secs(1);
    let backend = match role {
        Role::Writer => C::WRITER_PING_AFTER,
        Role::Reader => None,
    };
    options.ping_after.or(backend).unwrap_or(DEFAULT)
}

/// Up to 10% shorter than `max`, at random, so that connections opened together are not
/// all replaced together.
fn jittered(max: Duration) -> Duration {
    max.mul_f64(1.0 - fastrand::f64() * 0.1)
}

impl<C: Backend> Pool<C> {
    pub(crate) fn new(
        server: &Arc<Server>,
        role: Role,
        options: &Arc<PoolOptions>,
        alarm: &Arc<Alarm>,
    ) -> Self {
        let max_size = match role {
            Role::Writer => {
                C::MAX_WRITERS.map_or(options.max_size, |max| max.min(options.max_size))
            }
            Role::Reader => options.max_size,
        };
        let manager = Manager {
            server: Arc::clone(server),
            role,
            options: Arc::clone(options),
            counters: Arc::new(PoolCounters::new(server, role)),
            ping_after: ping_after::<C>(options, role),
            generation: AtomicU64::new(0),
            alarm: Arc::clone(alarm),
            keepalive_round: AtomicU64::new(0),
            _connection: std::marker::PhantomData,
        };
        let pool = managed::Pool::builder(manager)
            .max_size(max_size)
            .runtime(deadpool::Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(options.checkout_timeout),
                create: Some(options.connect_timeout),
                recycle: None,
            })
            // The most recently used connection first: hot connections stay hot (no ping
            // needed), idle ones age out.
            .queue_mode(managed::QueueMode::Lifo)
            .build()
            .expect("a runtime is set, and nothing else can fail");
        Self {
            pool,
            options: Arc::clone(options),
            role,
        }
    }

    /// A connection: at once when one is free (no timer armed), else after waiting up to the
    /// checkout timeout.
    pub(crate) async fn checkout(&self) -> Result<Checkout<C>, Error> {
        let started = Instant::now();
        let at_once = Timeouts {
            wait: Some(Duration::ZERO),
            ..self.pool.timeouts()
        };
        let (waited, result) = match self.pool.timeout_get(&at_once).await {
            Err(PoolError::Timeout(managed::TimeoutType::Wait)) => (true, self.pool.get().await),
            result => (false, result),
        };
        let result = result
            .map(Checkout)
            .map_err(|error| self.checkout_error(error, started.elapsed()));
        let counters = &self.pool.manager().counters;
        counters.checkout(waited, started.elapsed(), result.as_ref().map(drop));
        result
    }

    /// The pool's live counters.
    pub(crate) fn counters(&self) -> &PoolCounters {
        &self.pool.manager().counters
    }

    /// The pool's counters and its current state.
    pub(crate) fn stats(&self) -> PoolStats {
        let status = self.pool.status();
        let (checkouts, waits, wait_time_us, errors) = self.pool.manager().counters.counts();
        PoolStats {
            role: self.role,
            max_size: status.max_size,
            open: status.size,
            in_use: status.size.saturating_sub(status.available),
            idle: status.available,
            waiting: status.waiting,
            checkouts,
            waits,
            wait_time_us,
            errors,
        }
    }

    /// What a failed checkout, `took` long, means for the caller.
    fn checkout_error(&self, error: PoolError<BoxError>, took: Duration) -> Error {
        let role = self.role;
        let server = &self.pool.manager().server;
        let connect = |source: BoxError| Error::Connect {
            server: Arc::clone(server),
            source,
        };
        match error {
            PoolError::Timeout(managed::TimeoutType::Wait) => Error::PoolTimeout {
                server: Arc::clone(server),
                role,
                waited: self.options.checkout_timeout,
            },
            PoolError::Timeout(_) => connect(
                format!(
                    "no answer within the connect timeout ({:?}; the checkout took {took:?})",
                    self.options.connect_timeout
                )
                .into(),
            ),
            PoolError::Backend(source) => connect(source),
            other => connect(other.to_string().into()),
        }
    }

    /// Closes idle connections past their lifetime, and those idle too long beyond
    /// `min_idle`.
    pub(crate) fn reap(&self) {
        let manager = self.pool.manager();
        let now = Instant::now();
        let mut closable = self
            .pool
            .status()
            .size
            .saturating_sub(self.options.min_idle);
        let removed = self.pool.retain(|conn, _| {
            let expired = conn.expired(now) || conn.generation != manager.generation();
            let idle = self
                .options
                .idle_timeout
                .is_some_and(|idle| conn.idle_for() >= idle);
            let close = expired || (idle && closable > 0);
            closable = closable.saturating_sub(usize::from(close));
            !close
        });
        drop(removed);
    }

    /// Pings the idle connections (`keepalive`) and opens connections up to `min_idle`: it
    /// checks out, without waiting, that many connections at once (so that each is a different
    /// one), which runs the recycle step on each, and gives them back.
    pub(crate) async fn refresh(&self, keepalive: bool) {
        if keepalive {
            // Every connection is pinged once, however recently it was used.
            let manager = self.pool.manager();
            manager.keepalive_round.fetch_add(1, Ordering::Relaxed);
        }
        let status = self.pool.status();
        let idle = if keepalive { status.available } else { 0 };
        let missing = self.options.min_idle.saturating_sub(status.size);
        if idle + missing == 0 {
            return;
        }
        let no_wait = Timeouts {
            wait: Some(Duration::ZERO),
            ..self.pool.timeouts()
        };
        let checkouts = (0..idle + missing).map(|_| self.pool.timeout_get(&no_wait));
        drop(futures_util::future::join_all(checkouts).await);
    }

    /// Drops the idle connections, and makes those in use be dropped when they come back.
    pub(crate) fn dispose(&self) {
        let manager = self.pool.manager();
        manager.generation.fetch_add(1, Ordering::Relaxed);
        drop(self.pool.retain(|_, _| false));
    }
}

impl<C> Manager<C> {
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }
}
