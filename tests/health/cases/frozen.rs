//! Servers frozen (`SIGSTOP`) rather than down: connections stay open and nothing answers,
//! so only deadlines end the calls. A read that misses its deadline runs again on another
//! server, and its replica leaves the rotation at once; a health check that gets no answer
//! takes a frozen replica out by itself; a write that misses its deadline fails with
//! `Error::Timeout`, saying whether it may have been committed. Every call ends within its
//! deadline, plus the margin a loaded two-core machine needs. A read waiting on a replica
//! that a health check takes out of the rotation does not wait for its deadline: it runs
//! again elsewhere at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel_route::prelude::*;
use diesel_route::{Error, Role, raw_read};
use tokio::sync::{mpsc, oneshot};

use super::common::{App, whoami, write_mark};
use super::{Db, sleep_sql};
use crate::support::{Ran, blocking, pool_stats, server_stats, unless_hung, within};
use crate::{Reader, Writer};

/// The deadline of the cases' calls.
const DEADLINE: Duration = Duration::from_millis(800);

/// What a call may take beyond its deadline here: the timer's own lateness on a loaded
/// machine, and the abandoned attempt's clean-up. The promise is 100 ms; the margin is wider
/// so that a busy CI machine does not fail the case, and the time taken is printed.
const SLACK: Duration = Duration::from_millis(400);

