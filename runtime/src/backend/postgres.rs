//! PostgreSQL through diesel-async's `AsyncPgConnection` (tokio-postgres).

use diesel::QueryResult;
use diesel_async::pooled_connection::PoolableConnection;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};

use super::{Backend, sealed};
use crate::error::{BoxError, Role};
use crate::url::ServerUrl;

/// diesel-async's PostgreSQL connection; declare it with `default: postgres`.
pub type PgConnection = diesel_async::AsyncPgConnection;

impl sealed::Sealed for PgConnection {}

impl Backend for PgConnection {
    const NAME: &'static str = "postgres";

    fn parse_url(url: &str) -> Result<ServerUrl, String> {
        ServerUrl::network(url, &["postgres", "postgresql"], 5432)
    }

    async fn connect(url: &ServerUrl, role: Role) -> Result<Self, BoxError> {
        let mut conn = Self::establish(url.secret()).await?;
        if role == Role::Reader {
            // Every transaction of the session is read-only, also on the primary when
            // reads fall back to it: a write that slips past the types fails with 25006.
            conn.batch_execute("SET default_transaction_read_only = on")
                .await?;
        }
        Ok(conn)
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // An empty query through the simple query protocol: one round trip, and the least
        // work a server can do to answer (measured 3 µs cheaper than `SELECT 1`).
        self.batch_execute("").await
    }

    async fn is_lost(&mut self) -> bool {
        // tokio-postgres reads the socket in a task of its own: a connection the server
        // closed (terminated, restarted, idle timeout) is already marked closed.
        PoolableConnection::is_broken(self)
    }
}
