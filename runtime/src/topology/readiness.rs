//! Whether the router can serve, for a readiness probe: each database's primary pinged, its
//! replicas' place in the rotation and why those out of it are out. And, at start-up, a
//! wait for the primaries with backoff, for services that start before their database.
//!
//! A primary is pinged on a connection of its own, outside the pools (the one a replica's
//! health check uses), kept between probes: a probe every few seconds opens nothing, and a
//! full pool does not make a reachable primary look down. Replicas are not pinged here: the
//! health checks keep their rotation up to date, and the readiness reads it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::backend::Backend;
use crate::config::ReadFallback;
use crate::database::Database;
use crate::error::Error;
use crate::server::Server;
use crate::topology::server::{ServerPools, health_of};
use crate::topology::{Cluster, Router, RouterBuilder};

/// Whether the router can serve calls now: every database's primary answered a ping, and
/// reads have a server. What a Kubernetes readiness probe asks; see [`Router::readiness`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Readiness {
    /// Every database is ready.
    pub ready: bool,
    /// Why it is not, one line per problem; empty when ready.
    pub problems: Vec<String>,
    /// One entry per declared database.
    pub databases: Vec<DatabaseReadiness>,
}

/// The readiness of one database.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DatabaseReadiness {
    /// Its key.
    pub database: &'static str,
    /// Its primary answered, and its reads have a server: a replica in rotation, or the
    /// primary (no replicas, or [`ReadFallback::Primary`]).
    pub ready: bool,
    /// Its primary.
    pub primary: PrimaryReadiness,
    /// How many of its replicas take reads now.
    pub replicas_in_rotation: usize,
    /// Its replicas, in configuration order.
    pub replicas: Vec<ReplicaReadiness>,
}

/// Whether a primary answered.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PrimaryReadiness {
    /// `primary`.
    pub server: String,
    /// Its URL, without the password.
    pub url: String,
    /// It answered a ping within the database's `health_check_timeout`.
    pub reachable: bool,
    /// How long it took to answer, in milliseconds, when it did.
    pub answered_in_ms: Option<f64>,
    /// Why it is not reachable: the driver's words without the password, or no answer in
    /// time.
    pub why_unreachable: Option<String>,
}

/// Whether a replica takes reads.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ReplicaReadiness {
    /// `replica1`, `replica2`, ...
    pub server: String,
    /// Its URL, without the password.
    pub url: String,
    /// Reads may go to it.
    pub in_rotation: bool,
    /// Why it left the rotation, when it is out.
    pub why_out_of_rotation: Option<String>,
}

impl Router {
    /// Whether every database can serve: its primary pinged (within its
    /// `health_check_timeout`, all databases at once), its replicas in rotation counted.
    /// For a readiness probe: answer `503` with [`Readiness::problems`] when it is not
    /// ready.
    ///
    /// A database is ready when its primary answers and its reads have a server: a replica
    /// in rotation, or the primary when it has no replicas or may serve reads
    /// ([`ReadFallback::Primary`], the default). Replicas out of rotation are listed with
    /// the reason, but do not make a database unready while the primary may serve reads.
    pub async fn readiness(&self) -> Readiness {
        let probes = self.clusters.iter().map(|cluster| cluster.readiness());
        let databases = futures_util::future::join_all(probes).await;
        let problems = databases.iter().flat_map(DatabaseReadiness::problems);
        let problems: Vec<String> = problems.collect();
        Readiness {
            ready: problems.is_empty(),
            problems,
            databases,
        }
    }

    /// Waits until every database's primary answers a ping, trying again with backoff (from
    /// 100 ms, doubling up to 5 s) for up to `limit`. Each try that fails is logged at
    /// `warn` with the reason. For services that start with, or before, their database.
    ///
    /// # Errors
    ///
    /// [`Error::Unreachable`] naming every primary that still did not answer when `limit`
    /// passed, each with its last reason.
    pub async fn wait_for_primaries(&self, limit: Duration) -> Result<(), Error> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        let mut waited_for = false;
        loop {
            let unreachable = self.unreachable_primaries().await;
            if unreachable.is_empty() {
                if waited_for {
                    tracing::info!(waited = ?started.elapsed(), "every primary answers");
                }
                return Ok(());
            }
            let waited = started.elapsed();
            if waited >= limit {
                return Err(Error::Unreachable {
                    primaries: unreachable,
                    waited,
                });
            }
            let pause = backoff.min(limit - waited);
            for (server, why) in &unreachable {
                tracing::warn!(%server, %why, retry_in = ?pause, "waiting for a primary");
            }
            waited_for = true;
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// The primaries that do not answer a ping now, with the reason.
    async fn unreachable_primaries(&self) -> Vec<(Arc<Server>, String)> {
        let probes = self.clusters.iter().map(|cluster| async move {
            let readiness = cluster.readiness().await;
            let why = readiness.primary.why_unreachable?;
            Some((Arc::clone(cluster.primary_server()), why))
        });
        let probed = futures_util::future::join_all(probes).await;
        probed.into_iter().flatten().collect()
    }
}

impl RouterBuilder {
    /// [`build`](Self::build)s the router, then waits up to `limit` for every database's
    /// primary to answer ([`Router::wait_for_primaries`]): a service that starts before its
    /// database waits for it instead of failing its first calls.
    ///
    /// ```no_run
    /// # diesel_route::databases! { default: sqlite }
    /// # async fn start() -> Result<diesel_route::Router, diesel_route::Error> {
    /// use std::time::Duration;
    ///
    /// let router = diesel_route::Router::builder(Databases)
    ///     .with_env()
    ///     .build_waiting(Duration::from_secs(60))
    ///     .await?;
    /// # Ok(router)
    /// # }
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`build`](Self::build), and [`Error::Unreachable`] naming each primary that
    /// did not answer in time and why.
    pub async fn build_waiting(self, limit: Duration) -> Result<Router, Error> {
        let router = self.build()?;
        router.wait_for_primaries(limit).await?;
        Ok(router)
    }
}

