//! `GET /metrics` of the web example, scraped before and after a known set of requests: the
//! counters move by exactly the checkouts and failures those requests made, the histogram
//! counts the same checkouts, and the gauges agree with `Router::stats()`.
//!
//! One test in a binary of its own: the recorder is global to the process, and tests run in
//! parallel would move each other's counters.

mod common;

use axum::http::StatusCode;
use serde_json::json;

use self::common::{App, Scrape};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_move_by_the_calls_the_requests_made() {
    let Some(app) = App::start().await else {
        return;
    };
    let before = Scrape::of(&app).await;
    let stats_before = app.stats();

    // A writer of each database, once.
    let (status, post) = app.post("/posts", json!({"title": "counted"})).await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    app.backing.wait_caught_up();
    // A reader of `default`, five times.
    for _ in 0..5 {
        assert_eq!(app.get("/posts").await.0, StatusCode::OK);
    }
    // A reader of `default` whose call fails (no such post), twice.
    for _ in 0..2 {
        assert_eq!(app.get("/posts/999999").await.0, StatusCode::NOT_FOUND);
    }

    let after = Scrape::of(&app).await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);
    let default_writer = [("database", "default"), ("role", "writer")];
    let default_reader = [("database", "default"), ("role", "reader")];
    let analytics_writer = [("database", "analytics"), ("role", "writer")];
    assert_eq!(moved("diesel_route_checkouts_total", &default_writer), 1.0);
    assert_eq!(
        moved("diesel_route_checkouts_total", &analytics_writer),
        1.0
    );
    assert_eq!(moved("diesel_route_checkouts_total", &default_reader), 7.0);
    assert_eq!(moved("diesel_route_checkouts_total", &[]), 9.0);
    // The histogram counts the same checkouts.
    let wait_time = "db_client_connection_wait_time_seconds_count";
    assert_eq!(moved(wait_time, &default_reader), 7.0);
    assert_eq!(moved(wait_time, &[]), 9.0);
    assert!(
        after.sum(
            "db_client_connection_wait_time_seconds_bucket",
            &[("le", "+Inf")]
        ) >= 9.0
    );
    // The two reads of a missing post failed; nothing else did, and nothing broke.
    assert_eq!(
        moved("diesel_route_calls_failed_total", &default_reader),
        2.0
    );
    assert_eq!(moved("diesel_route_calls_failed_total", &[]), 2.0);
    assert_eq!(moved("diesel_route_errors_total", &[]), 0.0);
    assert_eq!(moved("db_client_connection_timeouts_total", &[]), 0.0);
    assert_eq!(moved("diesel_route_retries_total", &[]), 0.0);

    // The counters agree with the router's own stats, pool by pool.
    let stats = app.stats();
    for database in &stats.databases {
        for server in &database.servers {
            for pool in &server.pools {
                let name = format!("{}/{}/{}", database.database, server.server, pool.role);
                let pool_label = [("db_client_connection_pool_name", name.as_str())];
                let counted = after.sum("diesel_route_checkouts_total", &pool_label);
                assert_eq!(counted, pool.checkouts as f64, "checkouts of {name}");
                let failed = after.sum("diesel_route_calls_failed_total", &pool_label);
                assert_eq!(
                    failed, pool.errors.failed_calls as f64,
                    "failures of {name}"
                );
                let max = after.sum("db_client_connection_max", &pool_label);
                assert_eq!(max, pool.max_size as f64, "max of {name}");
                let used = [pool_label[0], ("db_client_connection_state", "used")];
                assert_eq!(
                    after.sum("db_client_connection_count", &used),
                    0.0,
                    "{name}"
                );
                let idle = [pool_label[0], ("db_client_connection_state", "idle")];
                let idle = after.sum("db_client_connection_count", &idle);
                assert_eq!(idle, pool.idle as f64, "idle connections of {name}");
            }
        }
        if app.backing.has_replicas() {
            let replicas = database.servers.len() - 1;
            let database = [("database", database.database)];
            let in_rotation = after.sum("diesel_route_replica_in_rotation", &database);
            assert_eq!(in_rotation, replicas as f64);
        }
    }
    let checkouts = |stats: &diesel_route::Stats| common::total_checkouts(stats) as f64;
    assert_eq!(checkouts(&stats) - checkouts(&stats_before), 9.0);
}
