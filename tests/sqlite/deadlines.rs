//! Deadlines: a call that outlives `read_timeout` or `write_timeout` ends with
//! `Error::Timeout` (a read after one more attempt), saying whether a write may have
//! committed; and a router keeps its deadlines on a runtime other than the one it was built
//! on, after that one is gone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel_route::prelude::*;
use diesel_route::{Error, Role, Router};

use crate::schema::{App, count_in_file, insert_item, router_in};
use crate::{Reader, Writer};

const DEADLINE: Duration = Duration::from_millis(300);

/// How much later than its deadline a call may end here: timer lateness on a loaded machine
/// (two cores running other test binaries). Far below the 30 s the bodies hang for, so that
/// only the deadline can have ended them.
const SLACK: Duration = Duration::from_secs(2);

/// Inserts an item, then takes longer than any deadline.
#[route(write)]
async fn insert_then_hang(conn: &mut Writer, name: &str) -> diesel_route::Result<()> {
    insert_item(conn, name).await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(())
}

#[route(write, transaction)]
async fn insert_then_hang_in_transaction(
    conn: &mut Writer,
    name: &str,
) -> diesel_route::Result<()> {
    insert_then_hang(conn, name).await
}

/// Takes longer than any deadline, counting its attempts.
#[route(read)]
async fn hang(conn: &mut Reader, attempts: Arc<AtomicUsize>) -> diesel_route::Result<()> {
    attempts.fetch_add(1, Ordering::SeqCst);
    let _ = conn.server();
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(())
}

fn assert_timeout(
    error: &Error,
    role: Role,
    commit_unknown: bool,
    took: Duration,
    deadline: Duration,
) {
    let Error::Timeout {
        role: reported_role,
        commit_unknown: reported,
        after,
        ..
    } = error
    else {
        panic!("expected a timeout, got {error:?}");
    };
    assert_eq!(
        (*reported_role, *reported, *after),
        (role, commit_unknown, DEADLINE),
        "{error}"
    );
    assert!(took >= deadline && took < deadline + SLACK, "took {took:?}");
}

#[tokio::test]
async fn a_write_past_its_deadline_fails_saying_whether_it_may_have_committed() {
    let app = App::with(|config| config.write_timeout(Some(DEADLINE))).await;
    let mut router = app.router.clone();

    let started = Instant::now();
    let error = insert_then_hang(&mut router, "outside").await.unwrap_err();
    assert_timeout(&error, Role::Writer, true, started.elapsed(), DEADLINE);
    assert_eq!(
        count_in_file(&app.app_db, "items"),
        1,
        "committed before the hang"
    );

    let started = Instant::now();
    let error = insert_then_hang_in_transaction(&mut router, "inside")
        .await
        .unwrap_err();
    assert_timeout(&error, Role::Writer, false, started.elapsed(), DEADLINE);
    // The abandoned connection is dropped, which rolls its transaction back.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count_in_file(&app.app_db, "items"), 1, "rolled back");

    // The pool goes on with a new connection.
    insert_item(&mut router, "after").await.unwrap();
}

#[tokio::test]
async fn a_read_past_its_deadline_runs_once_more_then_fails() {
    let app = App::with(|config| config.read_timeout(Some(DEADLINE))).await;
    let mut router = app.router.clone();
    let attempts = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let error = hang(&mut router, Arc::clone(&attempts)).await.unwrap_err();
    assert_timeout(&error, Role::Reader, false, started.elapsed(), DEADLINE * 2);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[test]
fn deadlines_hold_on_a_runtime_other_than_the_routers_first() {
    let dir = tempfile::tempdir().unwrap();
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Built inside the first runtime, which starts its tasks there. (Its pooled
    // connections would die with that runtime too: none is opened before it is gone.)
    let router: Router = first
        .block_on(async { router_in(dir.path(), |config| config.write_timeout(Some(DEADLINE))) });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    second.block_on(async {
        let mut router = router;
        create(&mut router).await.unwrap();
        let started = Instant::now();
        let error =
            tokio::time::timeout(Duration::from_secs(10), insert_then_hang(&mut router, "x"))
                .await
                .expect("the deadline fired")
                .unwrap_err();
        assert_timeout(&error, Role::Writer, true, started.elapsed(), DEADLINE);
    });
}

#[route(write)]
async fn create(conn: &mut Writer) -> diesel_route::Result<()> {
    Ok(conn
        .batch_execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .await?)
}