/// Reports where it runs on `first` on its first attempt, then holds its connection in the
/// server for a while (time for the test to freeze that server); returns at once on the next.
#[route(read)]
async fn read_frozen_once(
    conn: &mut Reader<Db>,
    attempts: Arc<AtomicUsize>,
    first: mpsc::UnboundedSender<Ran>,
) -> diesel_route::Result<(usize, Ran)> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    let ran = whoami(conn).await?;
    if attempt == 1 {
        let _ = first.send(ran.clone());
        raw_read(diesel::sql_query(sleep_sql(Duration::from_millis(300))))
            .execute(conn)
            .await?;
    }
    Ok((attempt, ran))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_on_a_replica_that_freezes_ends_by_its_deadline_and_runs_again_elsewhere() {
    let configure = |config: diesel_route::DatabaseConfig| {
        config
            .read_timeout(Some(DEADLINE))
            .health_check_interval(Duration::from_secs(60))
    };
    let Some(app) = App::own(|_| {}, configure).await else {
        return;
    };
    let mut router = app.router.clone();
    let attempts = Arc::new(AtomicUsize::new(0));
    let (first, mut first_ran) = mpsc::unbounded_channel();
    let started = Instant::now();
    let call = read_frozen_once(&mut router, Arc::clone(&attempts), first);
    let freeze = async {
        let ran = first_ran.recv().await.expect("the first attempt's server");
        blocking(|| app.cluster.freeze(&app.server(&ran.server)));
        ran
    };
    let (result, frozen) = tokio::join!(unless_hung(Duration::from_secs(20), call), freeze);
    let took = started.elapsed();
    let (attempt, ran) = result.unwrap_or_else(|e| panic!("the read failed: {e:?}"));
    blocking(|| app.cluster.thaw(&app.server(&frozen.server)));
    eprintln!("the read ended {took:?} after it began (deadline {DEADLINE:?})");

    assert_eq!(attempt, 2, "ran again after the deadline");
    assert_ne!(ran.server, frozen.server, "ran again on the frozen server");
    assert!(took < DEADLINE + SLACK, "took {took:?}");
    let stats = app.stats();
    let frozen_stats = server_stats(&stats, &frozen.server);
    assert!(!frozen_stats.in_rotation, "{stats:?}");
    let reader = pool_stats(&frozen_stats, Role::Reader);
    assert_eq!(reader.errors.timeouts, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_replica_leaves_the_rotation_within_a_health_check_and_reads_go_on() {
    let interval = Duration::from_millis(500);
    let configure = |config: diesel_route::DatabaseConfig| {
        config
            .read_timeout(Some(DEADLINE))
            .health_check_interval(interval)
            .health_check_timeout(interval)
    };
    let Some(mut app) = App::own(|_| {}, configure).await else {
        return;
    };
    assert_eq!(app.read_every_replica(200).await.len(), 2);
    let replica1 = app.server("replica1");
    blocking(|| app.cluster.freeze(&replica1));
    let frozen_at = Instant::now();

    // Reads go on meanwhile: none fails, none outlives two deadlines (its attempt on the
    // frozen replica, then the one elsewhere).
    let mut slowest = Duration::ZERO;
    let out = loop {
        let started = Instant::now();
        let ran = unless_hung(Duration::from_secs(20), whoami(&mut app.router))
            .await
            .unwrap_or_else(|e| panic!("a read while replica1 is frozen: {e:?}"));
        slowest = slowest.max(started.elapsed());
        assert_ne!(ran.server, "replica1", "answered while frozen");
        if !server_stats(&app.stats(), "replica1").in_rotation {
            break frozen_at.elapsed();
        }
        assert!(frozen_at.elapsed() < Duration::from_secs(20), "never left");
    };
    blocking(|| app.cluster.thaw(&replica1));
    eprintln!("out of rotation {out:?} after the freeze; slowest read {slowest:?}");
    assert!(slowest < DEADLINE * 2 + SLACK, "a read took {slowest:?}");
    assert!(
        out < interval * 2 + SLACK * 2,
        "left the rotation after {out:?}"
    );

    let back = within(Duration::from_secs(10), || {
        server_stats(&app.stats(), "replica1")
            .in_rotation
            .then_some(())
    })
    .await;
    assert!(back.is_some(), "replica1 back in rotation after the thaw");
}

/// Reports where it runs on `first` on its first attempt, then holds its connection in the
/// server for `hold`; returns at once on the next. How many attempts it made, and where the
/// last ran.
#[route(read)]
async fn read_held_once(
    conn: &mut Reader<Db>,
    attempts: Arc<AtomicUsize>,
    first: mpsc::UnboundedSender<Ran>,
    hold: Duration,
) -> diesel_route::Result<(usize, Ran)> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    let ran = whoami(conn).await?;
    if attempt == 1 {
        let _ = first.send(ran.clone());
        raw_read(diesel::sql_query(sleep_sql(hold)))
            .execute(conn)
            .await?;
    }
    Ok((attempt, ran))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_waiting_on_a_replica_that_leaves_the_rotation_run_again_elsewhere_at_once() {
    const READS: usize = 8;
    let deadline = Duration::from_secs(30);
    let interval = Duration::from_secs(1);
    let configure = |config: diesel_route::DatabaseConfig| {
        config
            .read_timeout(Some(deadline))
            .health_check_interval(interval)
            .health_check_timeout(interval)
    };
    let Some(mut app) = App::own(|_| {}, configure).await else {
        return;
    };
    assert_eq!(app.read_every_replica(200).await.len(), 2);

    // Reads in flight on both replicas, each holding its connection in the server for 3 s.
    let (first, mut first_ran) = mpsc::unbounded_channel();
    let reads: Vec<_> = (0..READS)
        .map(|_| {
            let mut router = app.router.clone();
            let first = first.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let attempts = Arc::new(AtomicUsize::new(0));
                let read = read_held_once(&mut router, attempts, first, Duration::from_secs(3));
                let result = unless_hung(Duration::from_secs(60), read).await;
                (result, started.elapsed())
            })
        })
        .collect();
    let mut began = Vec::new();
    while began.len() < READS {
        began.push(first_ran.recv().await.expect("a read's first attempt"));
    }
    let frozen = began[0].server.clone();
    let pinned = began.iter().filter(|ran| ran.server == frozen).count();
    blocking(|| app.cluster.freeze(&app.server(&frozen)));
    let frozen_at = Instant::now();

    let mut results = Vec::new();
    for read in reads {
        results.push(read.await.expect("the read's task"));
    }
    let all_ended = frozen_at.elapsed();
    blocking(|| app.cluster.thaw(&app.server(&frozen)));
    eprintln!("{pinned} reads pinned on {frozen}; all ended {all_ended:?} after the freeze");

    let mut retried = 0;
    for (result, took) in results {
        let (attempts, ran) = result.unwrap_or_else(|e| panic!("a read failed: {e:?}"));
        eprintln!("attempts {attempts}, on {}, took {took:?}", ran.server);
        assert_ne!(ran.server, frozen, "the frozen replica answered");
        assert!(took < Duration::from_secs(10), "a read took {took:?}");
        retried += usize::from(attempts == 2);
    }
    assert_eq!(
        retried, pinned,
        "each read on the frozen replica ran again, once"
    );
    let frozen_stats = server_stats(&app.stats(), &frozen);
    assert!(frozen_stats.ejections >= 1, "{frozen_stats:?}");
    let reader = pool_stats(&frozen_stats, Role::Reader);
    assert_eq!(
        reader.errors.timeouts, 0,
        "abandoned before the deadline: {reader:?}"
    );
}

