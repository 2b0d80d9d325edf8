//! Who serves a call: the [`Router`] holds one cluster per declared database, a cluster
//! holds a primary and its replicas, and each server has its pools.

mod catalog;
mod cluster;
mod discovery;
mod freshness;
pub(crate) mod metrics;
#[cfg(feature = "migrations")]
mod migrations;
mod pool;
mod readiness;
mod rotation;
mod router;
mod server;
mod stats;
mod watchdog;

pub use self::catalog::{Catalog, Declared};
pub(crate) use self::cluster::{AnyCluster, Cluster};
pub(crate) use self::pool::{Checkout, Fate, Pooled};
pub use self::readiness::{DatabaseReadiness, PrimaryReadiness, Readiness, ReplicaReadiness};
pub(crate) use self::rotation::{OnReplica, Rotation};
pub use self::router::{Router, RouterBuilder};
pub use self::stats::{DatabaseStats, ErrorCounts, PoolStats, ServerStats, Stats};
pub use self::watchdog::Deadline;
pub(crate) use self::watchdog::Registration;
