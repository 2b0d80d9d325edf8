//! The application under test, and each test's databases on the shared cluster.

use diesel::sql_types::{BigInt, Text};
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router, raw_read};
use harness::{MariaDbCluster, ServerRef};

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

const SCHEMA: &str = "
    CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL);
    CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, kind VARCHAR(200) NOT NULL);
    CREATE SEQUENCE item_seq;
";

/// Which server answered a query, as the server itself says.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    #[diesel(sql_type = BigInt)]
    pub(crate) server_id: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) port: i64,
    #[diesel(sql_type = BigInt)]
    pub(crate) read_only: i64,
    #[diesel(sql_type = Text)]
    pub(crate) database: String,
}

const IDENTITY: &str = "SELECT CAST(@@server_id AS SIGNED) AS server_id, \
                        CAST(@@port AS SIGNED) AS port, \
                        CAST(@@read_only AS SIGNED) AS read_only, DATABASE() AS `database`";

impl Identity {
    /// The harness's name for the server, checking what the server says of itself.
    pub(crate) fn server(&self, cluster: &MariaDbCluster) -> ServerRef {
        let id = u32::try_from(self.server_id).expect("a server id");
        let server = cluster.server_by_id(id).expect("a server of the cluster");
        assert_eq!(i64::from(server.port), self.port, "{self:?}");
        assert_eq!(self.read_only == 1, !server.is_primary, "{self:?}");
        server
    }
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
    pub(crate) fn server(&self, cluster: &MariaDbCluster) -> ServerRef {
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

/// `mysql://USER:PASSWORD@127.0.0.1:PORT/app`.
pub(crate) fn url_as(user: &str, password: &str, port: u16) -> String {
    format!("mysql://{user}:{password}@127.0.0.1:{port}/app")
}

/// A test's two databases on the shared cluster, `NAME` for `default` and `NAME_other` for
/// `other`, each with the schema, replicated to the replicas.
pub(crate) struct App {
    pub(crate) cluster: &'static MariaDbCluster,
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
    pub(crate) fn shared_cluster() -> Option<&'static MariaDbCluster> {
        harness::shared_mariadb_cluster_or_skip()
    }

    /// `None` where MariaDB is missing (the harness says so, or fails under `CI=true`).
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

    /// `sql` run as root on `server` in the database of `default`, past the router.
    pub(crate) fn sql(&self, server: &ServerRef, sql: &str) -> String {
        self.cluster
            .sql(server, &format!("USE {};\n{sql}", self.db))
    }

    /// `sql` run as root on `server` in the database of `other`, past the router.
    pub(crate) fn sql_in_other(&self, server: &ServerRef, sql: &str) -> String {
        self.cluster
            .sql(server, &format!("USE {};\n{sql}", self.other_db))
    }
}
