//! The web example, started in-process on a free port and driven over HTTP with a real
//! client: on a PostgreSQL primary with two streaming standbys when built with `postgres`
//! (MariaDB with `mysql` alone), on SQLite files otherwise.
//!
//! What the servers prove: reads of `GET` requests land on the replicas (the pool counters
//! say so, and a replica whose replay is paused answers without the row the primary just
//! wrote), writes of `POST` requests on the primaries, a failing request commits nothing, and
//! a request that never calls the database checks nothing out.

mod common;

use axum::http::StatusCode;
use diesel_route::Role;
use diesel_route::prelude::*;
use diesel_route_examples::web::db;
use serde_json::json;

use self::common::{App, checked_out_between, in_use, is_replica, total_checkouts};

/// Reads of the default database through a writer: what the primary has committed.
#[route(write)]
async fn committed_with_title(
    conn: &mut diesel_route_examples::Writer,
    title: &str,
) -> diesel_route::Result<i64> {
    db::count_titled(conn, title).await
}

/// Views of `analytics` through its writer.
#[route(write)]
async fn committed_views(
    conn: &mut diesel_route_examples::Writer<diesel_route_examples::analytics>,
    path: &str,
) -> diesel_route::Result<i64> {
    db::views_of(conn, path).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_calls_the_database_checks_out_nothing() {
    let Some(app) = App::start().await else {
        return;
    };
    let before = app.stats();
    assert_eq!(app.get("/health").await, (StatusCode::OK, json!("ok")));
    let (status, stats) = app.get("/debug/db").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["databases"].as_array().map(Vec::len), Some(2));
    assert_eq!(total_checkouts(&app.stats()), total_checkouts(&before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_go_to_the_primaries_and_reads_of_gets_to_replicas() {
    let Some(app) = App::start().await else {
        return;
    };

    let before = app.stats();
    let (status, post) = app
        .post("/posts", json!({"title": "first", "published": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let after = app.stats();
    // One writer per database for the whole request; its read went through the writer.
    assert_eq!(
        checked_out_between(&before, &after, "default"),
        [("primary".to_owned(), Role::Writer, 1)]
    );
    assert_eq!(
        checked_out_between(&before, &after, "analytics"),
        [("primary".to_owned(), Role::Writer, 1)]
    );
    app.backing.wait_caught_up();

    let id = post["id"].as_i64().expect("an id");
    let before = app.stats();
    for _ in 0..6 {
        let (status, page) = app.get(&format!("/posts/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["views"], 1);
        let (status, posts) = app.get("/posts").await;
        assert_eq!(status, StatusCode::OK, "{posts}");
    }
    let after = app.stats();
    for database in ["default", "analytics"] {
        let reads = checked_out_between(&before, &after, database);
        let expected = if database == "default" { 12 } else { 6 };
        assert_eq!(
            reads.iter().map(|(_, _, count)| count).sum::<u64>(),
            expected
        );
        for (server, role, _) in &reads {
            assert_eq!(*role, Role::Reader, "{database}: {reads:?}");
            if app.backing.has_replicas() {
                assert!(is_replica(server), "{database}: a GET read on {server}");
            }
        }
    }
    assert_eq!(in_use(&after), 0, "every connection back in its pool");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_the_primary_serves_gets_without_the_new_row() {
    let Some(app) = App::start().await else {
        return;
    };
    if !app.backing.has_replicas() {
        return;
    }
    app.backing.pause_replicas();
    let (status, post) = app.post("/posts", json!({"title": "unseen"})).await;
    // The POST read its post back through the primary's writer: it sees it.
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(post["title"], "unseen");
    let id = post["id"].as_i64().expect("an id");
    // The replicas have not replayed it: GETs are served by them.
    let (status, _) = app.get(&format!("/posts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.backing.resume_replicas();
    app.backing.wait_caught_up();
    let (status, page) = app.get(&format!("/posts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_commits_nothing() {
    let Some(app) = App::start().await else {
        return;
    };
    let (status, first) = app.post("/posts", json!({"title": "twice"})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let before = app.stats();
    // The handler adds the post and its view, then finds the title taken: 409.
    let (status, body) = app.post("/posts", json!({"title": "twice"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let after = app.stats();
    assert_eq!(
        checked_out_between(&before, &after, "default"),
        [("primary".to_owned(), Role::Writer, 1)],
        "the failed request wrote on the primary"
    );

    let mut router = app.router.clone();
    assert_eq!(committed_with_title(&mut router, "twice").await.unwrap(), 1);
    let second = format!("/posts/{}", first["id"].as_i64().expect("an id") + 1);
    assert_eq!(committed_views(&mut router, &second).await.unwrap(), 0);
    let first = format!("/posts/{}", first["id"]);
    assert_eq!(committed_views(&mut router, &first).await.unwrap(), 1);
    assert_eq!(in_use(&app.stats()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reads_its_own_writes_across_two_databases() {
    let Some(app) = App::start().await else {
        return;
    };
    let (status, post) = app.post("/posts", json!({"title": "viewed"})).await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    app.backing.wait_caught_up();
    let before = app.stats();
    let (status, views) = app
        .post(&format!("/posts/{}/views", post["id"]), json!({}))
        .await;
    // Counted through the writer of `analytics`, which sees the view it just wrote.
    assert_eq!((status, views), (StatusCode::OK, json!({"views": 2})));
    let after = app.stats();
    let default_reads = checked_out_between(&before, &after, "default");
    assert!(
        default_reads
            .iter()
            .all(|(_, role, _)| *role == Role::Reader)
    );
    assert_eq!(
        checked_out_between(&before, &after, "analytics"),
        [("primary".to_owned(), Role::Writer, 1)]
    );
}
