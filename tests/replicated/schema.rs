//! The application under test, the same on every backend, and each test's databases on the
//! shared cluster. What differs per backend (the cluster, the schema's SQL, how a server
//! tells who it is) comes from the binary's `backend` module.

use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router, raw_read};
use harness::ServerRef;

pub(crate) use crate::backend::url_as;
use crate::backend::{self, Cluster, IDENTITY, Identity, SCHEMA};
use crate::{Databases, Reader, Writer, other};

diesel::table! {
    items (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> Integer,
        kind -> Text,
    }
}

diesel_route::tables!(default: items);

/// Lives in database `other` only.
#[derive(Queryable, Selectable, Debug, PartialEq)]
#[diesel(table_name = events)]
#[bind("other")]
pub(crate) struct Event {
    pub(crate) id: i32,
    pub(crate) kind: String,
}

/// Where a routed call ran: the server the router says, and the server's own answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Ran {
    pub(crate) routed_to: String,
    pub(crate) routed_port: Option<u16>,
    pub(crate) identity: Identity,
}

impl Ran {
    /// Checks that the router's word and the server's agree; returns the server.
    pub(crate) fn server(&self, cluster: &Cluster) -> ServerRef {
        let server = self.identity.server(cluster);
        assert_eq!(
            (self.routed_to.as_str(), self.routed_port),
            (server.name.as_str(), Some(server.port))
        );
        server
    }
}

#[route(read)]
pub(crate) async fn whoami(conn: &mut Reader) -> diesel_route::Result<Ran> {
    let identity = raw_read(diesel::sql_query(IDENTITY))
        .get_result(conn)
        .await?;
    Ok(Ran {
        routed_to: conn.server().name(),
        routed_port: conn.server().url().port(),
        identity,
    })
}

#[route(read)]
pub(crate) async fn whoami_in_other(conn: &mut Reader<other>) -> diesel_route::Result<Ran> {
    let identity = raw_read(diesel::sql_query(IDENTITY))
        .get_result(conn)
        .await?;
    Ok(Ran {
        routed_to: conn.server().name(),
        routed_port: conn.server().url().port(),
        identity,
    })
}

#[route(write)]
pub(crate) async fn insert_item(conn: &mut Writer, name: &str) -> diesel_route::Result<Ran> {
    diesel::insert_into(items::table)
        .values(items::name.eq(name))
        .execute(conn)
        .await?;
    let identity = diesel::sql_query(IDENTITY).get_result(conn).await?;
    Ok(Ran {
        routed_to: conn.server().name(),
        routed_port: conn.server().url().port(),
        identity,
    })
}

#[route(read)]
pub(crate) async fn item_names(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(items::table
        .select(items::name)
        .order(items::id)
        .load(conn)
        .await?)
}

#[route(write)]
async fn create_schema(conn: &mut Writer) -> diesel_route::Result<()> {
    Ok(conn.batch_execute(SCHEMA).await?)
}

#[route(write)]
async fn create_other_schema(conn: &mut Writer<other>) -> diesel_route::Result<()> {
    Ok(conn.batch_execute(SCHEMA).await?)
}

/// A test's two databases on the shared cluster, `NAME` for `default` and `NAME_other` for
/// `other`, each with the schema, replicated to the replicas.
pub(crate) struct App {
    pub(crate) cluster: &'static Cluster,
    pub(crate) router: Router,
    /// The database of `default`.
    pub(crate) db: String,
    /// The database of `other`.
    pub(crate) other_db: String,
    /// The primary's and the replicas' URLs of the database of `default`.
    pub(crate) urls: (String, Vec<String>),
    /// The primary's and the replicas' URLs of the database of `other`.
    pub(crate) other_urls: (String, Vec<String>),
}

impl App {
    /// The cluster every test shares, or `None` as in [`App::start`].
    pub(crate) fn shared_cluster() -> Option<&'static Cluster> {
        backend::shared_cluster()
    }

    /// `None` where the servers are missing (the harness says so, or fails under `CI=true`).
    pub(crate) async fn start(name: &str) -> Option<App> {
        App::start_with(name, |config| config).await
    }

    /// Like [`App::start`], with `configure` applied to both databases' configuration.
    pub(crate) async fn start_with(
        name: &str,
        configure: impl Fn(DatabaseConfig) -> DatabaseConfig,
    ) -> Option<App> {
        let cluster = App::shared_cluster()?;
        let other_db = format!("{name}_other");
        let urls = cluster.create_database(name);
        let other_urls = cluster.create_database(&other_db);
        let config = |(primary, replicas): &(String, Vec<String>)| {
            configure(DatabaseConfig::new(primary).replicas(replicas))
        };
        let mut router = Router::builder(Databases)
            .database("default", config(&urls))
            .database("other", config(&other_urls))
            .build()
            .expect("a valid configuration");
        create_schema(&mut router).await.expect("the schema");
        create_other_schema(&mut router)
            .await
            .expect("the schema of `other`");
        cluster.wait_caught_up();
        Some(App {
            cluster,
            router,
            db: name.to_owned(),
            other_db,
            urls,
            other_urls,
        })
    }

    /// `sql` run as the superuser on `server` in the database of `default`, past the router.
    pub(crate) fn sql(&self, server: &ServerRef, sql: &str) -> String {
        backend::sql_in(self.cluster, server, &self.db, sql)
    }

    /// `sql` run as the superuser on `server` in the database of `other`, past the router.
    pub(crate) fn sql_in_other(&self, server: &ServerRef, sql: &str) -> String {
        backend::sql_in(self.cluster, server, &self.other_db, sql)
    }
}
