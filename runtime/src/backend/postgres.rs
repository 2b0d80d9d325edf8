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
use crate::tls::TlsSettings;
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

    fn parse_url(url: &str, tls: &TlsSettings) -> Result<ServerUrl, String> {
        let url = ServerUrl::network(url, &["postgres", "postgresql"], 5432)?;
        let url = url.with_tls(&TLS_PARAMETERS, tls)?;
        url.tls().check()?;
        Ok(url)
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
        let reader = (role == Role::Reader).then(|| Arc::clone(watch));
        let client = match tls::connector(url.tls())? {
            None => {
                config.ssl_mode(tokio_postgres::config::SslMode::Disable);
                let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
                tokio::spawn(drive(connection, reader));
                client
            }
            Some((mode, connector)) => {
                config.ssl_mode(mode);
                let (client, connection) = config.connect(connector).await?;
                tokio::spawn(drive(connection, reader));
                client
            }
        };
        Ok(Self::try_from(client).await?)
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // An empty query through the simple query protocol: one round trip, and the least
        // work a server can do to answer (measured 3 µs cheaper than `SELECT 1`).
        self.batch_execute("").await
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
