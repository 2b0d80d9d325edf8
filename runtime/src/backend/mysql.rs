//! MySQL and MariaDB through diesel-async's `AsyncMysqlConnection` (mysql_async).
//!
//! Connections are opened with mysql_async directly and handed to diesel-async, so that a
//! connection authenticates as exactly the account and over exactly the transport the URL
//! names: mysql_async would otherwise reconnect a TCP connection to a loopback server over
//! its Unix socket (`prefer_socket`), where `app@localhost` is another account.

use diesel::QueryResult;
use diesel_async::SimpleAsyncConnection;

use std::sync::Arc;

use super::{Backend, BoxFuture, Watch, sealed};
use crate::error::{BoxError, Role};
use crate::url::ServerUrl;

/// diesel-async's MySQL/MariaDB connection; declare it with `default: mysql`.
pub type MysqlConnection = diesel_async::AsyncMysqlConnection;

impl sealed::Sealed for MysqlConnection {}

impl Backend for MysqlConnection {
    const NAME: &'static str = "mysql";

    /// A session the server killed (`KILL`, `wait_timeout`) shows only when used. A read is
    /// then retried elsewhere, a write cannot be: writer checkouts ping first.
    const WRITER_PING_AFTER: Option<std::time::Duration> = Some(std::time::Duration::ZERO);

    fn parse_url(url: &str) -> Result<ServerUrl, String> {
        ServerUrl::network(url, &["mysql", "mariadb"], 3306)
    }

    async fn connect(url: &ServerUrl, role: Role, _: &Arc<Watch>) -> Result<Self, BoxError> {
        let opts = mysql_async::Opts::from_url(url.secret())?;
        let explicit_socket = url.secret().contains("prefer_socket=");
        let mut builder = mysql_async::OptsBuilder::from_opts(opts.clone());
        if !explicit_socket {
            builder = builder.prefer_socket(false);
        }
        if role == Role::Reader {
            // Refuses writes with 1792 even for users with `READ_ONLY ADMIN`, whom the
            // server's `read_only` lets through. Sent with the handshake's first queries.
            let mut init = opts.init().to_vec();
            init.push("SET SESSION TRANSACTION READ ONLY".to_owned());
            builder = builder.init(init);
        }
        let conn = mysql_async::Conn::new(builder).await?;
        Ok(Self::try_from(conn).await?)
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // A text-protocol query: one round trip.
        self.batch_execute("SELECT 1").await
    }

    fn cancel_request(&self) -> Option<BoxFuture<()>> {
        let token = self.cancel_token();
        Some(Box::pin(async move {
            let _ = token.cancel_query().await;
        }))
    }
}
