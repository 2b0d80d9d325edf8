//! PostgreSQL through diesel-async's `AsyncPgConnection` (tokio-postgres).
//!
//! Connections are opened with tokio-postgres directly and handed to diesel-async, so that a
//! failed connect keeps its cause (a refused port, a name that does not resolve) and a
//! reader's session is read-only from its first message (the startup packet's `options`),
//! with no round trip of its own; behind a pooler that refuses or drops `options`, a `SET`
//! makes it so before any call gets the connection.

use diesel::QueryResult;
use diesel::connection::TransactionDepthChange;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Bool, Nullable, Text};
use diesel_async::{AnsiTransactionManager, SimpleAsyncConnection, TransactionManager as _};

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::{Backend, BoxFuture, Health, Watch, sealed};
use crate::error::{BoxError, Role, is_connection_lost};
use crate::server::ServerRole;
use crate::tls::TlsSettings;
use crate::token::Position;
use crate::url::{ServerUrl, TlsParameters};

/// diesel-async's PostgreSQL connection; declare it with `default: postgres`.
pub type PgConnection = diesel_async::AsyncPgConnection;

impl sealed::Sealed for PgConnection {}

/// libpq's names of the TLS settings in a URL.
const TLS_PARAMETERS: TlsParameters = TlsParameters {
    mode: &["sslmode"],
    root_cert: &["sslrootcert"],
    client_cert: &["sslcert"],
    client_key: &["sslkey"],
};

/// Makes every transaction of a reader's session read-only, also on the primary when reads
/// fall back to it: a write that slips past the types fails with 25006.
const READ_ONLY_SESSION: &str = "-c default_transaction_read_only=on";

/// The session parameter PostgreSQL (14 and later) reports to the client at the start and
/// whenever it changes.
const READ_ONLY_PARAMETER: &str = "default_transaction_read_only";

/// The same, as a statement, where the startup packet cannot carry it (PgBouncer refuses an
/// `options` parameter).
const READ_ONLY_SESSION_SET: &str = "SET SESSION default_transaction_read_only = on";

/// Whether the server is in recovery; whether its WAL receiver streams from a primary
/// (without `pg_read_all_stats` a role sees the receiver's row but not its status: the
/// row's presence then counts); and its position: a standby's replayed WAL, a primary's
/// written WAL.
const HEALTH: &str = "pg_is_in_recovery(), \
    EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE coalesce(status, 'streaming') = 'streaming'), \
    CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text";

/// PostgreSQL's WAL positions, as prepared statements diesel caches (one round trip each
/// after the first). A `pg_lsn` travels in binary as the 64-bit integer it is.
mod lsn {
    diesel::define_sql_function! {
        /// The position of the WAL written so far, on a primary.
        #[sql_name = "pg_current_wal_lsn"]
        fn written() -> diesel::sql_types::BigInt;
    }
    diesel::define_sql_function! {
        /// The position of the WAL a standby has replayed (`NULL` on a primary).
        #[sql_name = "pg_last_wal_replay_lsn"]
        fn replayed() -> diesel::sql_types::Nullable<diesel::sql_types::BigInt>;
    }
}

/// The end of a guarded read: one round trip that fails (division by zero) when the
/// transaction took a transaction id, which any write does (`lo_create` too, which PostgreSQL
/// lets through a read-only transaction), or when the session stopped being read-only; then
/// commits.
const GUARD_END: &str = "SELECT 1 / (pg_current_xact_id_if_assigned() IS NULL \
     AND current_setting('default_transaction_read_only') = 'on' \
     AND current_setting('transaction_read_only') = 'on')::int; COMMIT";

/// Drives a connection's socket until the connection ends (its client dropped, or the server
/// gone), as diesel-async would, and keeps the driver's report of why it ended in `watch`
/// (the statement then running only hears that the connection closed). For a reader, also
/// watches the session's `default_transaction_read_only`, which PostgreSQL reports to the
/// client whenever it changes: a session made writable is retired by its pool, at no cost per
/// statement.
async fn drive<S, T>(mut connection: tokio_postgres::Connection<S, T>, watched: Option<Watched>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    // Whether the session was seen read-only: from its start when the startup packet made
    // it so, after its first statement when a statement did.
    let mut was_read_only = false;
    std::future::poll_fn(|cx| {
        loop {
            match connection.poll_message(cx) {
                // Notices and notifications: nothing waits for them.
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(error))) => {
                    if let Some(watched) = &watched {
                        watched.watch.connection_ended(&ended_by(&error));
                    }
                    return Poll::Ready(());
                }
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => {
                    let Some(Watched {
                        watch,
                        reader: true,
                    }) = &watched
                    else {
                        return Poll::Pending;
                    };
                    let read_only = connection.parameter(READ_ONLY_PARAMETER) == Some("on");
                    if was_read_only && !read_only {
                        watch.session_made_writable();
                    }
                    was_read_only |= read_only;
                    return Poll::Pending;
                }
            }
        }
    })
    .await;
}

/// What a pooled connection's driver reports to: its watch, and whether it serves reads.
#[derive(Clone)]
struct Watched {
    watch: Arc<Watch>,
    reader: bool,
}

