//! A session that dies while its `COMMIT` is in flight (PostgreSQL): the primary waits for a
//! synchronous standby that never answers, so every commit hangs until its session is
//! terminated, and is then durable locally. The caller must hear "outcome unknown", never
//! "rolled back", whether the commit was the call's own, an autocommit statement's, or a
//! request session's; and a call whose deadline passes while its `COMMIT` waits says so too.

use std::time::{Duration, Instant};

use diesel_route::Error;
use diesel_route::prelude::*;

use super::Db;
use super::common::{App, write_mark};
use crate::Writer;
use crate::support::{blocking, unless_hung, within};

/// Inserts a mark in a transaction of its own, whose `COMMIT` then waits.
#[route(write, transaction)]
async fn mark_in_transaction(conn: &mut Writer<Db>, note: &str) -> diesel_route::Result<()> {
    write_mark(conn, note).await?;
    Ok(())
}

/// Terminates the application session whose commit waits for a standby, once there is one.
async fn terminate_waiting_commit(app: &App) {
    let waiting =
        "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND usename = 'app'";
    let primary = app.server("primary");
    let pid = within(Duration::from_secs(20), || {
        let pid = app.sql(&primary, waiting);
        pid.lines()
            .next()
            .and_then(|pid| pid.trim().parse::<u32>().ok())
    })
    .await
    .map(|(_, pid)| pid)
    .expect("a commit waiting for the standby");
    assert!(blocking(|| app.cluster.terminate_session(&primary, pid)));
}

/// Runs `call` while commits hang, terminates its session once its commit waits, and returns
/// its error; then lets commits go, and counts the rows of `note`.
async fn terminated_in_commit<T: std::fmt::Debug>(
    app: &App,
    note: &str,
    call: impl Future<Output = diesel_route::Result<T>>,
) -> (Error, String) {
    let (result, ()) = tokio::join!(
        unless_hung(Duration::from_secs(30), call),
        terminate_waiting_commit(app)
    );
    let error = result.expect_err("its session was terminated");
    let primary = app.server("primary");
    let count = format!("SELECT count(*) FROM marks WHERE note = '{note}'");
    (error, app.sql(&primary, &count))
}

fn assert_unknown(error: &Error, what: &str) {
    assert!(
        matches!(
            error,
            Error::ConnectionLost {
                commit_unknown: true,
                ..
            }
        ),
        "{what}: expected ConnectionLost {{ commit_unknown: true }}, got {error:?}"
    );
    assert!(!error.is_transient(), "{what}: a retry could write twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_in_flight_when_its_session_dies_is_reported_unknown_never_rolled_back() {
    let Some(app) = App::own(|_| {}, |config| config).await else {
        return;
    };
    blocking(|| app.cluster.hold_commits());

    for n in 1..=3 {
        let note = format!("own_{n}");
        let mut router = app.router.clone();
        let (error, rows) =
            terminated_in_commit(&app, &note, mark_in_transaction(&mut router, &note)).await;
        assert_unknown(&error, "the call's own transaction");
        assert_eq!(rows, "1", "the commit took effect locally");

        let note = format!("autocommit_{n}");
        let (error, rows) = terminated_in_commit(&app, &note, write_mark(&mut router, &note)).await;
        assert_unknown(&error, "an autocommit statement");
        assert_eq!(rows, "1");

        let note = format!("session_{n}");
        let mut session = router.session().commit_on_success();
        write_mark(&mut session, &note)
            .await
            .expect("the request's write, before its commit");
        let (error, rows) = terminated_in_commit(&app, &note, session.commit()).await;
        assert_unknown(&error, "a request session's commit");
        assert_eq!(rows, "1");
    }
    blocking(|| app.cluster.release_commits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_that_passes_while_the_commit_waits_reports_the_outcome_unknown() {
    let deadline = Duration::from_millis(800);
    let Some(app) = App::own(|_| {}, |config| config.write_timeout(Some(deadline))).await else {
        return;
    };
    blocking(|| app.cluster.hold_commits());
    let mut router = app.router.clone();
    let began = Instant::now();
    let result = unless_hung(
        Duration::from_secs(20),
        mark_in_transaction(&mut router, "late"),
    )
    .await;
    let took = began.elapsed();
    blocking(|| app.cluster.release_commits());
    let error = result.expect_err("the commit never got its answer in time");
    eprintln!("{error} after {took:?}");
    assert!(
        matches!(
            error,
            Error::Timeout {
                commit_unknown: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        took < deadline + Duration::from_millis(400),
        "took {took:?}"
    );
}
