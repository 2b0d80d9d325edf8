//! PostgreSQL through diesel-async's `AsyncPgConnection` (tokio-postgres).
//!
//! Connections are opened with tokio-postgres directly and handed to diesel-async, so that a
//! failed connect keeps its cause (a refused port, a name that does not resolve) and a
//! reader's session is read-only from its first message (the startup packet's `options`),
//! with no round trip of its own.

use diesel::QueryResult;
use diesel::connection::TransactionDepthChange;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AnsiTransactionManager, SimpleAsyncConnection, TransactionManager as _};

use std::sync::Arc;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Backend, BoxFuture, Watch, sealed};
use crate::error::{BoxError, Role, is_connection_lost};
use crate::url::ServerUrl;

/// diesel-async's PostgreSQL connection; declare it with `default: postgres`.
pub type PgConnection = diesel_async::AsyncPgConnection;

impl sealed::Sealed for PgConnection {}

/// Makes every transaction of a reader's session read-only, also on the primary when reads
/// fall back to it: a write that slips past the types fails with 25006.
const READ_ONLY_SESSION: &str = "-c default_transaction_read_only=on";

/// The end of a guarded read: one round trip that fails (division by zero) when the
/// transaction took a transaction id, which any write does (`lo_create` too, which PostgreSQL
/// lets through a read-only transaction), or when the session stopped being read-only; then
/// commits.
const GUARD_END: &str = "SELECT 1 / (pg_current_xact_id_if_assigned() IS NULL \
     AND current_setting('default_transaction_read_only') = 'on' \
     AND current_setting('transaction_read_only') = 'on')::int; COMMIT";

/// Drives a connection's socket until the connection ends (its client dropped, or the server
/// gone), as diesel-async would; for a reader, also watches the session's
/// `default_transaction_read_only`, which PostgreSQL reports to the client whenever it
/// changes: a session made writable is retired by its pool, at no cost per statement.
async fn drive<S, T>(mut connection: tokio_postgres::Connection<S, T>, reader: Option<Arc<Watch>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    std::future::poll_fn(|cx| {
        loop {
            match connection.poll_message(cx) {
                // Notices and notifications: nothing waits for them.
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
                Poll::Pending => {
                    let read_only = connection.parameter("default_transaction_read_only");
                    if let Some(watch) = &reader
                        && read_only.is_some_and(|value| value != "on")
                    {
                        watch.session_made_writable();
                    }
                    return Poll::Pending;
                }
            }
        }
    })
    .await;
}

impl Backend for PgConnection {
    const NAME: &'static str = "postgres";

    /// A read-only session can be made writable again (`set_config`, `SET SESSION
    /// CHARACTERISTICS`), and large objects are written even in a read-only transaction.
    const GUARDS_PRIMARY_READS: bool = true;

    fn parse_url(url: &str) -> Result<ServerUrl, String> {
        ServerUrl::network(url, &["postgres", "postgresql"], 5432)
    }

    async fn connect(url: &ServerUrl, role: Role, watch: &Arc<Watch>) -> Result<Self, BoxError> {
        let mut config: tokio_postgres::Config = url.secret().parse()?;
        if role == Role::Reader {
            let options = match config.get_options() {
                Some(given) => format!("{given} {READ_ONLY_SESSION}"),
                None => READ_ONLY_SESSION.to_owned(),
            };
            config.options(options);
        }
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(drive(
            connection,
            (role == Role::Reader).then(|| Arc::clone(watch)),
        ));
        Ok(Self::try_from(client).await?)
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // An empty query through the simple query protocol: one round trip, and the least
        // work a server can do to answer (measured 3 µs cheaper than `SELECT 1`).
        self.batch_execute("").await
    }

    fn cancel_request(&self) -> Option<BoxFuture<()>> {
        let token = self.cancel_token();
        Some(Box::pin(async move {
            let _ = token.cancel_query(tokio_postgres::NoTls).await;
        }))
    }

    async fn begin_read_guard(&mut self) -> QueryResult<()> {
        AnsiTransactionManager::begin_transaction_sql(self, "BEGIN READ ONLY").await
    }

    async fn end_read_guard(&mut self) -> QueryResult<()> {
        match self.batch_execute(GUARD_END).await {
            Ok(()) => {
                let status = AnsiTransactionManager::transaction_manager_status_mut(self);
                status
                    .transaction_state()?
                    .change_transaction_depth(TransactionDepthChange::DecreaseDepth)
            }
            Err(error) if is_connection_lost(&error) => Err(error),
            Err(_) => {
                AnsiTransactionManager::rollback_transaction(self).await?;
                Err(DieselError::DatabaseError(
                    DatabaseErrorKind::ReadOnlyTransaction,
                    Box::new(
                        "a read on the primary wrote, or made its session writable: its \
                         transaction was rolled back"
                            .to_owned(),
                    ),
                ))
            }
        }
    }
}