impl DatabaseReadiness {
    /// Why the database is not ready, one line per problem.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(why) = &self.primary.why_unreachable {
            problems.push(format!(
                "the primary of database `{}` ({}) is unreachable: {why}",
                self.database, self.primary.url
            ));
        }
        if self.primary.reachable && !self.ready {
            problems.push(format!(
                "database `{}` has no replica in rotation, and its `read_fallback` keeps reads \
                 off the primary",
                self.database
            ));
        }
        problems
    }
}

/// The readiness of a cluster whose database type is erased (a supertrait of the router's
/// `AnyCluster`).
pub(crate) trait Probe {
    /// Pings the primary, and reads the replicas' rotation.
    fn readiness(&self) -> Pin<Box<dyn Future<Output = DatabaseReadiness> + Send + '_>>;
    fn primary_server(&self) -> &Arc<Server>;
}

impl<D: Database> Probe for Cluster<D> {
    fn readiness(&self) -> Pin<Box<dyn Future<Output = DatabaseReadiness> + Send + '_>> {
        Box::pin(async move {
            let options = self.options();
            let primary = self.writes_go_to();
            let answer = primary.reach(options.health_check_timeout).await;
            let replicas = self
                .servers
                .iter()
                .filter(|server| server.slot != primary.slot);
            let replicas: Vec<ReplicaReadiness> =
                replicas.map(|replica| replica.rotation()).collect();
            let replicas_in_rotation = replicas.iter().filter(|replica| replica.in_rotation);
            let replicas_in_rotation = replicas_in_rotation.count();
            let reads = replicas_in_rotation > 0
                || replicas.is_empty()
                || options.read_fallback == ReadFallback::Primary;
            DatabaseReadiness {
                database: D::KEY,
                ready: answer.is_ok() && reads,
                primary: PrimaryReadiness {
                    server: primary.server.name(),
                    url: primary.server.url().to_string(),
                    reachable: answer.is_ok(),
                    answered_in_ms: answer
                        .as_ref()
                        .ok()
                        .map(|took| took.as_micros() as f64 / 1e3),
                    why_unreachable: answer.err(),
                },
                replicas_in_rotation,
                replicas,
            }
        })
    }

    fn primary_server(&self) -> &Arc<Server> {
        &self.writes_go_to().server
    }
}

impl<D: Database> Cluster<D> {
    /// The primary, or while none is known (a failover under way) the first the
    /// configuration names.
    fn writes_go_to(&self) -> &Arc<ServerPools<D::Connection>> {
        self.primary().unwrap_or(&self.servers[0])
    }
}

impl<C: Backend> ServerPools<C> {
    /// Pings the server on the probe connection (opened if needed) within `limit`: how long
    /// it took, or why it did not answer.
    async fn reach(&self, limit: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        let no_answer = || format!("no answer within {limit:?}");
        let Ok(mut probe) = tokio::time::timeout(limit, self.probe.lock()).await else {
            return Err(no_answer());
        };
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, health_of(&mut probe, &self.server)).await {
            Ok(Ok(_)) => Ok(started.elapsed()),
            Ok(Err(error)) => {
                *probe = None;
                Err(report(&*error, &self.server))
            }
            Err(_elapsed) => {
                *probe = None;
                Err(no_answer())
            }
        }
    }

    fn rotation(&self) -> ReplicaReadiness {
        let in_rotation = self.in_rotation();
        ReplicaReadiness {
            server: self.server.name(),
            url: self.server.url().to_string(),
            in_rotation,
            why_out_of_rotation: if in_rotation {
                None
            } else {
                self.why_out.get()
            },
        }
    }
}

/// `error: cause: cause`, without the server's password.
fn report(error: &(dyn std::error::Error + 'static), server: &Server) -> String {
    crate::url::scrub(&Chain(error).to_string(), &server.url().secrets())
}

/// An error and its causes, `error: cause: cause`, as a reason to log or show: an error's
/// own message does not repeat its cause.
pub(crate) struct Chain<'e>(pub(crate) &'e (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            // Some drivers repeat their cause in their own message.
            if !text.contains(&cause_text) {
                text = format!("{text}: {cause_text}");
            }
            source = cause.source();
        }
        f.write_str(&text)
    }
}

/// Why a replica was last taken out of the rotation, without its password.
#[derive(Debug, Default)]
pub(crate) struct Why(Mutex<Option<String>>);

impl Why {
    pub(crate) fn set(&self, server: &Server, why: &dyn fmt::Display) {
        let why = crate::url::scrub(&why.to_string(), &server.url().secrets());
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
    }

    pub(crate) fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
