//! The application under test, and the cluster and router of each case.

use std::collections::BTreeSet;
use std::ops::Deref;
use std::time::Duration;

use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, DatabaseStats, Router, raw_read};
use harness::ServerRef;

use super::{Cluster, Db, IDENTITY, KEY, SCHEMA};
use crate::support::{Identity, Ran, blocking, database_stats};
use crate::{Databases, Reader, Writer};

/// Which server and session a read ran on.
#[route(read)]
pub(crate) async fn whoami(conn: &mut Reader<Db>) -> diesel_route::Result<Ran> {
    let identity: Identity = raw_read(diesel::sql_query(IDENTITY))
        .get_result(conn)
        .await?;
    Ok(Ran::new(conn.server(), identity))
}

/// Holds its connection for `hold` (in the server), then says where it ran.
#[route(read)]
pub(crate) async fn whoami_after(
    conn: &mut Reader<Db>,
    hold: Duration,
) -> diesel_route::Result<Ran> {
    raw_read(diesel::sql_query(super::sleep_sql(hold)))
        .execute(conn)
        .await?;
    whoami(conn).await
}

/// Inserts a mark and says where it ran.
#[route(write)]
pub(crate) async fn write_mark(conn: &mut Writer<Db>, note: &str) -> diesel_route::Result<Ran> {
    diesel::sql_query(format!("INSERT INTO marks (note) VALUES ('{note}')"))
        .execute(conn)
        .await?;
    let identity: Identity = diesel::sql_query(IDENTITY).get_result(conn).await?;
    Ok(Ran::new(conn.server(), identity))
}

/// Holds the writer for `hold` (in the server), then inserts a mark.
#[route(write)]
pub(crate) async fn write_mark_after(
    conn: &mut Writer<Db>,
    note: &str,
    hold: Duration,
) -> diesel_route::Result<Ran> {
    diesel::sql_query(super::sleep_sql(hold))
        .execute(conn)
        .await?;
    write_mark(conn, note).await
}

#[route(write)]
async fn create_schema(conn: &mut Writer<Db>) -> diesel_route::Result<()> {
    Ok(conn.batch_execute(SCHEMA).await?)
}

/// A router to the primary and replicas at `urls`, configured by `configure`.
fn router_to(
    (primary, replicas): &(String, Vec<String>),
    configure: impl FnOnce(DatabaseConfig) -> DatabaseConfig,
) -> Router {
    let config = configure(DatabaseConfig::new(primary).replicas(replicas));
    let (unused_key, unused) = super::unused_database();
    Router::builder(Databases)
        .database(KEY, config)
        .database(unused_key, unused)
        .build()
        .expect("a valid configuration")
}

/// The cluster of a case: the shared one, or one of its own, stopped when the case ends.
pub(crate) enum Servers {
    Shared(&'static Cluster),
    Own(Box<Cluster>),
}

impl Deref for Servers {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        match self {
            Servers::Shared(cluster) => cluster,
            Servers::Own(cluster) => cluster,
        }
    }
}

/// A case's cluster, its database with table `marks`, and a router to it.
pub(crate) struct App {
    pub(crate) cluster: Servers,
    pub(crate) router: Router,
    /// The database of the case.
    pub(crate) db: String,
    /// The URLs of its primary and replicas, with the password.
    pub(crate) urls: (String, Vec<String>),
}

impl App {
    /// On the shared cluster, in database `name` of its own; `None` where the server is not
    /// installed (the harness says so, or fails under `CI=true`).
    pub(crate) async fn shared(
        name: &str,
        configure: impl FnOnce(DatabaseConfig) -> DatabaseConfig,
    ) -> Option<App> {
        let cluster = super::shared_cluster()?;
        let urls = blocking(|| cluster.create_database(name));
        App::build(Servers::Shared(cluster), name, urls, configure).await
    }

    /// On a cluster of its own, in database `app`, after `prepare` ran on the cluster.
    pub(crate) async fn own(
        prepare: impl FnOnce(&Cluster),
        configure: impl FnOnce(DatabaseConfig) -> DatabaseConfig,
    ) -> Option<App> {
        let cluster = blocking(|| {
            let cluster = super::own_cluster()?;
            prepare(&cluster);
            Some(cluster)
        })?;
        let urls = (cluster.primary_url(), cluster.replica_urls());
        App::build(Servers::Own(Box::new(cluster)), "app", urls, configure).await
    }

    async fn build(
        cluster: Servers,
        db: &str,
        (primary, replicas): (String, Vec<String>),
        configure: impl FnOnce(DatabaseConfig) -> DatabaseConfig,
    ) -> Option<App> {
        let primary = super::with_password(&primary);
        let replicas: Vec<String> = replicas
            .iter()
            .map(|url| super::with_password(url))
            .collect();
        let urls = (primary, replicas);
        let mut router = router_to(&urls, configure);
        create_schema(&mut router).await.expect("the schema");
        blocking(|| cluster.wait_caught_up());
        Some(App {
            cluster,
            router,
            db: db.to_owned(),
            urls,
        })
    }

    /// Another router to the case's database, configured by `configure`.
    pub(crate) fn router_with(
        &self,
        configure: impl FnOnce(DatabaseConfig) -> DatabaseConfig,
    ) -> Router {
        router_to(&self.urls, configure)
    }

    /// The router's stats of the case's database.
    pub(crate) fn stats(&self) -> DatabaseStats {
        database_stats(&self.router.stats(), KEY)
    }

    /// `sql` run on `server` in the case's database, past the router.
    pub(crate) fn sql(&self, server: &ServerRef, sql: &str) -> String {
        blocking(|| super::sql_in(&self.cluster, server, &self.db, sql))
    }

    /// The server named `name`.
    pub(crate) fn server(&self, name: &str) -> ServerRef {
        self.cluster
            .servers()
            .into_iter()
            .find(|server| server.name == name)
            .unwrap_or_else(|| panic!("no server `{name}`"))
    }

    /// The application user's sessions on `server` in the case's database.
    pub(crate) fn sessions(&self, server: &ServerRef) -> BTreeSet<i64> {
        blocking(|| super::app_sessions_in(&self.cluster, server, &self.db))
    }

    /// Reads until each replica has answered one, at most `tries` reads; where each ran.
    pub(crate) async fn read_every_replica(&mut self, tries: usize) -> Vec<Ran> {
        let mut seen: Vec<Ran> = Vec::new();
        for _ in 0..tries {
            let ran = whoami(&mut self.router).await.expect("a read");
            if !seen.iter().any(|each| each.server == ran.server) {
                seen.push(ran);
            }
            if seen.len() == self.cluster.replicas().len() {
                break;
            }
        }
        seen.sort_by(|a, b| a.server.cmp(&b.server));
        seen
    }
}
