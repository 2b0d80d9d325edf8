//! Route Diesel queries to the right database server, checked when the program is compiled.
//!
//! Reads go to a random healthy replica, writes to the primary, and models bound to another
//! database to that database's servers. A write through a reader, or a table queried
//! through another database's connection, does not compile.
//!
//! ```
//! use diesel_route::prelude::*;
//!
//! // Once, at the root of the crate: the databases and their backends.
//! diesel_route::databases! {
//!     default: sqlite,
//! }
//!
//! diesel::table! {
//!     posts (id) {
//!         id -> Integer,
//!         title -> Text,
//!     }
//! }
//! // Tables of the default database: one line per schema.
//! diesel_route::tables!(default: posts);
//!
//! /// Runs on a replica (here: SQLite's read-only pool).
//! #[route(read)]
//! async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
//!     Ok(posts::table.select(posts::title).load(conn).await?)
//! }
//!
//! /// Runs on the primary, in a transaction.
//! #[route(write, transaction)]
//! async fn publish(conn: &mut Writer, title: &str) -> diesel_route::Result<usize> {
//!     let inserted = diesel::insert_into(posts::table)
//!         .values(posts::title.eq(title))
//!         .execute(conn)
//!         .await?;
//!     // A writer serves read functions too; they see its uncommitted rows.
//!     assert!(titles(conn).await?.contains(&title.to_owned()));
//!     Ok(inserted)
//! }
//!
//! # #[route(write)]
//! # async fn create_schema(conn: &mut Writer) -> diesel_route::Result<()> {
//! #     Ok(conn.batch_execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL)").await?)
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> diesel_route::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("app.db");
//! # let url = path.to_str().unwrap();
//! let mut router = diesel_route::Router::builder(Databases)
//!     .database("default", diesel_route::DatabaseConfig::new(url))
//!     .build()?;
//! # create_schema(&mut router).await?;
//! publish(&mut router, "hello").await?;
//! assert_eq!(titles(&mut router).await?, ["hello"]);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `sqlite` (default): SQLite with the library compiled in; a single-connection writer pool
//!   and a read-only (`mode=ro`) reader pool on one file in WAL mode.
//! - `postgres`: PostgreSQL through diesel-async (tokio-postgres).
//! - `mysql`: MySQL and MariaDB through diesel-async (mysql_async).
//! - `axum`: `axum::SessionLayer` and the `axum::RequestSession` extractor: a
//!   [`Session`] per request, and the token that lets a client's next requests read its
//!   writes (a cookie and a header).
//! - `migrations`: `Router::run_pending_migrations`, diesel's embedded migrations run on
//!   a database's primary (one migrations folder per database).
//! - `metrics`: counters, gauges and a histogram of the pools, servers and rotation
//!   through the [`metrics`](https://docs.rs/metrics) facade, named after OpenTelemetry's
//!   database client conventions: see the `metrics` module. Without it, nothing is
//!   recorded and nothing is paid.

#![cfg_attr(docsrs, feature(doc_cfg))]
// The modules are layers, each using only those below it (`tests/layers.rs` has the order):
// TLS settings, URLs and server identities, errors, configuration, backends, databases,
// topology (pools, clusters, the router), typed connections and their leases, the query
// checks, sessions, routed calls, integrations.
mod backend;
mod call;
mod config;
mod database;
mod error;
pub mod prelude;
pub mod query;
mod roles;
mod seal;
mod server;
mod session;
mod tls;
mod token;
mod topology;
mod url;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[path = "integrations/axum.rs"]
pub mod axum;

/// The metrics diesel-route records (feature `metrics`): their names, labels and meaning.
///
/// Install a recorder (`metrics-exporter-prometheus`, an OpenTelemetry bridge, ...) before
/// building the [`Router`]: each pool registers its handles when it is
/// built, and handles registered before a recorder is installed record nothing.
///
/// | metric | kind | labels | what |
/// | --- | --- | --- | --- |
/// | `db.client.connection.count` | gauge | pool, `db.client.connection.state` | connections `idle` and `used` |
/// | `db.client.connection.max` | gauge | pool | the most connections the pool opens |
/// | `db.client.connection.pending_requests` | gauge | pool | calls waiting for a connection |
/// | `db.client.connection.wait_time` | histogram, s | pool | time each successful checkout took; its count is the checkouts |
/// | `db.client.connection.timeouts` | counter | pool | checkouts that timed out on a full pool |
/// | `diesel_route.checkouts` | counter | pool | connections handed out |
/// | `diesel_route.checkout.waits` | counter | pool | checkouts that found the pool full and waited |
/// | `diesel_route.errors` | counter | pool, `error.type` | `pool_timeout`, `connect`, `connection_lost`, `timeout` |
/// | `diesel_route.calls.failed` | counter | pool | calls that failed on the pool, any error |
/// | `diesel_route.retries` | counter | pool, `reason` | reads run again (`connection_lost`, `timeout`) |
/// | `diesel_route.read_fallbacks` | counter | `database` | reads sent to the primary, no replica in rotation |
/// | `diesel_route.unavailable` | counter | `database` | calls that found no server |
/// | `diesel_route.ejections` | counter | `database`, `server` | times a replica left the rotation |
/// | `diesel_route.replica.in_rotation` | gauge | `database`, `server` | 1 in rotation, 0 out |
///
/// "pool" is the labels `db.client.connection.pool.name` (`default/replica1/reader`),
/// `database`, `server` and `role`. Counters and the histogram are recorded as things
/// happen; the gauges are set by each server's maintenance tick and by
/// [`Router::record_gauges`](crate::Router::record_gauges) (call it before a scrape for
/// values of that instant). Prometheus exporters write the names with `_`
/// (`db_client_connection_count`), and with recommended naming add `_total` to counters and
/// `_seconds` to the histogram.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics {
    pub use crate::topology::metrics::names::*;
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use crate::backend::Backend;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use crate::backend::MysqlConnection;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use crate::backend::PgConnection;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use crate::backend::SqliteConnection;
pub use crate::call::source::{ReadSource, ReadsOnly, WriteSource};
pub use crate::config::{DatabaseConfig, ReadFallback};
pub use crate::database::Database;
pub use crate::error::{BoxError, Error, Result, Role};
pub use crate::query::{InDatabase, RawSql, RunQueryDsl, raw_read, raw_write};
pub use crate::roles::{Reader, RouteReturn, TypedConnection, Writer};
pub use crate::server::{Server, ServerRole};
pub use crate::session::Session;
pub use crate::tls::{TlsMode, TlsSettings};
pub use crate::token::{NotAToken, Token};
pub use crate::topology::{
    Catalog, DatabaseReadiness, DatabaseStats, ErrorCounts, PoolStats, PrimaryReadiness, Readiness,
    ReplicaReadiness, Router, RouterBuilder, ServerStats, Stats,
};
pub use crate::url::ServerUrl;
#[doc(inline)]
pub use diesel_route_macros::{bind, databases, route, tables};
