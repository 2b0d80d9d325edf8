//! What the tests of the examples share: the app's databases (a replicated cluster of the
//! test's own, or SQLite files), an app served on a loopback port, an HTTP client, and
//! readings of the router's stats.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::http::{Method, Request, StatusCode};
use diesel_route::{Role, Router, RouterBuilder, Stats};
use diesel_route_examples::web;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The app on its databases, listening on a loopback port.
pub(crate) struct App {
    pub(crate) address: SocketAddr,
    pub(crate) router: Router,
    pub(crate) client: Client<HttpConnector, Full<axum::body::Bytes>>,
    pub(crate) backing: Backing,
}

impl App {
    /// Starts the web example on fresh databases; `None` where the servers are not
    /// installed.
    pub(crate) async fn start() -> Option<Self> {
        Self::serve(web::app).await
    }

    /// Starts `app` on the example's databases, fresh.
    pub(crate) async fn serve(app: impl FnOnce(Router) -> axum::Router) -> Option<Self> {
        // Before the router, whose pools register their metrics when built.
        web::install_metrics();
        let (backing, router) = Backing::create()?;
        web::migrate(&router).await.expect("migrations");
        backing.wait_caught_up();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("its address");
        tokio::spawn(axum::serve(listener, app(router.clone())).into_future());
        let client = Client::builder(TokioExecutor::new()).build_http();
        Some(Self {
            address,
            router,
            client,
            backing,
        })
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Sends a request; the answer's status and its body, as JSON when it is.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.try_send(method, path, body).await.expect("an answer")
    }

    /// Sends a request; `Err` when the connection closed without an answer.
    pub(crate) async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), String> {
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.address))
            .header("content-type", "application/json")
            .body(Full::from(
                body.map(|body| body.to_string()).unwrap_or_default(),
            ))
            .expect("a request");
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Ok((status, body))
    }

    /// `GET path` with an `Accept` header: the status, the content type and the body.
    pub(crate) async fn get_accepting(
        &self,
        path: &str,
        accept: &str,
    ) -> (StatusCode, String, String) {
        let request = Request::builder()
            .uri(format!("http://{}{path}", self.address))
            .header("accept", accept)
            .body(Full::default())
            .expect("a request");
        let response = self.client.request(request).await.expect("an answer");
        let status = response.status();
        let content_type = response.headers().get("content-type");
        let content_type = content_type.map_or("", |value| value.to_str().unwrap_or(""));
        let content_type = content_type.to_owned();
        let body = response.into_body().collect().await.expect("a body");
        let body = String::from_utf8_lossy(&body.to_bytes()).into_owned();
        (status, content_type, body)
    }

    pub(crate) fn stats(&self) -> Stats {
        self.router.stats()
    }
}

/// A sample's labels and value.
type Sample = (BTreeMap<String, String>, f64);

/// One scrape of `GET /metrics`: each sample by its name and labels as written.
pub(crate) struct Scrape(BTreeMap<String, Sample>);

impl Scrape {
    pub(crate) async fn of(app: &App) -> Self {
        let (status, body) = app.get("/metrics").await;
        assert_eq!(status, StatusCode::OK);
        let Value::String(text) = body else {
            panic!("Prometheus text, not {body}");
        };
        Self(text.lines().filter_map(sample).collect())
    }

    /// The sum of the samples of `name` whose labels include `labels`.
    pub(crate) fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching = self.0.iter().filter(|(key, (found, _))| {
            key.split('{').next() == Some(name)
                && labels
                    .iter()
                    .all(|(label, value)| found.get(*label).map(String::as_str) == Some(*value))
        });
        matching.map(|(_, (_, value))| value).sum()
    }
}

/// `name{label="value",...} 12` → (`name{...}`, (labels, 12.0)).
fn sample(line: &str) -> Option<(String, Sample)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (key, value) = line.rsplit_once(' ')?;
    let labels = key
        .split_once('{')
        .map(|(_, labels)| labels.trim_end_matches('}'))
        .unwrap_or("");
    let labels = labels
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(label, value)| (label.to_owned(), value.trim_matches('"').to_owned()))
        .collect();
    Some((key.to_owned(), (labels, value.parse().ok()?)))
}

/// Checkouts of every pool of `database`, as (server, role) → count.
pub(crate) fn checkouts(stats: &Stats, database: &str) -> Vec<(String, Role, u64)> {
    stats
        .databases
        .iter()
        .filter(|db| db.database == database)
        .flat_map(|db| &db.servers)
        .flat_map(|server| {
            server
                .pools
                .iter()
                .map(|pool| (server.server.clone(), pool.role, pool.checkouts))
        })
        .collect()
}

