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
//! - `axum`: [`axum::SessionLayer`] and the [`axum::RequestSession`] extractor: a
//!   [`Session`] per request.

// The layers, each using only those above it: URLs and server identities, errors,
// configuration, backends, databases, topology (pools, clusters, the router), typed
// connections and their leases, the query checks, sessions, routed calls, integrations.
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
mod topology;
mod url;

#[cfg(feature = "axum")]
#[path = "integrations/axum.rs"]
pub mod axum;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use crate::backend::Backend;
#[cfg(feature = "mysql")]
pub use crate::backend::MysqlConnection;
#[cfg(feature = "postgres")]
pub use crate::backend::PgConnection;
#[cfg(feature = "sqlite")]
pub use crate::backend::SqliteConnection;
pub use crate::call::source::{ReadSource, ReadsOnly, WriteSource};
pub use crate::config::{DatabaseConfig, ReadFallback};
pub use crate::database::Database;
pub use crate::error::{BoxError, Error, Result, Role};
pub use crate::query::{InDatabase, RawSql, RunQueryDsl, raw_read, raw_write};
pub use crate::roles::{Reader, RouteReturn, TypedConnection, Writer};
pub use crate::server::Server;
pub use crate::session::Session;
pub use crate::topology::{
    Catalog, DatabaseStats, ErrorCounts, PoolStats, Router, RouterBuilder, ServerStats, Stats,
};
pub use crate::url::ServerUrl;
#[doc(inline)]
pub use diesel_route_macros::{bind, databases, route, tables};
