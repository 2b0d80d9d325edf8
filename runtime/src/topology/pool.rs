//! The pool of one server and one role, on deadpool.
//!
//! deadpool brings the fair (FIFO) wait queue, the timeouts and the slot bookkeeping; its
//! `Manager` is where diesel-route decides what a healthy connection is: the connect step
//! makes reader sessions read-only, and the recycle step (run on every checkout) retires
//! connections past their lifetime and pings those idle longer than `ping_after`.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, Timeouts};
use diesel_async::TransactionManager;

use crate::backend::Backend;
use crate::config::PoolOptions;
use crate::error::{BoxError, Error, Role};
use crate::topology::Server;

pub(crate) type Pool<C> = managed::Pool<Manager<C>>;

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
    expires_at: Option<Instant>,
    last_used: Instant,
    suspect: bool,
}

impl<C: Backend> Pooled<C> {
    /// After a failed call: ping before the next use, since the failure may have been the
    /// connection dying.
    pub(crate) fn mark_suspect(&mut self) {
        self.suspect = true;
    }

    /// A transaction left open (a panic or a cancelled call inside a transaction) or a
    /// transaction manager in an error state: the connection cannot be reused safely.
    fn is_broken(&mut self) -> bool {
        C::TransactionManager::is_broken_transaction_manager(&mut self.raw)
    }
}

pub(crate) struct Manager<C> {
    server: Arc<Server>,
    role: Role,
    options: Arc<PoolOptions>,
    _connection: std::marker::PhantomData<fn() -> C>,
}

impl<C: Backend> managed::Manager for Manager<C> {
    type Type = Pooled<C>;
    type Error = BoxError;

    async fn create(&self) -> Result<Pooled<C>, BoxError> {
        let raw = C::connect(self.server.url(), self.role).await?;
        Ok(Pooled {
            raw,
            server: Arc::clone(&self.server),
            expires_at: self
                .options
                .max_lifetime
                .map(|max| Instant::now() + jittered(max)),
            last_used: Instant::now(),
            suspect: false,
        })
    }

    async fn recycle(&self, conn: &mut Pooled<C>, _: &Metrics) -> RecycleResult<BoxError> {
        if conn.is_broken() {
            return Err(RecycleError::message("left in a transaction or broken"));
        }
        if conn.expires_at.is_some_and(|at| at <= Instant::now()) {
            return Err(RecycleError::message("past its max lifetime"));
        }
        if conn.suspect || conn.last_used.elapsed() >= self.options.ping_after {
            conn.raw
                .ping()
                .await
                .map_err(|error| RecycleError::Backend(error.into()))?;
            conn.suspect = false;
        }
        Ok(())
    }
}

/// Up to 10% shorter than `max`, at random, so that connections opened together are not
/// all replaced together.
fn jittered(max: Duration) -> Duration {
    max.mul_f64(1.0 - fastrand::f64() * 0.1)
}

pub(crate) fn build<C: Backend>(
    server: &Arc<Server>,
    role: Role,
    options: &Arc<PoolOptions>,
) -> Pool<C> {
    let max_size = match role {
        Role::Writer => C::MAX_WRITERS.map_or(options.max_size, |max| max.min(options.max_size)),
        Role::Reader => options.max_size,
    };
    let manager = Manager {
        server: Arc::clone(server),
        role,
        options: Arc::clone(options),
        _connection: std::marker::PhantomData,
    };
    managed::Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(options.checkout_timeout),
            create: Some(options.connect_timeout),
            recycle: Some(options.connect_timeout),
        })
        // The most recently used connection first: hot connections stay hot (no ping
        // needed), idle ones age out.
        .queue_mode(managed::QueueMode::Lifo)
        .build()
        .expect("a runtime is set, and nothing else can fail")
}

pub(crate) async fn checkout<C: Backend>(
    pool: &Pool<C>,
    server: &Arc<Server>,
    role: Role,
) -> Result<Checkout<C>, Error> {
    match pool.get().await {
        Ok(object) => Ok(Checkout(object)),
        Err(error) => Err(checkout_error(error, pool, server, role)),
    }
}

fn checkout_error<C: Backend>(
    error: PoolError<BoxError>,
    pool: &Pool<C>,
    server: &Arc<Server>,
    role: Role,
) -> Error {
    let timeouts = pool.timeouts();
    let connect = |source: BoxError| Error::Connect {
        server: Arc::clone(server),
        source,
    };
    match error {
        PoolError::Timeout(managed::TimeoutType::Wait) => Error::PoolTimeout {
            server: Arc::clone(server),
            role,
            waited: timeouts.wait.unwrap_or_default(),
        },
        PoolError::Timeout(_) => connect(
            format!(
                "no answer within the connect timeout ({:?})",
                timeouts.create.unwrap_or_default()
            )
            .into(),
        ),
        PoolError::Backend(source) => connect(source),
        other => connect(other.to_string().into()),
    }
}
