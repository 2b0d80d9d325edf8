//! MySQL and MariaDB through diesel-async's `AsyncMysqlConnection` (mysql_async).

use diesel::QueryResult;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};

use super::{Backend, sealed};
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

    async fn connect(url: &ServerUrl, role: Role) -> Result<Self, BoxError> {
        let mut conn = Self::establish(url.secret()).await?;
        if role == Role::Reader {
            // Refuses writes with 1792 even for users with `READ_ONLY ADMIN`, whom the
            // server's `read_only` lets through.
            conn.batch_execute("SET SESSION TRANSACTION READ ONLY")
                .await?;
        }
        Ok(conn)
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // A text-protocol query: one round trip.
        self.batch_execute("SELECT 1").await
    }
}
