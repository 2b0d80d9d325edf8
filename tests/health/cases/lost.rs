//! A connection killed while its call runs: a write fails with `ConnectionLost`, saying
//! whether it may have been committed; a read runs again on another server and succeeds, and
//! the replica that lost it leaves the rotation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel_route::prelude::*;
use diesel_route::{Error, Role, raw_read};
use tokio::sync::{mpsc, oneshot};

use super::common::{App, whoami, write_mark};
use super::{Db, KILLED_SESSION, sleep_sql};
use crate::support::{Ran, blocking, pool_stats, server_stats, unless_hung};
use crate::{Reader, Writer};

/// Longer than any case waits: the statement ends only when its session is killed.
const HANG: Duration = Duration::from_secs(30);

/// Inserts a mark in a transaction, tells its session on `started`, then hangs in a statement.
#[route(write, transaction)]
async fn mark_and_hang_in_transaction(
    conn: &mut Writer<Db>,
    note: &str,
    started: oneshot::Sender<i64>,
) -> diesel_route::Result<()> {
    let ran = write_mark(conn, note).await?;
    let _ = started.send(ran.pid);
    diesel::sql_query(sleep_sql(HANG)).execute(conn).await?;
    Ok(())
}

/// Inserts a mark (committed at once), tells its session on `started`, then hangs in a
/// statement outside any transaction.
#[route(write)]
async fn mark_and_hang(
    conn: &mut Writer<Db>,
    note: &str,
    started: oneshot::Sender<i64>,
) -> diesel_route::Result<()> {
    let ran = write_mark(conn, note).await?;
    let _ = started.send(ran.pid);
    diesel::sql_query(sleep_sql(HANG)).execute(conn).await?;
    Ok(())
}

/// Runs `call` and kills its session on the primary once it says which it is.
async fn killed_during<F>(app: &App, call: F, started: oneshot::Receiver<i64>) -> Error
where
    F: Future<Output = diesel_route::Result<()>>,
{
    let primary = app.server("primary");
    let kill = async {
        let pid = started.await.expect("the call's session");
        blocking(|| super::kill_session(&app.cluster, &primary, pid));
    };
    let (result, ()) = tokio::join!(unless_hung(Duration::from_secs(20), call), kill);
    result.expect_err("the call's session was killed")
}

/// The error and its causes, as text.
fn chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        text = format!("{text}: {error}");
        cause = error.source();
    }
    text
}

/// Whether `error` carries the driver's report of its killed session.
fn tells_the_kill(error: &Error) -> bool {
    let text = chain(error);
    KILLED_SESSION.iter().any(|report| text.contains(report))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_connection_dies_fails_with_connection_lost_saying_if_it_may_have_committed()
{
    let Some(app) = App::shared("lost_write", |config| config).await else {
        return;
    };
    let primary = app.server("primary");
    for n in 1..=5 {
        let mut router = app.router.clone();
        let (started, pid) = oneshot::channel();
        let note = format!("in_transaction_{n}");
        let call = mark_and_hang_in_transaction(&mut router, &note, started);
        let error = killed_during(&app, call, pid).await;
        assert!(
            matches!(
                error,
                Error::ConnectionLost {
                    commit_unknown: false,
                    ..
                }
            ),
            "attempt {n}: in a transaction, expected ConnectionLost {{ commit_unknown: false }}, \
             got {error:?}"
        );
        assert!(tells_the_kill(&error), "attempt {n}: {}", chain(&error));
        let count = format!("SELECT count(*) FROM marks WHERE note = '{note}'");
        assert_eq!(app.sql(&primary, &count), "0", "rolled back");

        let (started, pid) = oneshot::channel();
        let note = format!("outside_{n}");
        let call = mark_and_hang(&mut router, &note, started);
        let error = killed_during(&app, call, pid).await;
        assert!(
            matches!(
                error,
                Error::ConnectionLost {
                    commit_unknown: true,
                    ..
                }
            ),
            "attempt {n}: outside a transaction, expected ConnectionLost {{ commit_unknown: \
             true }}, got {error:?}"
        );
        assert!(tells_the_kill(&error), "attempt {n}: {}", chain(&error));
        let count = format!("SELECT count(*) FROM marks WHERE note = '{note}'");
        assert_eq!(app.sql(&primary, &count), "1", "committed before the hang");

        // The writer pool goes on with live connections.
        write_mark(&mut router, "next")
            .await
            .expect("the next write");
    }
    let stats = server_stats(&app.stats(), "primary");
    let writer = pool_stats(&stats, Role::Writer);
    assert_eq!(writer.errors.connection_lost, 10, "{writer:?}");
}

/// Hangs on its first attempt, after telling where it runs on `first`; returns at once on the
/// next, with the attempt's number.
#[route(read)]
async fn read_hanging_once(
    conn: &mut Reader<Db>,
    attempts: Arc<AtomicUsize>,
    first: mpsc::UnboundedSender<Ran>,
) -> diesel_route::Result<(usize, Ran)> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    let ran = whoami(conn).await?;
    if attempt == 1 {
        let _ = first.send(ran.clone());
        raw_read(diesel::sql_query(sleep_sql(HANG)))
            .execute(conn)
            .await?;
    }
    Ok((attempt, ran))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_whose_connection_dies_runs_again_elsewhere_and_its_replica_leaves_the_rotation() {
    let Some(app) = App::shared("lost_read", |config| config).await else {
        return;
    };
    for n in 1..=5 {
        // A router each time, whose health checks (every minute) do not bring the replica
        // back during the case.
        let mut router =
            app.router_with(|config| config.health_check_interval(Duration::from_secs(60)));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (first, mut first_ran) = mpsc::unbounded_channel();
        let call = read_hanging_once(&mut router, Arc::clone(&attempts), first);
        let kill = async {
            let ran = first_ran.recv().await.expect("the first attempt's session");
            let server = app.server(&ran.server);
            blocking(|| super::kill_session(&app.cluster, &server, ran.pid));
            ran
        };
        let (result, killed) = tokio::join!(unless_hung(Duration::from_secs(20), call), kill);
        let (attempt, ran) = result.unwrap_or_else(|e| {
            panic!("attempt {n}: the read failed instead of running again: {e:?}")
        });
        assert_eq!(attempt, 2, "attempt {n}");
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        assert_ne!(
            ran.server, killed.server,
            "attempt {n}: ran again on the dead replica"
        );
        assert_ne!(
            ran.server, "primary",
            "attempt {n}: the other replica was there"
        );
        let stats = crate::support::database_stats(&router.stats(), super::KEY);
        let dead = server_stats(&stats, &killed.server);
        assert!(!dead.in_rotation, "attempt {n}: {stats:?}");
        assert_eq!(dead.ejections, 1, "attempt {n}: {stats:?}");
        assert_eq!(
            pool_stats(&dead, Role::Reader).errors.connection_lost,
            1,
            "attempt {n}: {stats:?}"
        );
        assert!(server_stats(&stats, &ran.server).in_rotation);
    }
}
