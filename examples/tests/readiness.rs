//! `GET /ready` of the web example and `Router::wait_for_primaries`, on real servers: the
//! route turns `503`, with the reason, when the primary is stopped, and `200` again when it
//! is back; a router waits for a primary that comes back, and names the primaries that do
//! not. On SQLite (no server to stop) only the ready half runs.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;

use self::common::{App, Backing};

/// `GET /ready` until it answers `status`, for up to `limit`; the last body.
async fn ready_until(app: &App, status: StatusCode, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (answered, body) = app.get("/ready").await;
        if answered == status {
            return body;
        }
        assert!(
            started.elapsed() < limit,
            "`/ready` still answers {answered}, not {status}, after {limit:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readiness_route_turns_unready_while_the_primary_is_down() {
    let Some(app) = App::start().await else {
        return;
    };
    let (status, body) = app.get("/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["problems"], serde_json::json!([]));
    let databases = body["databases"].as_array().expect("databases");
    assert_eq!(databases.len(), 2);
    let replicas = if app.backing.has_replicas() { 2 } else { 0 };
    for database in databases {
        assert_eq!(database["primary"]["reachable"], true, "{database}");
        assert_eq!(database["replicas_in_rotation"], replicas, "{database}");
    }

    if !app.backing.stop("primary") {
        println!("SKIPPED: stopping the primary needs a server (build with `postgres` or `mysql`)");
        return;
    }
    let body = ready_until(
        &app,
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(body["ready"], false);
    let problems = body["problems"].to_string();
    for database in ["default", "analytics"] {
        let primary = format!("the primary of database `{database}`");
        assert!(problems.contains(&primary), "{problems}");
    }
    assert!(problems.contains("unreachable"), "{problems}");
    let primary = &body["databases"][0]["primary"];
    assert_eq!(primary["reachable"], false);
    assert!(
        primary["why_unreachable"]
            .as_str()
            .is_some_and(|why| !why.is_empty())
    );
    // The replicas still serve reads.
    assert_eq!(body["databases"][0]["replicas_in_rotation"], 2, "{body}");

    app.backing.restart("primary");
    let body = ready_until(&app, StatusCode::OK, Duration::from_secs(10)).await;
    assert_eq!(body["ready"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_waits_for_its_primaries_and_names_those_that_stay_down() {
    let Some(app) = App::start().await else {
        return;
    };
    app.router
        .wait_for_primaries(Duration::from_secs(5))
        .await
        .expect("the primaries answer");
    if !app.backing.stop("primary") {
        println!("SKIPPED: stopping the primary needs a server (build with `postgres` or `mysql`)");
        return;
    }

    let started = Instant::now();
    let error = app
        .router
        .wait_for_primaries(Duration::from_millis(800))
        .await
        .expect_err("the primary is down");
    assert!(started.elapsed() >= Duration::from_millis(800));
    let diesel_route::Error::Unreachable { primaries, .. } = &error else {
        panic!("not `Unreachable`: {error}");
    };
    let databases: Vec<&str> = primaries
        .iter()
        .map(|(server, _)| server.database())
        .collect();
    assert_eq!(databases, ["default", "analytics"]);
    let message = error.to_string();
    assert!(
        message.contains("the primary of database `default`"),
        "{message}"
    );
    assert!(error.is_transient());

    // The primary comes back while the router waits for it.
    let router = app.router.clone();
    let started = Instant::now();
    let waiting =
        tokio::spawn(async move { router.wait_for_primaries(Duration::from_secs(30)).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !waiting.is_finished(),
        "the router waits while the primary is down"
    );
    tokio::task::block_in_place(|| app.backing.restart("primary"));
    let waited = waiting.await.expect("the wait ends");
    waited.expect("the primary answers once it is back");
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

/// Built while the primaries are down, the router waits for them: it is returned once they
/// answer, not before. On SQLite, whose files answer at once, it is returned at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_waiting_returns_a_router_once_its_primaries_answer() {
    let Some((backing, builder)) = Backing::prepare() else {
        return;
    };
    let primary_was_down = backing.stop("primary");
    let restarting = async {
        if primary_was_down {
            // Time passing: the router tries, and is refused, for a while.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let restarted_from = Instant::now();
            tokio::task::block_in_place(|| backing.restart("primary"));
            Some(restarted_from)
        } else {
            None
        }
    };
    let building = async {
        let router = builder.build_waiting(Duration::from_secs(60)).await;
        (router, Instant::now())
    };
    let ((router, built_at), restarted_from) = tokio::join!(building, restarting);
    let router = router.expect("the primaries answer once they are back");
    if let Some(restarted_from) = restarted_from {
        assert!(
            built_at >= restarted_from,
            "built before the primary was started again"
        );
    }
    let readiness = router.readiness().await;
    assert!(readiness.ready, "{:?}", readiness.problems);
}
