//! What differs between PostgreSQL, MySQL/MariaDB and SQLite: URLs, how a session is made
//! read-only, how a connection is pinged. Everything else is written once against
//! [`Backend`].

use std::future::Future;

use std::time::Duration;

use diesel::QueryResult;
use diesel_async::AsyncConnection;
use diesel_async::pooled_connection::PoolableConnection;

use crate::error::{BoxError, Role};
use crate::url::ServerUrl;

mod declare;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use declare::StandIn;
#[cfg(feature = "mysql")]
pub use mysql::MysqlConnection;
#[cfg(feature = "postgres")]
pub use postgres::PgConnection;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteConnection;

/// A diesel-async connection type diesel-route knows how to pool and route.
///
/// Implemented for [`PgConnection`], [`MysqlConnection`] and [`SqliteConnection`] (each
/// behind its cargo feature); sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a connection type diesel-route can route",
    note = "declare databases with `postgres`, `mysql` or `sqlite` in `databases!`"
)]
pub trait Backend:
    AsyncConnection + PoolableConnection + Send + Sized + 'static + sealed::Sealed
{
    /// `"postgres"`, `"mysql"` or `"sqlite"`: the `db.system` of traces.
    const NAME: &'static str;

    /// The largest writer pool the backend can use: SQLite lets one writer in at a time.
    const MAX_WRITERS: Option<usize> = None;

    /// How long a writer connection may idle before it is pinged on checkout, unless the
    /// configuration says otherwise. `None`: the database-wide `ping_after`.
    const WRITER_PING_AFTER: Option<Duration> = None;

    /// Checks a URL given for this backend; the error says what is wrong with it.
    fn parse_url(url: &str) -> Result<ServerUrl, String>;

    /// Prepares the primary once, when the router is built (SQLite: create the file and turn
    /// on WAL, so that read-only connections can open it).
    fn prepare_primary(_url: &ServerUrl) -> Result<(), String> {
        Ok(())
    }

    /// Opens a connection; a reader's session is read-only in the database itself.
    fn connect(url: &ServerUrl, role: Role) -> impl Future<Output = Result<Self, BoxError>> + Send;

    /// Proves the connection alive with one cheap round trip.
    fn probe(&mut self) -> impl Future<Output = QueryResult<()>> + Send;

    /// After a failed call: whether the failure was the connection dying. Checked without a
    /// round trip where the driver knows (PostgreSQL's connection task sees the socket
    /// close), with a ping where it does not.
    fn is_lost(&mut self) -> impl Future<Output = bool> + Send {
        async move { self.probe().await.is_err() }
    }
}

mod sealed {
    pub trait Sealed {}
}
