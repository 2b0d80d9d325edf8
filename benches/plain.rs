//! The baselines: plain diesel-async pools, built as diesel-async documents them.

use std::time::Duration;

use diesel_async::AsyncConnection;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolableConnection, RecyclingMethod,
};

use crate::POOL_SIZE;

/// diesel-async's deadpool pool.
pub type Deadpool<C> = diesel_async::pooled_connection::deadpool::Pool<C>;

/// diesel-async's bb8 pool.
pub type Bb8<C> = diesel_async::pooled_connection::bb8::Pool<C>;

/// What the pool checks when it hands a connection out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Nothing but the transaction state (diesel-async's `RecyclingMethod::Fast`, bb8
    /// without `test_on_check_out`).
    None,
    /// One `SELECT 1` round trip on every checkout (diesel-async's default `Verified`, bb8's
    /// `test_on_check_out`).
    EveryCheckout,
}

fn manager<C>(url: &str, check: Check) -> AsyncDieselConnectionManager<C>
where
    C: AsyncConnection + 'static,
{
    let mut config = ManagerConfig::default();
    config.recycling_method = match check {
        Check::None => RecyclingMethod::Fast,
        Check::EveryCheckout => RecyclingMethod::Verified,
    };
    AsyncDieselConnectionManager::new_with_config(url, config)
}

/// A deadpool pool of [`POOL_SIZE`] as diesel-async's docs build it: no timeouts.
pub fn deadpool<C>(url: &str, check: Check) -> Deadpool<C>
where
    C: AsyncConnection + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager,
{
    Deadpool::builder(manager(url, check))
        .max_size(POOL_SIZE)
        .build()
        .expect("a deadpool pool")
}

/// A deadpool pool of [`POOL_SIZE`] with the timeouts diesel-route sets (wait, create and
/// recycle; each costs a timer set-up per checkout), to tell their cost from routing's.
pub fn deadpool_with_timeouts<C>(url: &str, check: Check) -> Deadpool<C>
where
    C: AsyncConnection + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager,
{
    let timeout = Some(Duration::from_secs(5));
    Deadpool::builder(manager(url, check))
        .max_size(POOL_SIZE)
        .runtime(deadpool::Runtime::Tokio1)
        .timeouts(deadpool::managed::Timeouts {
            wait: timeout,
            create: timeout,
            recycle: timeout,
        })
        .build()
        .expect("a deadpool pool")
}

/// A deadpool pool of [`POOL_SIZE`] that checks every checkout with `batch_execute(probe)`
/// on PostgreSQL (the simple query protocol), to compare probes.
pub fn deadpool_probing(
    url: &str,
    probe: &'static str,
) -> Deadpool<diesel_async::AsyncPgConnection> {
    use diesel_async::SimpleAsyncConnection;
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::CustomFunction(Box::new(
        move |conn: &mut diesel_async::AsyncPgConnection| Box::pin(conn.batch_execute(probe)),
    ));
    Deadpool::builder(AsyncDieselConnectionManager::new_with_config(url, config))
        .max_size(POOL_SIZE)
        .build()
        .expect("a deadpool pool")
}

/// A bb8 pool of [`POOL_SIZE`]; `Check::None` turns `test_on_check_out` off (bb8 tests on
/// checkout by default).
pub async fn bb8<C>(url: &str, check: Check) -> Bb8<C>
where
    C: PoolableConnection + 'static,
    AsyncDieselConnectionManager<C>: bb8::ManageConnection,
{
    Bb8::builder()
        .max_size(u32::try_from(POOL_SIZE).expect("a small pool"))
        .test_on_check_out(check == Check::EveryCheckout)
        .connection_timeout(Duration::from_secs(5))
        .build(manager(url, check))
        .await
        .unwrap_or_else(|_| panic!("a bb8 pool of {url}"))
}

/// The error a plain call returns: what a user's own error type wraps.
#[derive(Debug)]
pub enum PlainError {
    /// No connection.
    Pool(String),
    /// The query failed.
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for PlainError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Query(error)
    }
}

impl<E: std::fmt::Debug> From<deadpool::managed::PoolError<E>> for PlainError {
    fn from(error: deadpool::managed::PoolError<E>) -> Self {
        Self::Pool(format!("{error:?}"))
    }
}

impl<E: std::fmt::Debug> From<bb8::RunError<E>> for PlainError {
    fn from(error: bb8::RunError<E>) -> Self {
        Self::Pool(format!("{error:?}"))
    }
}
