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
/// Each variant is a kind a caller can match on; none of them prints a password. Following
/// the convention of error chains, a variant's message does not repeat its cause: print the
/// chain (`std::error::Error::source`) to see it, as error reporters do.
///
/// # What a failed write did
///
/// A write that fails because its connection died ([`ConnectionLost`](Self::ConnectionLost))
/// or its deadline passed ([`Timeout`](Self::Timeout)) says whether it may have taken effect,
/// in `commit_unknown`:
///
/// - `false`: nothing of the call was committed. Nothing was sent yet, or the call's
///   statements ran inside a transaction (its own, with `#[route(write, transaction)]`, or
///   its request session's) whose `COMMIT` was never sent: the server rolls back a
///   transaction whose session ends.
/// - `true`: the outcome is unknown. A `COMMIT` was sent and its answer never came, or a
///   statement ran outside any transaction (where each statement commits by itself). Check
///   before doing it again: retrying blindly may write twice.
///
/// Reads never set it. [`is_transient`](Self::is_transient) is never true when it is set.
///
/// ```
/// # use diesel_route::Error;
/// fn http_status(error: &Error) -> u16 {
///     match error {
///         _ if error.commit_unknown() => 500,
///         Error::PoolTimeout { .. } | Error::NoServerAvailable { .. } | Error::Timeout { .. } => 503,
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

    /// A new connection could not be opened (refused, timed out, bad credentials, TLS).
    #[error("cannot connect to {server}")]
    Connect {
        /// The server, its URL without the password.
        server: Arc<Server>,
        /// What the driver reported, with its own causes (a refused port, a name that does
        /// not resolve, ...), scrubbed of the password.
        #[source]
        source: BoxError,
    },

    /// The connection died while the call ran: the server went away, was restarted or
    /// killed the session.
    ///
    /// For a write, `commit_unknown` says whether it may have been committed (see
    /// [What a failed write did](Self#what-a-failed-write-did)).
    #[error("lost the connection to the server{}", unknown_outcome(*commit_unknown))]
    ConnectionLost {
        /// `true` when the write may or may not have taken effect.
        commit_unknown: bool,
        /// What the driver reported.
        #[source]
        source: DieselError,
    },

    /// The call did not finish within its deadline (`read_timeout` or `write_timeout` of its
    /// database): the server may be frozen or overloaded. Its connection was dropped and,
    /// where the protocol allows, its statement cancelled on the server.
    ///
    /// A read that times out runs once more on another server before this is returned.
    #[error("{role} call timed out after {after:?}{}{}", on_server(server.as_deref()), unknown_outcome(*commit_unknown))]
    Timeout {
        /// The server the call was on, when it had a connection.
        server: Option<Arc<Server>>,
        /// `reader` or `writer`.
        role: Role,
        /// The deadline that passed.
        after: Duration,
        /// For a write: `true` when it may or may not have taken effect (see
        /// [What a failed write did](Self#what-a-failed-write-did)).
        commit_unknown: bool,
    },

    /// The database refused a write on a read-only connection, or diesel-route refused raw
    /// SQL given to `raw_read` that is not a read: a write slipped past the types (raw SQL,
    /// a side-effecting function) and nothing was written.
    #[error("refused a write on a read-only connection")]
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

    /// Two or more servers of the database say they are the primary (a failover left the old
    /// one running, say): writes are refused, since writing to either could lose the other's
    /// writes, until only one says so.
    #[error(
        "servers of database `{database}` that each say they are the primary: {}",
        names(servers)
    )]
    ConflictingPrimaries {
        /// The database key.
        database: &'static str,
        /// The servers that say so.
        servers: Vec<Arc<Server>>,
    },

    /// The server a write went to refused it as read-only, and says it is a replica now: a
    /// failover demoted it. Writes go to the new primary once it is found.
    #[error("{server} refused a write: it is a replica now{}", unknown_outcome(*commit_unknown))]
    NotPrimary {
        /// The demoted server.
        server: Arc<Server>,
        /// `true` when statements the call sent before the refusal may have been committed
        /// (outside a transaction).
        commit_unknown: bool,
    },

    /// The server cannot serve calls as it is set up: it sits behind a connection pooler in
    /// transaction mode, which loses the driver's prepared statements. The message says what
    /// to change; found before any call uses the server.
    #[error("{server} cannot be used: {reason}")]
    Unsupported {
        /// The server.
        server: Arc<Server>,
        /// What is wrong, and what to change.
        reason: &'static str,
    },

    /// Primaries that did not answer within the time given them at start-up
    /// ([`RouterBuilder::build_waiting`](crate::RouterBuilder::build_waiting),
    /// [`Router::wait_for_primaries`](crate::Router::wait_for_primaries)).
    #[error("no answer after {waited:.1?} from {}", unreachable(primaries))]
    Unreachable {
        /// Each primary that did not answer, and why: the driver's words without the
        /// password, or no answer in time.
        primaries: Vec<(Arc<Server>, String)>,
        /// How long they were waited for.
        waited: Duration,
    },

    /// A request [`Session`](crate::Session) was misused: its extractor used without its
    /// layer, or twice in one request.
    #[error("request session: {0}")]
    Session(String),

    /// A call of a request session was interrupted (its future dropped, a panic caught)
    /// with its transaction open: the session's writes to that database were rolled back at
    /// its end instead of being committed half done.
    #[error(
        "a call was interrupted with its transaction open on database `{database}`: the \
         session's writes to it were rolled back"
    )]
    Interrupted {
        /// The database key.
        database: &'static str,
    },

    /// A migration failed (see `Router::run_pending_migrations`, feature `migrations`).
    #[error("migration failed")]
    Migration(#[source] BoxError),

    /// A query failed for another reason (constraint violation, `NotFound`, syntax, ...).
    #[error(transparent)]
    Query(DieselError),
}

