//! `GET /metrics` of the web example while real faults happen on a replicated cluster: a
//! query that fails, a read whose session is killed mid-statement (run again elsewhere),
//! replicas whose replay is paused (their lag grows), replicas stopped (they leave the
//! rotation) and reads with no replica left (they fall back to the primary). Each moves its
//! metric by what it did.
//!
//! One test in a binary of its own, as `metrics.rs`: the recorder is global to the process.
//! It needs servers: built without `postgres` or `mysql`, it has no test.

#![cfg(any(feature = "postgres", feature = "mysql"))]

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use diesel_route::prelude::*;
use diesel_route::raw_read;
use diesel_route_examples::Reader;
use serde_json::json;

use self::common::{App, Scrape};

#[cfg(feature = "postgres")]
const SLEEP: &str = "SELECT pg_sleep(2)";
#[cfg(not(feature = "postgres"))]
const SLEEP: &str = "SELECT SLEEP(2)";

/// The application session running [`SLEEP`] on a server.
#[cfg(feature = "postgres")]
const SLEEPER: &str = "SELECT pid FROM pg_stat_activity \
    WHERE usename = 'app' AND query = 'SELECT pg_sleep(2)'";
#[cfg(not(feature = "postgres"))]
const SLEEPER: &str = "SELECT id FROM information_schema.PROCESSLIST \
    WHERE user = 'app' AND info = 'SELECT SLEEP(2)'";

/// Holds a replica's session for two seconds; the server it ended on.
#[route(read)]
async fn sleep_on_a_replica(conn: &mut Reader) -> diesel_route::Result<String> {
    raw_read(diesel::sql_query(SLEEP)).execute(conn).await?;
    Ok(conn.server().name())
}

/// A query the database refuses.
#[route(read)]
async fn query_a_missing_table(conn: &mut Reader) -> diesel_route::Result<usize> {
    let query = diesel::sql_query("SELECT * FROM no_such_table");
    Ok(raw_read(query).execute(conn).await?)
}

/// The server a read ran on.
#[route(read)]
async fn read_somewhere(conn: &mut Reader) -> diesel_route::Result<String> {
    raw_read(diesel::sql_query("SELECT 1"))
        .execute(conn)
        .await?;
    Ok(conn.server().name())
}

/// Polls `check` until it gives `Some`, for up to `limit`; panics with `what` after.
async fn wait_for<T, F: Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn harness<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

/// Whether replica `name` of `default` is in the read rotation, as the router says.
fn in_rotation(app: &App, name: &str) -> bool {
    let stats = app.stats();
    let database = stats.database("default").expect("default's stats");
    database
        .server(name)
        .expect("the replica's stats")
        .in_rotation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_move_their_metrics() {
    let Some(mut app) = App::start().await else {
        return;
    };
    a_query_error_is_a_failed_call_not_a_lost_connection(&mut app).await;
    a_read_killed_mid_statement_is_retried(&mut app).await;
    a_paused_replica_shows_a_growing_lag(&app).await;
    stopped_replicas_are_ejected_and_reads_fall_back(&mut app).await;
}

async fn a_query_error_is_a_failed_call_not_a_lost_connection(app: &mut App) {
    let before = Scrape::of(app).await;
    let error = query_a_missing_table(&mut app.router).await.unwrap_err();
    assert!(matches!(error, diesel_route::Error::Query(_)), "{error:?}");
    let after = Scrape::of(app).await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);
    let reader = [("database", "default"), ("role", "reader")];
    assert_eq!(moved("diesel_route_calls_failed_total", &reader), 1.0);
    assert_eq!(moved("diesel_route_errors_total", &[]), 0.0);
    assert_eq!(moved("diesel_route_retries_total", &[]), 0.0);
}

