//! Who a server is: its database, its place in the cluster, its backend and URL. Errors,
//! traces and callers name servers by it; the pools that serve it are in `topology`.

use std::fmt;

use crate::url::ServerUrl;

/// A database server: the primary or one of the replicas of a database.
///
/// Printed as `replica 2 of database `default` (postgres://app@10.0.0.7:5432/app)`, the
/// password never shown. [`Reader::server`](crate::Reader::server) and
/// [`Writer::server`](crate::Writer::server) tell which server a call is on.
#[derive(Debug)]
pub struct Server {
    database: &'static str,
    kind: ServerKind,
    backend: &'static str,
    url: ServerUrl,
}

/// The primary, or the n-th replica (from 1, in configuration order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerKind {
    Primary,
    Replica(usize),
}

impl Server {
    pub(crate) fn new(
        database: &'static str,
        kind: ServerKind,
        backend: &'static str,
        url: ServerUrl,
    ) -> Self {
        Self {
            database,
            kind,
            backend,
            url,
        }
    }

    /// The key of the database it belongs to.
    pub fn database(&self) -> &'static str {
        self.database
    }

    /// Whether it is the primary of its database.
    pub fn is_primary(&self) -> bool {
        self.kind == ServerKind::Primary
    }

    /// Its number among the replicas, from 1 in configuration order; `None` for the primary.
    pub fn replica_number(&self) -> Option<usize> {
        match self.kind {
            ServerKind::Primary => None,
            ServerKind::Replica(number) => Some(number),
        }
    }

    /// `"primary"`, `"replica1"`, `"replica2"`, ...
    pub fn name(&self) -> String {
        match self.kind {
            ServerKind::Primary => "primary".into(),
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
            ServerKind::Primary => f.write_str("the primary")?,
            ServerKind::Replica(number) => write!(f, "replica {number}")?,
        }
        write!(f, " of database `{}` ({})", self.database, self.url)
    }
}
