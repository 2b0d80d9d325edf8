//! Declared databases: the marker types `databases!` generates, and their catalog.

use crate::backend::Backend;
use crate::config::DatabaseConfig;
use crate::error::Error;
use crate::topology::Cluster;

/// A database declared with [`databases!`](crate::databases): a primary and its replicas,
/// all of one backend.
///
/// `databases!` implements it for a marker type named after the key, which is how the rest
/// of the program names the database: `Reader<analytics>`, `Writer<analytics>`.
pub trait Database: Send + Sync + 'static {
    /// The key: `"default"`, or another name given to `databases!`. Configuration, `#[bind]`
    /// and traces use it.
    const KEY: &'static str;

    /// The connection type of its backend.
    type Connection: Backend;
}

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
    pub(crate) build: fn(&DatabaseConfig) -> Result<Box<dyn crate::topology::AnyCluster>, Error>,
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