fn unknown_outcome(commit_unknown: bool) -> &'static str {
    match commit_unknown {
        true => "; the write may or may not have been committed",
        false => "",
    }
}

fn names(servers: &[Arc<Server>]) -> String {
    let names: Vec<String> = servers.iter().map(ToString::to_string).collect();
    names.join(", ")
}

fn unreachable(primaries: &[(Arc<Server>, String)]) -> String {
    let each = primaries
        .iter()
        .map(|(server, why)| format!("{server}: {why}"));
    each.collect::<Vec<_>>().join("; ")
}

fn on_server(server: Option<&Server>) -> String {
    server.map_or_else(String::new, |server| format!(" on {server}"))
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

    /// Whether the same call may be made again and could then succeed: the server or the
    /// pool was unavailable, and nothing of the call took effect. Never true for a write
    /// whose outcome is unknown ([`commit_unknown`](Self::commit_unknown)).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::PoolTimeout { .. }
            | Self::Connect { .. }
            | Self::NoServerAvailable { .. }
            | Self::ConflictingPrimaries { .. }
            | Self::Unreachable { .. } => true,
            Self::ConnectionLost { commit_unknown, .. }
            | Self::Timeout { commit_unknown, .. }
            | Self::NotPrimary { commit_unknown, .. } => !commit_unknown,
            _ => false,
        }
    }

    /// Whether a write may or may not have taken effect: its connection died or its deadline
    /// passed after something was sent outside a transaction, or while its `COMMIT` was in
    /// flight.
    pub fn commit_unknown(&self) -> bool {
        matches!(
            self,
            Self::ConnectionLost {
                commit_unknown: true,
                ..
            } | Self::Timeout {
                commit_unknown: true,
                ..
            } | Self::NotPrimary {
                commit_unknown: true,
                ..
            }
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
/// `ReadOnlyTransaction`; MariaDB's `read_only` server variable (1290), a PostgreSQL
/// standby's refusals during recovery and SQLite's `mode=ro` only say so in their message.
pub(crate) fn is_read_only_refusal(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("--read-only option")
                || message.contains("READ ONLY transaction")
                || message.contains("attempt to write a readonly database")
                // A PostgreSQL standby refusing what would write ("cannot assign OIDs
                // during recovery", "cannot execute ... during recovery").
                || message.contains("during recovery")
        }
        _ => false,
    }
}

/// A connection that died under the statement. diesel-async reports a dead PostgreSQL socket
/// as `UnableToSendCommand`, the FATAL terminations that come before it (whose SQLSTATE it
/// does not keep) and every MariaDB client-side failure (the "gone away" and "lost
/// connection" family) only in the message. Messages in another language than the server's
/// English are not recognised here; the lease then pings the connection to find out.
pub(crate) fn is_connection_lost(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            [
                // PostgreSQL's FATAL terminations (57P01, 57P02, 57P05, 25P03) and refusals
                // of a server going down (57P03).
                "terminating connection",
                "database system is shutting down",
                "database system is in recovery mode",
                "server closed the connection",
                // MariaDB and MySQL: 2006, 2013, 1927, 1053, 4031.
                "has gone away",
                "Lost connection",
                "was killed",
                "Server shutdown in progress",
                "disconnected by the server",
                // The drivers' own reports of a dead socket.
                "onnection closed",
                "onnection reset",
                "roken pipe",
                "Input/output error",
                "unexpected end of file",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        }
        _ => false,
    }
}

/// A driver's error with every password it might quote replaced, its causes likewise: what
/// [`Error::Connect`] holds, so that walking the chain prints no secret.
#[derive(Debug)]
pub(crate) struct Scrubbed {
    message: String,
    source: Option<Box<Scrubbed>>,
}

impl Scrubbed {
    /// `error` and its chain of causes, with `secrets` replaced by `***`.
    pub(crate) fn boxed(error: &(dyn std::error::Error + 'static), secrets: &[String]) -> BoxError {
        Box::new(Self::new(error, secrets))
    }

    fn new(error: &(dyn std::error::Error + 'static), secrets: &[String]) -> Self {
        Self {
            message: crate::url::scrub(&error.to_string(), secrets),
            source: error
                .source()
                .map(|source| Box::new(Self::new(source, secrets))),
        }
    }
}

impl fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Scrubbed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lost(commit_unknown: bool) -> Error {
        Error::ConnectionLost {
            commit_unknown,
            source: DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                Box::new("gone".to_owned()),
            ),
        }
    }

    #[test]
    fn a_write_whose_outcome_is_unknown_is_never_transient() {
        assert!(lost(false).is_transient() && !lost(false).commit_unknown());
        assert!(!lost(true).is_transient() && lost(true).commit_unknown());
        let timeout = |commit_unknown| Error::Timeout {
            server: None,
            role: Role::Writer,
            after: Duration::from_secs(1),
            commit_unknown,
        };
        assert!(timeout(false).is_transient());
        assert!(!timeout(true).is_transient() && timeout(true).commit_unknown());
        assert!(
            lost(true)
                .to_string()
                .contains("may or may not have been committed")
        );
    }

    #[test]
    fn a_cause_is_printed_once_by_a_reporter() {
        let error = lost(false);
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("gone"));
        assert!(!error.to_string().contains("gone"), "{error}");
    }
}
