//! One server of a cluster: who it is (for errors, traces and callers) and its pools.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::backend::Backend;
use crate::config::{PoolOptions, ServerUrl};
use crate::error::{Error, Role};
use crate::topology::pool::{self, Checkout};

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

/// A server and its pools: read-only sessions for readers, and on the primary read-write
/// sessions for writers.
pub(crate) struct ServerPools<C: Backend> {
    pub(crate) server: Arc<Server>,
    reader: pool::Pool<C>,
    writer: Option<pool::Pool<C>>,
    in_rotation: AtomicBool,
}

impl<C: Backend> ServerPools<C> {
    pub(crate) fn new(server: Server, options: &Arc<PoolOptions>) -> Self {
        let server = Arc::new(server);
        let writer = server
            .is_primary()
            .then(|| pool::build::<C>(&server, Role::Writer, options));
        Self {
            reader: pool::build::<C>(&server, Role::Reader, options),
            writer,
            in_rotation: AtomicBool::new(true),
            server,
        }
    }

    pub(crate) async fn checkout(&self, role: Role) -> Result<Checkout<C>, Error> {
        let pool = match role {
            Role::Reader => &self.reader,
            Role::Writer => self.writer.as_ref().unwrap_or(&self.reader),
        };
        pool::checkout(pool, &self.server, role).await
    }

    /// Whether reads may be sent to it; health checks take a failing replica out.
    pub(crate) fn in_rotation(&self) -> bool {
        self.in_rotation.load(Ordering::Relaxed)
    }
}
