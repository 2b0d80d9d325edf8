//! The one error type of the crate, with kinds a caller can match.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::server::Server;

/// A `Result` whose error is [`Error`]: what routed functions usually return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error of a source that drivers and pools hand back, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong between a routed call and the database.
///
/// Each variant is a kind a caller can match on; none of them prints a password.
///
/// ```
/// # use diesel_route::Error;
/// fn http_status(error: &Error) -> u16 {
///     match error {
///         Error::PoolTimeout { .. } | Error::NoServerAvailable { .. } => 503,
///         Error::Connect { .. } | Error::ConnectionLost { .. } => 502,
///         Error::Query(diesel::result::Error::NotFound) => 404,
///         _ => 500,
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is missing or invalid, found when the router is built.
    #[error("configuration of database `{database}`: `{setting}` {problem}")]
    Config {
        /// The database key (`default`, or the name given in `databases!`).
        database: String,
        /// The setting at fault: an environment variable or a builder method.
        setting: String,
        /// What is wrong with it.
        problem: String,
    },

    /// No pooled connection became free within the checkout timeout.
    #[error("timed out after {waited:?} waiting for a {role} connection to {server}")]
    PoolTimeout {
        /// The server whose pool was exhausted.
        server: Arc<Server>,
        /// The role of the pool: `reader` or `writer`.
        role: Role,
        /// How long the call waited.
        waited: Duration,
    },

    /// A new connection could not be opened (refused, timed out, bad credentials).
    #[error("cannot connect to {server}: {source}")]
    Connect {
        /// The server, its URL without the password.
        server: Arc<Server>,
        /// What the driver reported.
        #[source]
        source: BoxError,
    },

    /// The connection died while a statement was running: the server went away, was
    /// restarted or killed the session.
    ///
    /// For a write, `commit_unknown` says whether the transaction may have been committed
    /// before the connection died (the commit was sent, its answer never came back).
    #[error("lost the connection to the server: {source}")]
    ConnectionLost {
        /// `true` when a `COMMIT` (or a statement outside a transaction) was in flight: it may
        /// or may not have taken effect.
        commit_unknown: bool,
        /// What the driver reported.
        #[source]
        source: DieselError,
    },

    /// The database refused a write on a read-only connection: a write slipped past the types
    /// (raw SQL, a side-effecting function) and nothing was written.
    #[error("the database refused a write on a read-only connection: {0}")]
    ReadOnly(#[source] DieselError),

    /// No server of the database can serve the call: every replica is out of rotation and
    /// the read fallback policy forbids the primary.
    #[error("no server of database `{database}` is available for a {role}")]
    NoServerAvailable {
        /// The database key.
        database: &'static str,
        /// The role that was asked for.
        role: Role,
    },

    /// A request [`Session`](crate::Session) was misused, or ended without committing: its
    /// extractor used without its layer or twice in one request, or a call interrupted with
    /// its transaction still open (the session's writes were then rolled back).
    #[error("request session: {0}")]
    Session(String),

    /// A migration failed (see `Router::run_pending_migrations`).
    #[error("migration failed: {0}")]
    Migration(#[source] BoxError),

    /// A query failed for another reason (constraint violation, `NotFound`, syntax, ...).
    #[error(transparent)]
    Query(DieselError),
}

impl Error {
    pub(crate) fn config(
        database: impl Into<String>,
        setting: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self::Config {
            database: database.into(),
            setting: setting.into(),
            problem: problem.into(),
        }
    }

    /// Whether retrying the same call later could succeed: timeouts, lost or refused
    /// connections, no server available.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::PoolTimeout { .. }
                | Self::Connect { .. }
                | Self::ConnectionLost { .. }
                | Self::NoServerAvailable { .. }
        )
    }
}

/// Sorts a diesel error into its kind: a read-only refusal and a lost connection get their
/// own variants, whatever the backend calls them. An [`Error`] that travelled inside a
/// diesel error (see the conversion the other way) comes back as it was.
impl From<DieselError> for Error {
    fn from(error: DieselError) -> Self {
        let error = match error {
            DieselError::QueryBuilderError(inner) => match inner.downcast::<Self>() {
                Ok(routed) => return *routed,
                Err(other) => DieselError::QueryBuilderError(other),
            },
            other => other,
        };
        if is_read_only_refusal(&error) {
            Self::ReadOnly(error)
        } else if is_connection_lost(&error) {
            Self::ConnectionLost {
                commit_unknown: false,
                source: error,
            }
        } else {
            Self::Query(error)
        }
    }
}

/// Lets functions that return diesel's `QueryResult` be routed: a query's error goes back
/// as it came, any other kind travels inside `QueryBuilderError` (whose message is this
/// error's), from which `Error::from` takes it out again.
impl From<Error> for DieselError {
    fn from(error: Error) -> Self {
        match error {
            Error::Query(error)
            | Error::ReadOnly(error)
            | Error::ConnectionLost {
                commit_unknown: false,
                source: error,
            } => error,
            other => DieselError::QueryBuilderError(Box::new(other)),
        }
    }
}

/// PostgreSQL (SQLSTATE 25006) and MariaDB in a read-only session (1792) map to diesel's
/// `ReadOnlyTransaction`; MariaDB's `read_only` server variable (1290) and SQLite's
/// `mode=ro` only say so in their message.
pub(crate) fn is_read_only_refusal(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("--read-only option")
                || message.contains("READ ONLY transaction")
                || message.contains("attempt to write a readonly database")
        }
        _ => false,
    }
}

/// A connection that died under the statement. diesel-async reports a dead PostgreSQL socket
/// as `UnableToSendCommand`, the FATAL terminations before it (57P01, 57P05) and every
/// MariaDB client-side failure (the "gone away" and "lost connection" family) only in the
/// message.
pub(crate) fn is_connection_lost(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            [
                "has gone away",
                "Lost connection",
                "terminating connection",
                "onnection closed",
                "onnection reset",
                "roken pipe",
                "Input/output error",
                "server closed the connection",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        }
        _ => false,
    }
}

/// The role a connection plays: a reader runs read-only queries, a writer runs any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Serves `#[route(read)]` functions, from a replica or a read-only session.
    Reader,
    /// Serves `#[route(write)]` functions, from the primary.
    Writer,
}

impl Role {
    /// `"reader"` or `"writer"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Writer => "writer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