/// The server's own words when it ended the session (`terminating connection due to
/// administrator command`), else the driver's.
fn ended_by(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => error.to_string(),
    }
}

/// `config` with the reader's `options` added to any it has.
fn read_only(mut config: tokio_postgres::Config) -> tokio_postgres::Config {
    let options = match config.get_options() {
        Some(given) => format!("{given} {READ_ONLY_SESSION}"),
        None => READ_ONLY_SESSION.to_owned(),
    };
    config.options(options);
    config
}

/// Connects with the URL's TLS settings, and drives the connection on a task of its own.
/// Also whether the server reported the session read-only when it started.
async fn open(
    config: tokio_postgres::Config,
    url: &ServerUrl,
    watched: Watched,
) -> Result<(PgConnection, bool), BoxError> {
    let (client, read_only) = client(config, url, Some(watched)).await?;
    Ok((PgConnection::try_from(client).await?, read_only))
}

/// tokio-postgres's client, its connection driven on a task of its own.
async fn client(
    mut config: tokio_postgres::Config,
    url: &ServerUrl,
    watched: Option<Watched>,
) -> Result<(tokio_postgres::Client, bool), BoxError> {
    let started_read_only = |value: Option<&str>| value == Some("on");
    Ok(match tls::connector(url.tls())? {
        None => {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            let read_only = started_read_only(connection.parameter(READ_ONLY_PARAMETER));
            tokio::spawn(drive(connection, watched));
            (client, read_only)
        }
        Some((mode, connector)) => {
            config.ssl_mode(mode);
            let (client, connection) = config.connect(connector).await?;
            let read_only = started_read_only(connection.parameter(READ_ONLY_PARAMETER));
            tokio::spawn(drive(connection, watched));
            (client, read_only)
        }
    })
}

/// Whether a client connection keeps one server session for its life, as the session's
/// settings (a reader's read-only mode), the primary's read guard and diesel-async's prepared
/// statements need. Directly on PostgreSQL, or behind a pooler in session mode, it does, and
/// no other client shares that session. Behind a pooler that lends sessions per transaction
/// (PgBouncer's transaction mode, on every version) it does not: PgBouncer hands
/// the server used last to the next client, so a second client that begins a transaction
/// gets the first one's session, and the first then runs on another. Asked of
/// `pg_backend_pid()`, which prepared statements do not change.
///
/// `Ok(false)` when the sessions were shared; an error when the check could not tell (no
/// connection, no server free within `limit`).
async fn check_own_session(url: &ServerUrl, limit: Duration) -> Result<bool, BoxError> {
    let config: tokio_postgres::Config = url.secret().parse()?;
    let (first, _) = within(limit, client(config.clone(), url, None)).await??;
    let before = within(limit, backend_pid(&first, "")).await??;
    let (second, _) = within(limit, client(config, url, None)).await??;
    let seconds = within(limit, backend_pid(&second, "BEGIN; ")).await??;
    if seconds == before {
        return Ok(false);
    }
    let after = within(limit, backend_pid(&first, "")).await??;
    drop(second);
    Ok(after == before)
}

/// The backend pid of the session `client` runs on, asked after `prefix` (no prepared
/// statement: text only).
async fn backend_pid(
    client: &tokio_postgres::Client,
    prefix: &str,
) -> Result<String, tokio_postgres::Error> {
    let messages = client
        .simple_query(&format!("{prefix}SELECT pg_backend_pid()"))
        .await?;
    let pid = messages.iter().find_map(|message| match message {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
        _ => None,
    });
    Ok(pid.unwrap_or_default())
}

/// `future`'s output, unless `limit` passes first.
async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Result<T, BoxError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| BoxError::from("no answer in time"))
}

/// Whether a connect failed because the server (a pooler) refuses the startup packet's
/// `options`.
fn refuses_options(error: &(dyn std::error::Error + 'static)) -> bool {
    let refusal = error
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::as_db_error)
        .map(tokio_postgres::error::DbError::message);
    refusal.is_some_and(|message| message.contains("unsupported startup parameter: options"))
}

impl Backend for PgConnection {
    const NAME: &'static str = "postgres";

    /// A read-only session can be made writable again (`set_config`, `SET SESSION
    /// CHARACTERISTICS`), and large objects are written even in a read-only transaction.
    const GUARDS_PRIMARY_READS: bool = true;

    fn parse_url(url: &str, tls: &TlsSettings) -> Result<ServerUrl, String> {
        let url = ServerUrl::network(url, &["postgres", "postgresql"], 5432)?;
        let url = url.with_tls(&TLS_PARAMETERS, tls)?;
        url.tls().check()?;
        Ok(url)
    }