/// Inserts a mark (in a transaction with `transaction`), tells its session on `started`, then
/// holds the connection in the server while the test freezes it.
async fn mark_then_wait(
    conn: &mut Writer<'_, Db>,
    note: &str,
    started: oneshot::Sender<()>,
) -> diesel_route::Result<()> {
    write_mark(conn, note).await?;
    let _ = started.send(());
    diesel::sql_query(sleep_sql(Duration::from_millis(300)))
        .execute(conn)
        .await?;
    Ok(())
}

#[route(write)]
async fn mark_outside_transaction(
    conn: &mut Writer<Db>,
    note: &str,
    started: oneshot::Sender<()>,
) -> diesel_route::Result<()> {
    mark_then_wait(conn, note, started).await
}

#[route(write, transaction)]
async fn mark_in_transaction(
    conn: &mut Writer<Db>,
    note: &str,
    started: oneshot::Sender<()>,
) -> diesel_route::Result<()> {
    mark_then_wait(conn, note, started).await
}

/// Runs `call` and freezes the primary once the call says its mark is written; the error,
/// and how long the call took.
async fn frozen_during<F>(app: &App, call: F, started: oneshot::Receiver<()>) -> (Error, Duration)
where
    F: Future<Output = diesel_route::Result<()>>,
{
    let primary = app.server("primary");
    let freeze = async {
        started.await.expect("the call's mark");
        blocking(|| app.cluster.freeze(&primary));
    };
    let began = Instant::now();
    let (result, ()) = tokio::join!(unless_hung(Duration::from_secs(20), call), freeze);
    let took = began.elapsed();
    blocking(|| app.cluster.thaw(&primary));
    (result.expect_err("the primary froze under the call"), took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_a_frozen_primary_fails_by_its_deadline_saying_whether_it_may_have_committed() {
    let configure = |config: diesel_route::DatabaseConfig| config.write_timeout(Some(DEADLINE));
    let Some(mut app) = App::own(|_| {}, configure).await else {
        return;
    };
    let primary = app.server("primary");
    let count = |note: &str| format!("SELECT count(*) FROM marks WHERE note = '{note}'");

    let mut router = app.router.clone();
    let (started, told) = oneshot::channel();
    let call = mark_in_transaction(&mut router, "in_transaction", started);
    let (error, took) = frozen_during(&app, call, told).await;
    eprintln!("in a transaction: {error} after {took:?}");
    assert_timeout(&error, false, took);
    assert_eq!(app.sql(&primary, &count("in_transaction")), "0");

    let (started, told) = oneshot::channel();
    let call = mark_outside_transaction(&mut router, "outside", started);
    let (error, took) = frozen_during(&app, call, told).await;
    eprintln!("outside a transaction: {error} after {took:?}");
    assert_timeout(&error, true, took);
    assert_eq!(
        app.sql(&primary, &count("outside")),
        "1",
        "committed before"
    );

    // Frozen before the call: the checkout's ping, or the statement, never gets an answer.
    blocking(|| app.cluster.freeze(&primary));
    let began = Instant::now();
    let result = unless_hung(
        Duration::from_secs(20),
        write_mark(&mut app.router, "later"),
    )
    .await;
    let took = began.elapsed();
    blocking(|| app.cluster.thaw(&primary));
    let error = result.expect_err("the primary is frozen");
    eprintln!("frozen before the call: {error} after {took:?}");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(took < DEADLINE + SLACK, "took {took:?}");

    // Thawed, the primary takes writes again.
    let ran = write_mark(&mut app.router, "after")
        .await
        .expect("a write after the thaw");
    assert_eq!(ran.server, "primary");
    let writer = pool_stats(&server_stats(&app.stats(), "primary"), Role::Writer);
    assert!(writer.errors.timeouts >= 2, "{writer:?}");
}

fn assert_timeout(error: &Error, commit_unknown: bool, took: Duration) {
    let Error::Timeout {
        role,
        commit_unknown: reported,
        server,
        ..
    } = error
    else {
        panic!("expected a timeout, got {error:?}");
    };
    assert_eq!(*role, Role::Writer, "{error}");
    assert_eq!(*reported, commit_unknown, "{error}");
    assert!(
        server
            .as_ref()
            .is_some_and(|server| server.is_configured_primary()),
        "{error}"
    );
    assert!(took < DEADLINE + SLACK, "took {took:?}");
    assert!(took >= DEADLINE, "took {took:?}");
}
