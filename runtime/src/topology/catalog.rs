//! The databases a crate declares, as the router builds them: one cluster each, from its
//! configuration, checked for the database's backend.

use crate::backend::Backend;
use crate::config::{DatabaseConfig, Setting};
use crate::database::Database;
use crate::error::Error;
use crate::topology::rotation::MAX_REPLICAS;
use crate::topology::{AnyCluster, Cluster};
use crate::url::ServerUrl;

/// The databases a crate declares: `databases!` generates it as `Databases`, and
/// [`Router::builder`](crate::Router::builder) takes it.
pub trait Catalog {
    #[doc(hidden)]
    fn databases() -> Vec<Declared>;
}

/// One declared database, type-erased so that a router can hold several backends.
#[doc(hidden)]
pub struct Declared {
    pub(crate) key: &'static str,
    pub(crate) build: fn(&DatabaseConfig) -> Result<Box<dyn AnyCluster>, Error>,
}

impl Declared {
    /// The entry of database `D`.
    pub fn of<D: Database>() -> Self {
        Self {
            key: D::KEY,
            build: |config| Ok(Box::new(Cluster::<D>::build(config)?)),
        }
    }
}

/// The checked URLs of a database's servers.
pub(crate) struct Servers {
    pub(crate) primary: ServerUrl,
    pub(crate) replicas: Vec<ServerUrl>,
}

impl Servers {
    /// Checks every setting of `config` for backend `B`; errors name the setting and the
    /// problem.
    pub(crate) fn of<B: Backend>(config: &DatabaseConfig, key: &str) -> Result<Self, Error> {
        let fail = |setting: Setting, problem: String| {
            Error::config(key, config.setting_name(setting), problem)
        };
        let tls = &config.tls;
        let primary = B::parse_url(&config.primary, tls).map_err(|p| fail(Setting::Url, p))?;
        let replicas = config
            .replicas
            .iter()
            .map(|url| B::parse_url(url, tls).map_err(|p| fail(Setting::ReplicaUrls, p)))
            .collect::<Result<Vec<_>, _>>()?;
        if replicas.len() > MAX_REPLICAS {
            let problem = format!(
                "names {} replicas, more than {MAX_REPLICAS}",
                replicas.len()
            );
            return Err(fail(Setting::ReplicaUrls, problem));
        }
        config.check_pool(key)?;
        B::prepare_primary(&primary).map_err(|p| fail(Setting::Url, p))?;
        Ok(Self { primary, replicas })
    }
}