async fn a_read_killed_mid_statement_is_retried(app: &mut App) {
    let before = Scrape::of(app).await;
    let mut router = app.router.clone();
    let read = tokio::spawn(async move { sleep_on_a_replica(&mut router).await });
    let cluster = &app.backing.0;
    let (killed, session) = wait_for("the read's session", Duration::from_secs(30), || {
        let found = harness(|| {
            cluster.replicas().into_iter().find_map(|replica| {
                let session = cluster.sql(&replica, SLEEPER);
                let session = session.lines().next()?.trim().parse().ok()?;
                Some((replica, session))
            })
        });
        async move { found }
    })
    .await;
    assert!(harness(|| cluster.terminate_session(&killed, session)));
    let ran_on = read.await.expect("the read's task");
    let ran_on = ran_on.expect("the read, run again elsewhere");
    assert_ne!(
        ran_on, killed.name,
        "the read ran again on the server that killed it"
    );

    let after = Scrape::of(app).await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);
    let pool = format!("default/{}/reader", killed.name);
    let killed_pool = [("db_client_connection_pool_name", pool.as_str())];
    let lost = [killed_pool[0], ("error_type", "connection_lost")];
    assert_eq!(moved("diesel_route_errors_total", &lost), 1.0, "{pool}");
    let retried = [killed_pool[0], ("reason", "connection_lost")];
    assert_eq!(moved("diesel_route_retries_total", &retried), 1.0, "{pool}");
    assert_eq!(moved("diesel_route_retries_total", &[]), 1.0);
    // A replica whose connection a call loses leaves the rotation until its next check.
    let ejected = [("database", "default"), ("server", killed.name.as_str())];
    assert_eq!(moved("diesel_route_ejections_total", &ejected), 1.0);
}

async fn a_paused_replica_shows_a_growing_lag(app: &App) {
    let lag = |scrape: &Scrape| {
        let replica = [("database", "default"), ("server", "replica1")];
        scrape.sum("diesel_route_replica_lag_seconds", &replica)
    };
    harness(|| app.backing.pause_replicas());
    // The primary moves on; the paused replica does not follow.
    let (status, post) = app.post("/posts", json!({"title": "unseen"})).await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let first = wait_for("a lag", Duration::from_secs(30), || async {
        let lag = lag(&Scrape::of(app).await);
        (lag > 0.0).then_some(lag)
    })
    .await;
    // Its lag grows at each health check while replay stays paused.
    wait_for("a growing lag", Duration::from_secs(30), || async {
        (lag(&Scrape::of(app).await) > first).then_some(())
    })
    .await;
    harness(|| app.backing.resume_replicas());
    harness(|| app.backing.wait_caught_up());
    wait_for("the lag to end", Duration::from_secs(30), || async {
        (lag(&Scrape::of(app).await) == 0.0).then_some(())
    })
    .await;
}

async fn stopped_replicas_are_ejected_and_reads_fall_back(app: &mut App) {
    wait_for("both replicas in rotation", Duration::from_secs(30), || {
        let both = in_rotation(app, "replica1") && in_rotation(app, "replica2");
        async move { both.then_some(()) }
    })
    .await;
    let before = Scrape::of(app).await;
    for replica in ["replica1", "replica2"] {
        assert!(harness(|| app.backing.stop(replica)));
    }
    wait_for(
        "both replicas out of rotation",
        Duration::from_secs(30),
        || {
            let out = !in_rotation(app, "replica1") && !in_rotation(app, "replica2");
            async move { out.then_some(()) }
        },
    )
    .await;
    let ran_on = read_somewhere(&mut app.router).await.expect("a read");
    assert_eq!(ran_on, "primary");

    let after = Scrape::of(app).await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);
    for replica in ["replica1", "replica2"] {
        let labels = [("database", "default"), ("server", replica)];
        assert_eq!(
            moved("diesel_route_ejections_total", &labels),
            1.0,
            "{replica}"
        );
        assert_eq!(after.sum("diesel_route_replica_in_rotation", &labels), 0.0);
    }
    let fallbacks = [("database", "default")];
    assert_eq!(moved("diesel_route_read_fallbacks_total", &fallbacks), 1.0);
}
