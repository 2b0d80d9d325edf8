//! A database's cluster: one primary and its replicas, and the choice of which serves a call.

use std::any::Any;
use std::sync::Arc;

use crate::backend::Backend;
use crate::config::{DatabaseConfig, PoolOptions, ReadFallback};
use crate::database::Database;
use crate::error::{Error, Role};
use crate::topology::server::ServerPools;
use crate::topology::{Checkout, Server, ServerKind};

pub(crate) struct Cluster<D: Database> {
    primary: ServerPools<D::Connection>,
    replicas: Box<[ServerPools<D::Connection>]>,
    options: Arc<PoolOptions>,
}

impl<D: Database> Cluster<D> {
    /// Validates the configuration and builds the pools; no connection is opened yet.
    pub(crate) fn build(config: &DatabaseConfig) -> Result<Self, Error> {
        let servers = config.validate::<D::Connection>(D::KEY)?;
        let options = Arc::new(config.pool.clone());
        let server = |kind, url| Server::new(D::KEY, kind, D::Connection::NAME, url);
        let replicas = servers.replicas.into_iter().enumerate();
        Ok(Self {
            primary: ServerPools::new(server(ServerKind::Primary, servers.primary), &options),
            replicas: replicas
                .map(|(index, url)| {
                    ServerPools::new(server(ServerKind::Replica(index + 1), url), &options)
                })
                .collect(),
            options,
        })
    }

    /// The primary's identity.
    #[cfg_attr(not(feature = "migrations"), allow(dead_code))]
    pub(crate) fn primary(&self) -> &Arc<Server> {
        &self.primary.server
    }

    /// A writer: always the primary.
    pub(crate) async fn writer(&self) -> Result<Checkout<D::Connection>, Error> {
        self.primary.checkout(Role::Writer).await
    }

    /// A reader: a replica in rotation picked at random, else the primary when the fallback
    /// policy allows it (or when there are no replicas at all).
    pub(crate) async fn reader(&self) -> Result<Checkout<D::Connection>, Error> {
        match self.pick_replica() {
            Some(replica) => replica.checkout(Role::Reader).await,
            None => self.read_fallback()?.checkout(Role::Reader).await,
        }
    }

    /// The server a read would go to now, without checking a connection out.
    pub(crate) fn pick_reader(&self) -> Result<&Arc<Server>, Error> {
        match self.pick_replica() {
            Some(replica) => Ok(&replica.server),
            None => self.read_fallback().map(|primary| &primary.server),
        }
    }

    fn pick_replica(&self) -> Option<&ServerPools<D::Connection>> {
        let in_rotation = || self.replicas.iter().filter(|replica| replica.in_rotation());
        match in_rotation().count() {
            0 => None,
            count => in_rotation().nth(fastrand::usize(..count)),
        }
    }

    fn read_fallback(&self) -> Result<&ServerPools<D::Connection>, Error> {
        if self.replicas.is_empty() || self.options.read_fallback == ReadFallback::Primary {
            Ok(&self.primary)
        } else {
            Err(Error::NoServerAvailable {
                database: D::KEY,
                role: Role::Reader,
            })
        }
    }
}

/// A cluster whose database type is erased, so that one router holds databases of
/// different backends.
pub(crate) trait AnyCluster: Any + Send + Sync {}

impl<D: Database> AnyCluster for Cluster<D> {}
