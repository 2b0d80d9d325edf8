//! Deadlines beyond a call's own: a request session's end (its `COMMIT`, its rollback) and
//! the calls made through the axum extractor end by the database's deadline when the primary
//! freezes (`SIGSTOP`), instead of waiting for it to thaw.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use diesel_route::axum::{RequestSession, SessionLayer};
use diesel_route::{Error, Role};
use tower::ServiceExt;

use super::common::{App, write_mark};
use crate::support::{blocking, unless_hung};

/// The write deadline of the cases.
const DEADLINE: Duration = Duration::from_millis(800);

/// What an end may take beyond its deadline on a loaded two-core machine.
const SLACK: Duration = Duration::from_millis(600);

/// How long the primary stays frozen: far beyond the deadline, so that a wait for the thaw
/// shows.
const FROZEN: Duration = Duration::from_secs(6);

async fn app_with_deadline() -> Option<App> {
    let configure = |config: diesel_route::DatabaseConfig| config.write_timeout(Some(DEADLINE));
    App::own(|_| {}, configure).await
}

/// Runs `end` with the primary frozen for [`FROZEN`] from its start; its output and how long
/// it took.
async fn with_primary_frozen<T>(app: &App, end: impl Future<Output = T>) -> (T, Duration) {
    let primary = app.server("primary");
    blocking(|| app.cluster.freeze(&primary));
    let began = Instant::now();
    let thaw = async {
        tokio::time::sleep(FROZEN).await;
    };
    let output = tokio::select! {
        output = unless_hung(Duration::from_secs(30), end) => output,
        () = thaw => panic!("the end waited for the primary to thaw ({FROZEN:?})"),
    };
    let took = began.elapsed();
    blocking(|| app.cluster.thaw(&primary));
    (output, took)
}

fn assert_timed_out_on_the_primary(error: &Error, commit_unknown: bool, took: Duration) {
    let Error::Timeout {
        role,
        commit_unknown: reported,
        server,
        after,
    } = error
    else {
        panic!("expected a timeout, got {error:?}");
    };
    assert_eq!(
        (*role, *reported, *after),
        (Role::Writer, commit_unknown, DEADLINE),
        "{error}"
    );
    assert!(
        server
            .as_ref()
            .is_some_and(|server| server.is_configured_primary()),
        "{error}"
    );
    assert!(took >= DEADLINE && took < DEADLINE + SLACK, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_commit_on_a_frozen_primary_ends_by_its_deadline_and_may_have_committed() {
    let Some(mut app) = app_with_deadline().await else {
        return;
    };
    let mut session = app.router.session().commit_on_success();
    write_mark(&mut session, "in_session")
        .await
        .expect("the session's write");

    let (result, took) = with_primary_frozen(&app, session.commit()).await;
    let error = result.expect_err("the primary froze under the commit");
    eprintln!("commit: {error} after {took:?}");
    // The `COMMIT` went out: the server may act on it when it thaws.
    assert_timed_out_on_the_primary(&error, true, took);

    // The abandoned connection is never handed out again: the next write runs.
    let ran = write_mark(&mut app.router, "after")
        .await
        .expect("a write after the thaw");
    assert_eq!(ran.server, "primary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_rollback_on_a_frozen_primary_ends_by_its_deadline() {
    let Some(mut app) = app_with_deadline().await else {
        return;
    };
    let mut session = app.router.session().commit_on_success();
    write_mark(&mut session, "rolled_back")
        .await
        .expect("the session's write");

    let (result, took) = with_primary_frozen(&app, session.rollback()).await;
    eprintln!("rollback: {result:?} after {took:?}");
    // Nothing to report: the server rolls back as the abandoned connection closes.
    assert!(result.is_ok(), "{result:?}");
    assert!(took >= DEADLINE && took < DEADLINE + SLACK, "took {took:?}");
    let primary = app.server("primary");
    let count = "SELECT count(*) FROM marks WHERE note = 'rolled_back'";
    let rolled_back = || app.sql(&primary, count) == "0";
    let waited = Instant::now();
    // The server notices the closed connection once it thaws; until then the row is
    // invisible anyway (never committed).
    while !rolled_back() && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rolled_back(), "the rolled back mark is not there");
    write_mark(&mut app.router, "after")
        .await
        .expect("a write after the thaw");
}

/// An axum app whose `POST /mark` writes a mark through the request's session, committed
/// when the response succeeds; a failed call answers 503 with the error.
fn web(router: diesel_route::Router) -> axum::Router {
    async fn mark(mut session: RequestSession) -> (StatusCode, String) {
        match write_mark(&mut session, "web").await {
            Ok(ran) => (StatusCode::CREATED, ran.server),
            Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
        }
    }
    axum::Router::new()
        .route("/mark", post(mark))
        .layer(SessionLayer::new(router).commit_on_success())
}

async fn post_mark(web: &axum::Router) -> (StatusCode, String) {
    let request = Request::post("/mark").body(Body::empty()).unwrap();
    let response = web.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_through_the_axum_extractor_ends_by_its_deadline_on_a_frozen_primary() {
    let Some(app) = app_with_deadline().await else {
        return;
    };
    let web = web(app.router.clone());
    assert_eq!(post_mark(&web).await.0, StatusCode::CREATED);

    let ((status, body), took) = with_primary_frozen(&app, post_mark(&web)).await;
    eprintln!("through the extractor: {status} {body} after {took:?}");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("timed out"), "{body}");
    assert!(took >= DEADLINE && took < DEADLINE + SLACK, "took {took:?}");

    assert_eq!(
        post_mark(&web).await.0,
        StatusCode::CREATED,
        "after the thaw"
    );
}
