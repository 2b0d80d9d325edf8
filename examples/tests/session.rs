//! Request sessions through the example's data layer and its axum layer: what a session
//! checks out and when, what a handler that panics, a session dropped unended, a missing
//! layer and a failed commit leave behind.

mod common;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use axum::routing::post;
use diesel_route::axum::{RequestSession, SessionLayer};
use diesel_route::prelude::*;
use diesel_route::{Role, Router, Stats};
use diesel_route_examples::web::db;

use self::common::{App, checked_out_between, in_use, total_checkouts};

/// What `db::count_titled` finds through a writer: committed rows only, on the primary.
#[route(write)]
async fn committed_with_title(
    conn: &mut diesel_route_examples::Writer,
    title: &str,
) -> diesel_route::Result<i64> {
    db::count_titled(conn, title).await
}

/// Waits until every connection is back in its pool.
async fn all_returned(router: &Router) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = router.stats();
        if in_use(&stats) == 0 || Instant::now() > deadline {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_checks_out_each_connection_once_on_first_use() {
    let Some(app) = App::start().await else {
        return;
    };
    let router = &app.router;
    let before = router.stats();
    let mut session = router.session();
    assert_eq!(
        total_checkouts(&router.stats()),
        total_checkouts(&before),
        "none yet"
    );
    db::recent_posts(&mut session, 5).await.unwrap();
    db::recent_posts(&mut session, 5).await.unwrap();
    db::count_titled(&mut session, "x").await.unwrap();
    let reads = checked_out_between(&before, &router.stats(), "default");
    assert_eq!(reads.len(), 1, "one reader for the session: {reads:?}");
    assert_eq!((reads[0].1, reads[0].2), (Role::Reader, 1));
    assert_eq!(session.servers().len(), 1);

    // The writer replaces the reader: reads from now on see the session's writes.
    db::add_post(&mut session, "mine", false).await.unwrap();
    assert_eq!(db::count_titled(&mut session, "mine").await.unwrap(), 1);
    let servers = session.servers();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].0, Role::Writer);
    assert!(servers[0].1.is_primary());
    let used = checked_out_between(&before, &router.stats(), "default");
    assert_eq!(
        used.iter().map(|(_, _, count)| count).sum::<u64>(),
        2,
        "{used:?}"
    );
    assert_eq!(
        in_use(&router.stats()),
        1,
        "the reader went back when the writer came"
    );

    session.commit().await.unwrap();
    assert_eq!(in_use(&router.stats()), 0);
    assert_eq!(
        committed_with_title(&mut router.clone(), "mine")
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_commit_on_success_rolls_back_unless_committed() {
    let Some(app) = App::start().await else {
        return;
    };
    let mut router = app.router.clone();

    let mut session = router.session().commit_on_success();
    db::add_post(&mut session, "rolled back", false)
        .await
        .unwrap();
    session.rollback().await.unwrap();

    let mut session = router.session().commit_on_success();
    db::add_post(&mut session, "dropped", false).await.unwrap();
    drop(session);
    all_returned(&router).await;

    let mut session = router.session().commit_on_success();
    db::add_post(&mut session, "committed", false)
        .await
        .unwrap();
    session.commit().await.unwrap();

    assert_eq!(
        committed_with_title(&mut router, "rolled back")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        committed_with_title(&mut router, "dropped").await.unwrap(),
        0
    );
    assert_eq!(
        committed_with_title(&mut router, "committed")
            .await
            .unwrap(),
        1
    );
    assert_eq!(in_use(&all_returned(&router).await), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_commit_on_success_each_call_commits_as_it_ends() {
    let Some(app) = App::start().await else {
        return;
    };
    let mut router = app.router.clone();
    let mut session = router.session();
    db::add_post(&mut session, "kept", false).await.unwrap();
    session.rollback().await.unwrap();
    assert_eq!(committed_with_title(&mut router, "kept").await.unwrap(), 1);
}

/// Writes a post, then panics.
async fn write_then_panic(mut session: RequestSession) -> StatusCode {
    db::add_post(&mut session, "panicked", false).await.unwrap();
    panic!("the handler fails after its write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_commits_nothing() {
    let Some(app) = App::serve(|router| {
        axum::Router::new()
            .route("/panic", post(write_then_panic))
            .layer(SessionLayer::new(router).commit_on_success())
    })
    .await
    else {
        return;
    };
    let answer = app.try_send(Method::POST, "/panic", None).await;
    assert!(
        answer.is_err(),
        "the connection closes without an answer: {answer:?}"
    );
    let mut router = app.router.clone();
    assert_eq!(
        committed_with_title(&mut router, "panicked").await.unwrap(),
        0
    );
    assert_eq!(in_use(&all_returned(&router).await), 0);
}

async fn uses_the_session(mut session: RequestSession) -> String {
    format!(
        "{:?}",
        db::recent_posts(&mut session, 1)
            .await
            .map(|posts| posts.len())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractor_without_its_layer_says_what_is_missing() {
    let Some(app) = App::serve(|_| axum::Router::new().route("/", post(uses_the_session))).await
    else {
        return;
    };
    let (status, body) = app.send(Method::POST, "/", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body = body.as_str().unwrap_or_default().to_owned();
    assert!(body.contains("SessionLayer"), "{body}");
}

/// Two posts of one title: fine for the handler, refused at commit by a deferred unique
/// constraint.
#[cfg(feature = "postgres")]
async fn two_of_a_title(mut session: RequestSession) -> Result<StatusCode, String> {
    for _ in 0..2 {
        db::add_post(&mut session, "deferred", false)
            .await
            .map_err(|error| error.to_string())?;
    }
    Ok(StatusCode::CREATED)
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_fails_turns_the_success_into_an_error() {
    let Some(app) = App::serve(|router| {
        axum::Router::new()
            .route("/", post(two_of_a_title))
            .layer(SessionLayer::new(router).commit_on_success())
    })
    .await
    else {
        return;
    };
    let cluster = &app.backing.0;
    cluster.sql_in(
        &cluster.primary(),
        "blog",
        "ALTER TABLE posts ADD CONSTRAINT one_title UNIQUE (title) DEFERRABLE INITIALLY DEFERRED",
    );
    let (status, body) = app.send(Method::POST, "/", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(
        body,
        serde_json::json!("the request's changes could not be saved")
    );
    let mut router = app.router.clone();
    assert_eq!(
        committed_with_title(&mut router, "deferred").await.unwrap(),
        0
    );
}

/// Adds a post in a transaction of its own, then takes its time.
#[route(write, transaction)]
async fn add_post_slowly(
    conn: &mut diesel_route_examples::Writer,
    title: &str,
) -> diesel_route::Result<()> {
    db::add_post(conn, title, false).await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_interrupted_mid_transaction_makes_the_commit_roll_back() {
    let Some(app) = App::start().await else {
        return;
    };
    let mut router = app.router.clone();
    let mut session = router.session().commit_on_success();
    db::add_post(&mut session, "before", false).await.unwrap();
    let slow = add_post_slowly(&mut session, "interrupted");
    let timed_out = tokio::time::timeout(Duration::from_millis(200), slow).await;
    assert!(timed_out.is_err(), "the call is dropped half done");

    let error = session.commit().await.unwrap_err();
    assert!(
        matches!(error, diesel_route::Error::Interrupted { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("interrupted"), "{error}");
    for title in ["before", "interrupted"] {
        assert_eq!(committed_with_title(&mut router, title).await.unwrap(), 0);
    }
    assert_eq!(in_use(&all_returned(&router).await), 0);
}