    async fn connect(url: &ServerUrl, role: Role, watch: &Arc<Watch>) -> Result<Self, BoxError> {
        let config: tokio_postgres::Config = url.secret().parse()?;
        let watched = Watched {
            watch: Arc::clone(watch),
            reader: role == Role::Reader,
        };
        if role == Role::Writer {
            return Ok(open(config, url, watched).await?.0);
        }
        let (mut conn, read_only) =
            match open(read_only(config.clone()), url, watched.clone()).await {
                // PgBouncer refuses `options` in the startup packet.
                Err(error) if refuses_options(&*error) => open(config, url, watched).await?,
                result => result?,
            };
        if !read_only {
            // The startup packet's `options` did not reach the server (refused, or ignored
            // by a pooler): a statement makes the session read-only before any call gets it.
            conn.batch_execute(READ_ONLY_SESSION_SET).await?;
        }
        Ok(conn)
    }

    async fn keeps_session(url: &ServerUrl, limit: Duration) -> Result<bool, BoxError> {
        check_own_session(url, limit).await
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // An empty query through the simple query protocol: one round trip, and the least
        // work a server can do to answer (measured 3 µs cheaper than `SELECT 1`).
        self.batch_execute("").await
    }

    async fn health(&mut self) -> QueryResult<Health> {
        let query = diesel::select(diesel::dsl::sql::<(Bool, Bool, Nullable<Text>)>(HEALTH));
        let (in_recovery, receiving, position): (bool, bool, Option<String>) =
            diesel_async::RunQueryDsl::get_result(query, self).await?;
        let role = match (in_recovery, receiving) {
            (false, _) => ServerRole::Primary,
            (true, true) => ServerRole::Replica,
            (true, false) => ServerRole::Detached,
        };
        Ok(Health {
            role,
            position: position.as_deref().and_then(Position::parse_lsn),
        })
    }

    async fn position(&mut self, _: &Watch) -> QueryResult<Option<Position>> {
        let lsn: i64 =
            diesel_async::RunQueryDsl::get_result(diesel::select(lsn::written()), self).await?;
        Ok(Some(Position::Lsn(lsn as u64)))
    }

    /// PostgreSQL 15 has no statement that waits for a replay position: the position is
    /// polled, first after 1 ms, then less often (up to every 16 ms).
    async fn wait_for(&mut self, position: &Position, limit: Duration) -> QueryResult<bool> {
        let Position::Lsn(wanted) = *position else {
            return Ok(false);
        };
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let query = diesel::select(lsn::replayed());
            let replayed: Option<i64> =
                diesel_async::RunQueryDsl::get_result(query, &mut *self).await?;
            if replayed.is_some_and(|replayed| replayed as u64 >= wanted) {
                return Ok(true);
            }
            let left = limit.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Ok(false);
            }
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_millis(16));
        }
    }

    fn cancel_request(&self, url: &ServerUrl) -> Option<BoxFuture<()>> {
        let token = self.cancel_token();
        let connector = tls::connector(url.tls()).ok().flatten();
        Some(Box::pin(async move {
            let _ = match connector {
                None => token.cancel_query(tokio_postgres::NoTls).await,
                Some((_, connector)) => token.cancel_query(connector).await,
            };
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

/// tokio-postgres's TLS connector, on rustls.
mod tls {
    use std::io;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_postgres::config::SslMode;
    use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
    use tokio_rustls::TlsConnector;

    use crate::backend::BoxFuture;
    use crate::error::BoxError;
    use crate::tls::{TlsMode, TlsSettings, client_config};

    /// The SSL mode tokio-postgres is given, and the connector that does what the mode asks
    /// (`verify-ca` and `verify-full` are `require` to tokio-postgres, and rustls checks the
    /// certificate); `None` for `disable`.
    pub(super) fn connector(settings: &TlsSettings) -> Result<Option<(SslMode, Rustls)>, BoxError> {
        let mode = match settings.mode {
            TlsMode::Disable => return Ok(None),
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        };
        let config = client_config(settings)?;
        Ok(Some((mode, Rustls(Arc::new(config)))))
    }

    /// Makes a TLS connector per connection, for the host the connection goes to.
    #[derive(Clone)]
    pub(super) struct Rustls(Arc<rustls::ClientConfig>);

    impl<S> MakeTlsConnect<S> for Rustls
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        type Stream = RustlsStream<S>;
        type TlsConnect = RustlsConnect;
        type Error = rustls::pki_types::InvalidDnsNameError;

        fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, Self::Error> {
            Ok(RustlsConnect {
                connector: TlsConnector::from(Arc::clone(&self.0)),
                name: ServerName::try_from(host.to_owned())?,
            })
        }
    }

    pub(super) struct RustlsConnect {
        connector: TlsConnector,
        name: ServerName<'static>,
    }

    impl<S> TlsConnect<S> for RustlsConnect
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        type Stream = RustlsStream<S>;
        type Error = io::Error;
        type Future = BoxFuture<io::Result<RustlsStream<S>>>;

        fn connect(self, stream: S) -> Self::Future {
            Box::pin(async move {
                let stream = self.connector.connect(self.name, stream).await?;
                Ok(RustlsStream(stream))
            })
        }
    }

    /// A TLS connection. It offers no channel binding: SCRAM then authenticates without it
    /// (the `-PLUS` variants need the certificate's hash in its signature's algorithm, which
    /// rustls does not expose).
    pub(super) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

    impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
        fn channel_binding(&self) -> ChannelBinding {
            ChannelBinding::none()
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }
}
