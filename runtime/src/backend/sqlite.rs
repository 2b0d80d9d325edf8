//! SQLite: one file in WAL mode, one writer connection and read-only (`mode=ro`) readers.

use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryResult};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

use std::sync::Arc;

use super::{Backend, Health, Watch, sealed};
use crate::error::{BoxError, Role};
use crate::server::ServerRole;
use crate::tls::TlsSettings;
use crate::url::{ServerUrl, scrub};

/// diesel's SQLite connection behind diesel-async's `SyncConnectionWrapper`, which runs it on
/// tokio's blocking threads; declare it with `default: sqlite`.
pub type SqliteConnection = SyncConnectionWrapper<diesel::SqliteConnection>;

impl sealed::Sealed for SqliteConnection {}

/// Waits for the file lock instead of failing with `SQLITE_BUSY`.
const SESSION_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

impl Backend for SqliteConnection {
    const NAME: &'static str = "sqlite";
    const MAX_WRITERS: Option<usize> = Some(1);

    fn parse_url(url: &str, _: &TlsSettings) -> Result<ServerUrl, String> {
        if let Some(scheme) = server_scheme(url) {
            return Err(format!(
                "has scheme `{scheme}`, expected a file path or `sqlite://path`: the database \
                 is declared `sqlite`"
            ));
        }
        if url.contains('@') || (url.contains('=') && url.contains(char::is_whitespace)) {
            // Credentials have no place in a file path: this is a server's URL or
            // connection string, mistyped; opening it would create a file of that name.
            return Err(
                "looks like a server's URL or connection string, not a file path: \
                        the database is declared `sqlite`"
                    .into(),
            );
        }
        let path = ["sqlite://", "sqlite:", "file://", "file:"]
            .iter()
            .find_map(|prefix| url.strip_prefix(prefix))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or_default();
        if server_scheme(path).is_some() {
            // `sqlite://user:password?...`: the credentials of a server, not a file name.
            return Err(
                "looks like a server's URL with credentials, not a file path: the database \
                 is declared `sqlite`"
                    .into(),
            );
        }
        if path.is_empty() {
            return Err("names no file: give a path such as `sqlite://app.db`".into());
        }
        if path == ":memory:" || url.contains("mode=memory") {
            return Err(
                "is an in-memory database, which the writer and the readers \
                 cannot share: give a file path such as `sqlite://app.db`"
                    .into(),
            );
        }
        Ok(ServerUrl::file(path))
    }

    fn prepare_primary(url: &ServerUrl) -> Result<(), String> {
        let scrubbed = |error: &dyn std::fmt::Display| scrub(&error.to_string(), &url.secrets());
        let mut conn = diesel::SqliteConnection::establish(url.secret())
            .map_err(|error| format!("cannot be opened: {}", scrubbed(&error)))?;
        // WAL lets readers read while the writer writes; the mode is stored in the file.
        conn.batch_execute("PRAGMA journal_mode = WAL")
            .map_err(|error| format!("cannot be switched to WAL mode: {}", scrubbed(&error)))
    }

    async fn connect(url: &ServerUrl, role: Role, _: &Arc<Watch>) -> Result<Self, BoxError> {
        let target = match role {
            Role::Writer => url.secret().to_owned(),
            Role::Reader => read_only_uri(url.secret()),
        };
        let conn = tokio::task::spawn_blocking(move || {
            let mut conn = diesel::SqliteConnection::establish(&target)?;
            conn.batch_execute(SESSION_PRAGMAS)?;
            Ok::<_, BoxError>(conn)
        })
        .await??;
        Ok(SyncConnectionWrapper::new(conn))
    }

    async fn probe(&mut self) -> QueryResult<()> {
        // A local file does not go away behind the pool's back.
        Ok(())
    }

    async fn health(&mut self) -> QueryResult<Health> {
        Ok(Health::of(ServerRole::Primary))
    }
}

/// The scheme of a URL of another backend (`postgres://...`, or mistyped `postgres:...`):
/// not a path to open, and maybe one with a password in it.
fn server_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let looks_like_scheme = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (looks_like_scheme && !matches!(scheme, "sqlite" | "file")).then_some(scheme)
}

/// `file:` URI of the same file, opened read-only; `?`, `#` and `%` must be escaped in it.
fn read_only_uri(path: &str) -> String {
    let escaped = path
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    format!("file:{escaped}?mode=ro")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_url_plain(url: &str) -> Result<ServerUrl, String> {
        SqliteConnection::parse_url(url, &TlsSettings::default())
    }

    #[test]
    fn urls_and_paths() {
        for input in ["sqlite://app.db", "sqlite:app.db", "file:app.db", "app.db"] {
            assert_eq!(parse_url_plain(input).unwrap().secret(), "app.db");
        }
        assert!(parse_url_plain("sqlite::memory:").is_err());
        let error = parse_url_plain("postgres://app@db/app").unwrap_err();
        assert!(error.starts_with("has scheme `postgres`"), "{error}");
        let error = parse_url_plain("postgres:app:pw@db/app").unwrap_err();
        assert!(error.starts_with("has scheme `postgres`"), "{error}");
        let error = parse_url_plain("sqlite://app:s3cr3t?ss#word/app").unwrap_err();
        assert!(error.starts_with("looks like a server's URL"), "{error}");
        assert!(!error.contains("s3cr3t"), "{error}");
        assert!(parse_url_plain("sqlite://").is_err());
        assert_eq!(
            read_only_uri("/tmp/a?b#c%.db"),
            "file:/tmp/a%3fb%23c%25.db?mode=ro"
        );
    }
}
