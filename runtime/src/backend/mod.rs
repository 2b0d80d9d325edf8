//! What differs between PostgreSQL, MySQL/MariaDB and SQLite: URLs, how a session is made
//! read-only, how a connection is pinged. Everything else is written once against
//! [`Backend`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use diesel::QueryResult;
use diesel_async::AsyncConnection;
use diesel_async::pooled_connection::PoolableConnection;

use crate::error::{BoxError, Role};
use crate::server::ServerRole;
use crate::tls::TlsSettings;
use crate::token::Position;
use crate::url::ServerUrl;

mod declare;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod watch;

pub use declare::StandIn;
#[cfg(feature = "mysql")]
pub use mysql::MysqlConnection;
#[cfg(feature = "postgres")]
pub use postgres::PgConnection;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteConnection;
pub use watch::Watch;
pub(crate) use watch::{Last, Watcher};

/// A future of the crate's own, boxed: what a connection hands out to run later, elsewhere.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A diesel-async connection type diesel-route knows how to pool and route.
///
/// Implemented for `PgConnection`, `MysqlConnection` and `SqliteConnection` (each
/// behind its cargo feature); sealed. Its methods are the runtime's own and hidden.
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

    /// Whether a read served by the primary runs in a guarded read-only transaction (see
    /// [`begin_read_guard`](Self::begin_read_guard)): where the session's read-only mode
    /// alone can be undone or bypassed by SQL a reader may run.
    const GUARDS_PRIMARY_READS: bool = false;

    #[doc(hidden)]
    /// Checks a URL given for this backend; the error says what is wrong with it.
    fn parse_url(url: &str, tls: &TlsSettings) -> Result<ServerUrl, String>;

    #[doc(hidden)]
    /// Prepares the primary once, when the router is built (SQLite: create the file and turn
    /// on WAL, so that read-only connections can open it).
    fn prepare_primary(_url: &ServerUrl) -> Result<(), String> {
        Ok(())
    }

    #[doc(hidden)]
    /// Opens a connection; a reader's session is read-only in the database itself. What the
    /// driver reports of the session goes to `watch`.
    fn connect(
        url: &ServerUrl,
        role: Role,
        watch: &Arc<Watch>,
    ) -> impl Future<Output = Result<Self, BoxError>> + Send;

    #[doc(hidden)]
    /// Whether a client connection keeps one server session from one transaction to the
    /// next, as session settings, read guards and the driver's prepared statements need: not
    /// behind a pooler that lends a server per transaction (PgBouncer's transaction mode).
    /// Asked once per server, before its first connection serves a call, on connections of
    /// its own; an error when it cannot tell.
    fn keeps_session(
        _url: &ServerUrl,
        _limit: Duration,
    ) -> impl Future<Output = Result<bool, BoxError>> + Send {
        std::future::ready(Ok(true))
    }

    #[doc(hidden)]
    /// Proves the connection alive with one cheap round trip.
    fn probe(&mut self) -> impl Future<Output = QueryResult<()>> + Send;

    #[doc(hidden)]
    /// Asks the server what it is, a primary (it accepts writes) or a replica (PostgreSQL:
    /// `pg_is_in_recovery()`; MySQL/MariaDB: `@@global.read_only`), and where its data
    /// stands. One round trip (three on MySQL/MariaDB).
    fn health(&mut self) -> impl Future<Output = QueryResult<Health>> + Send;

    #[doc(hidden)]
    /// The position of a primary's data, taken after a write: it covers that write. `None`
    /// where the backend has no positions (SQLite: one file, always current) or the server
    /// does not say (MySQL with GTIDs off). `watch` is the connection's own.
    fn position(
        &mut self,
        _watch: &Watch,
    ) -> impl Future<Output = QueryResult<Option<Position>>> + Send {
        std::future::ready(Ok(None))
    }

    #[doc(hidden)]
    /// Waits until this replica has replayed `position`, up to `limit`: whether it has.
    fn wait_for(
        &mut self,
        _position: &Position,
        _limit: Duration,
    ) -> impl Future<Output = QueryResult<bool>> + Send {
        std::future::ready(Ok(true))
    }

    /// A request, to be run from elsewhere, that cancels the statement running on this
    /// connection (PostgreSQL's cancel request, MySQL's `KILL QUERY`). `None` where there is
    /// no such thing.
    fn cancel_request(&self, _url: &ServerUrl) -> Option<BoxFuture<()>> {
        None
    }

    #[doc(hidden)]
    /// Opens the read-only transaction a read served by the primary runs in, so that nothing
    /// it runs can commit a write (see [`end_read_guard`](Self::end_read_guard)).
    fn begin_read_guard(&mut self) -> impl Future<Output = QueryResult<()>> + Send {
        std::future::ready(Ok(()))
    }

    #[doc(hidden)]
    /// Ends the guarded transaction: commits it when it wrote nothing and left the session
    /// read-only, rolls it back otherwise and says so with a read-only refusal.
    fn end_read_guard(&mut self) -> impl Future<Output = QueryResult<()>> + Send {
        std::future::ready(Ok(()))
    }
}

/// What a health check learns of a server.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub(crate) role: ServerRole,
    /// A primary's position, or a replica's replayed one; `None` where the backend has no
    /// positions.
    pub(crate) position: Option<Position>,
}

impl Health {
    pub(crate) fn of(role: ServerRole) -> Self {
        Self {
            role,
            position: None,
        }
    }
}

mod sealed {
    pub trait Sealed {}
}
