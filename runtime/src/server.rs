//! Who a server is: its database, its place in the cluster, its backend and URL. Errors,
//! traces and callers name servers by it; the pools that serve it are in `topology`.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::url::ServerUrl;

/// A database server: a primary (or a candidate for it) or one of the replicas of a
/// database.
///
/// Printed as `replica 2 of database `default` (postgres://app@10.0.0.7:5432/app)`, the
/// password never shown. [`Reader::server`](crate::Reader::server) and
/// [`Writer::server`](crate::Writer::server) tell which server a call is on.
///
/// Its name says where it stands in the configuration; its [`role`](Self::role), what it
/// was last seen to be: after a failover, `replica1` may be the primary.
pub struct Server {
    database: &'static str,
    kind: ServerKind,
    backend: &'static str,
    url: ServerUrl,
    role: AtomicU8,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("database", &self.database)
            .field("name", &self.name())
            .field("backend", &self.backend)
            .field("url", &self.url)
            .field("role", &self.role())
            .finish()
    }
}

/// Where a server stands in the configuration: the primary (one of several candidates,
/// numbered from 1, when the primary's URL names several hosts), or the n-th replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerKind {
    Primary(Option<usize>),
    Replica(usize),
}

/// What a server was last seen to be, by a health check or by a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ServerRole {
    /// It accepts writes.
    Primary,
    /// It replays a primary's changes and refuses writes.
    Replica,
    /// It refuses writes but replays no primary's changes (its primary is gone, or it
    /// follows one that is no longer the primary): its data only gets older.
    Detached,
    /// It did not answer.
    Down,
}

impl ServerRole {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Primary,
            1 => Self::Replica,
            2 => Self::Detached,
            _ => Self::Down,
        }
    }

    /// `"primary"`, `"replica"`, `"detached"` or `"down"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Replica => "replica",
            Self::Detached => "detached",
            Self::Down => "down",
        }
    }
}

impl Server {
    pub(crate) fn new(
        database: &'static str,
        kind: ServerKind,
        backend: &'static str,
        url: ServerUrl,
    ) -> Self {
        // Until checked, a server is what the configuration says.
        let role = match kind {
            ServerKind::Primary(_) => ServerRole::Primary,
            ServerKind::Replica(_) => ServerRole::Replica,
        };
        Self {
            database,
            kind,
            backend,
            url,
            role: AtomicU8::new(role as u8),
        }
    }

    /// What the server was last seen to be: until a health check says otherwise, what the
    /// configuration says.
    pub fn role(&self) -> ServerRole {
        ServerRole::from_u8(self.role.load(Ordering::Relaxed))
    }

    /// Records what the server was seen to be; whether that changed it.
    pub(crate) fn set_role(&self, role: ServerRole) -> bool {
        self.role.swap(role as u8, Ordering::Relaxed) != role as u8
    }

    /// Whether the configuration names it as the primary (or a candidate for it).
    pub fn is_configured_primary(&self) -> bool {
        matches!(self.kind, ServerKind::Primary(_))
    }

    /// The key of the database it belongs to.
    pub fn database(&self) -> &'static str {
        self.database
    }

    /// Whether it is the primary of its database: it was last seen accepting writes (or,
    /// before any check, the configuration says so).
    pub fn is_primary(&self) -> bool {
        self.role() == ServerRole::Primary
    }

    /// Its number among the replicas of the configuration, from 1; `None` for a primary.
    pub fn replica_number(&self) -> Option<usize> {
        match self.kind {
            ServerKind::Primary(_) => None,
            ServerKind::Replica(number) => Some(number),
        }
    }

    /// Its name in the configuration: `"primary"` (`"primary1"`, `"primary2"`, ... when the
    /// primary's URL names several hosts), `"replica1"`, `"replica2"`, ...
    pub fn name(&self) -> String {
        match self.kind {
            ServerKind::Primary(None) => "primary".into(),
            ServerKind::Primary(Some(number)) => format!("primary{number}"),
            ServerKind::Replica(number) => format!("replica{number}"),
        }
    }

    /// `"postgres"`, `"mysql"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Its URL; printing it hides the password.
    pub fn url(&self) -> &ServerUrl {
        &self.url
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ServerKind::Primary(None) => f.write_str("the primary")?,
            ServerKind::Primary(Some(number)) => write!(f, "primary candidate {number}")?,
            ServerKind::Replica(number) => write!(f, "replica {number}")?,
        }
        write!(f, " of database `{}` ({})", self.database, self.url)
    }
}