/// How many checkouts each pool of `database` made between two snapshots, the pools that
/// made none left out: `[("replica1", Reader, 2), ...]`.
pub(crate) fn checked_out_between(
    before: &Stats,
    after: &Stats,
    database: &str,
) -> Vec<(String, Role, u64)> {
    let before = checkouts(before, database);
    checkouts(after, database)
        .into_iter()
        .zip(before)
        .map(|((server, role, after), (_, _, before))| (server, role, after - before))
        .filter(|(_, _, count)| *count > 0)
        .collect()
}

pub(crate) fn total_checkouts(stats: &Stats) -> u64 {
    let pools = stats.databases.iter().flat_map(|db| &db.servers);
    pools
        .flat_map(|server| &server.pools)
        .map(|pool| pool.checkouts)
        .sum()
}

pub(crate) fn in_use(stats: &Stats) -> usize {
    let pools = stats.databases.iter().flat_map(|db| &db.servers);
    pools
        .flat_map(|server| &server.pools)
        .map(|pool| pool.in_use)
        .sum()
}

pub(crate) fn is_replica(server: &str) -> bool {
    server.starts_with("replica")
}

/// The databases behind one test: a replicated cluster of its own, or SQLite files.
#[cfg(feature = "postgres")]
pub(crate) struct Backing(pub(crate) harness::PgCluster);

#[cfg(all(feature = "mysql", not(feature = "postgres")))]
pub(crate) struct Backing(pub(crate) harness::MariaDbCluster);

#[cfg(not(any(feature = "postgres", feature = "mysql")))]
pub(crate) struct Backing {
    _files: tempfile::TempDir,
}

impl Backing {
    /// Fresh databases and a router to them; `None` where the servers are not installed.
    pub(crate) fn create() -> Option<(Self, Router)> {
        let (backing, builder) = Self::prepare()?;
        Some((backing, builder.build().expect("a router")))
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
impl Backing {
    /// Fresh databases, and a router builder configured with them.
    pub(crate) fn prepare() -> Option<(Self, RouterBuilder)> {
        #[cfg(feature = "postgres")]
        let cluster = harness::pg_cluster_or_skip(2)?;
        #[cfg(not(feature = "postgres"))]
        let cluster = harness::mariadb_cluster_or_skip(2)?;
        let config = |name: &str| {
            let (primary, replicas) = cluster.create_database(name);
            diesel_route::DatabaseConfig::new(primary).replicas(replicas)
        };
        let builder = Router::builder(diesel_route_examples::Databases)
            .database("default", config("blog"))
            .database("analytics", config("analytics"));
        Some((Self(cluster), builder))
    }

    pub(crate) fn has_replicas(&self) -> bool {
        true
    }

    /// Stops the server named `name` (`primary`, `replica2`) cleanly; `false` where there is
    /// no server to stop.
    pub(crate) fn stop(&self, name: &str) -> bool {
        self.0.stop(&self.server(name), harness::Stop::Fast);
        true
    }

    /// Starts the server named `name` again, and waits until it serves.
    pub(crate) fn restart(&self, name: &str) {
        self.0.restart(&self.server(name));
    }

    fn server(&self, name: &str) -> harness::ServerRef {
        let servers = self.0.servers().into_iter();
        let mut named = servers.filter(|server| server.name == name);
        named.next().unwrap_or_else(|| panic!("no server `{name}`"))
    }

    pub(crate) fn wait_caught_up(&self) {
        self.0.wait_caught_up();
    }

    /// Stops the replicas applying what they receive.
    pub(crate) fn pause_replicas(&self) {
        #[cfg(feature = "postgres")]
        let pause = "SELECT pg_wal_replay_pause()";
        #[cfg(not(feature = "postgres"))]
        let pause = "STOP SLAVE SQL_THREAD";
        for replica in self.0.replicas() {
            self.0.sql(&replica, pause);
        }
    }

    pub(crate) fn resume_replicas(&self) {
        #[cfg(feature = "postgres")]
        let resume = "SELECT pg_wal_replay_resume()";
        #[cfg(not(feature = "postgres"))]
        let resume = "START SLAVE SQL_THREAD";
        for replica in self.0.replicas() {
            self.0.sql(&replica, resume);
        }
    }
}

#[cfg(not(any(feature = "postgres", feature = "mysql")))]
impl Backing {
    pub(crate) fn prepare() -> Option<(Self, RouterBuilder)> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let builder = Router::builder(diesel_route_examples::Databases)
            .database(
                "default",
                diesel_route::DatabaseConfig::new(file("blog.db")),
            )
            .database(
                "analytics",
                diesel_route::DatabaseConfig::new(file("analytics.db")),
            );
        Some((Self { _files: dir }, builder))
    }

    pub(crate) fn has_replicas(&self) -> bool {
        false
    }

    pub(crate) fn stop(&self, _name: &str) -> bool {
        false
    }

    pub(crate) fn restart(&self, _name: &str) {}

    pub(crate) fn wait_caught_up(&self) {}

    pub(crate) fn pause_replicas(&self) {}

    pub(crate) fn resume_replicas(&self) {}
}
