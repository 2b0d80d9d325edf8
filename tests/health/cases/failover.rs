//! Replicas that crash and come back: reads never fail meanwhile, a dead replica leaves the
//! rotation, a restarted one rejoins on its own, and with no replica left reads fall back to
//! the primary, or fail fast when the policy says so.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_route::{Error, ReadFallback, Role, Router};
use harness::Stop;

use super::common::{App, whoami};
use crate::support::{blocking, server_stats, unless_hung, within, within_async};

/// What the readers saw: when each read ended, and the server that answered or the error.
type Log = Arc<Mutex<Vec<(Instant, Result<String, String>)>>>;

/// Starts `tasks` tasks that read in a loop, a few milliseconds apart, until `stop`.
fn start_readers(
    router: &Router,
    tasks: usize,
    stop: &Arc<AtomicBool>,
    log: &Log,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..tasks)
        .map(|_| {
            let (mut router, stop, log) = (router.clone(), Arc::clone(stop), Arc::clone(log));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let read = whoami(&mut router).await;
                    let read = read.map(|ran| ran.server).map_err(|e| format!("{e:?}"));
                    log.lock().unwrap().push((Instant::now(), read));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect()
}

/// Reads per server, and the failed reads, among those that ended in `from..until`.
fn tally(log: &Log, from: Instant, until: Instant) -> (HashMap<String, usize>, Vec<String>) {
    let mut per_server = HashMap::new();
    let mut failures = Vec::new();
    for (at, read) in log.lock().unwrap().iter() {
        if *at < from || *at >= until {
            continue;
        }
        match read {
            Ok(server) => *per_server.entry(server.clone()).or_default() += 1,
            Err(error) => failures.push(error.clone()),
        }
    }
    (per_server, failures)
}

/// 64 tasks read in a loop; one replica crashes (PostgreSQL's immediate stop, MariaDB's
/// SIGKILL) under them, and not one read fails: those in flight on it are retried on the other
/// replica, and it leaves the rotation. Restarted, it serves reads again within the health
/// check interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_crashing_under_64_readers_fails_no_read_and_is_used_again_after_restart() {
    let interval = Duration::from_secs(1);
    let Some(app) = App::own(|_| {}, |config| config.health_check_interval(interval)).await else {
        return;
    };
    let replica1 = app.server("replica1");
    let (stop, log): (Arc<AtomicBool>, Log) = Default::default();
    let started = Instant::now();
    let readers = start_readers(&app.router, 64, &stop, &log);

    tokio::time::sleep(Duration::from_secs(1)).await;
    let crash = Instant::now();
    blocking(|| app.cluster.stop(&replica1, Stop::Kill));
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarting = Instant::now();
    blocking(|| app.cluster.restart(&replica1));
    let restarted = Instant::now();
    // Back within one interval (the next health check), with a margin for a loaded machine.
    let back = within(interval + Duration::from_secs(4), || {
        let (per_server, _) = tally(&log, restarted, Instant::now());
        per_server.contains_key("replica1").then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        unless_hung(Duration::from_secs(30), reader)
            .await
            .expect("a reader task");
    }

    let (_, failed) = tally(&log, started, Instant::now());
    assert!(
        failed.is_empty(),
        "{} failed reads: {failed:?}",
        failed.len()
    );
    let (before, _) = tally(&log, started, crash);
    let (during, _) = tally(&log, stopped + Duration::from_millis(500), restarting);
    assert!(
        before.get("replica1") > Some(&50) && before.get("replica2") > Some(&50),
        "both replicas served before the crash: {before:?}"
    );
    assert!(
        during.get("replica2") > Some(&50) && !during.contains_key("replica1"),
        "replica2 alone served while replica1 was down: {during:?}"
    );
    let stats = server_stats(&app.stats(), "replica1");
    assert!(stats.ejections >= 1, "{stats:?}");
    let Some((took, ())) = back else {
        panic!("replica1 served no read within {interval:?} + 4 s of its restart: {stats:?}");
    };
    eprintln!("replica1 served reads again {took:?} after its restart");
}

/// A stopped replica leaves the rotation by the health check alone, with no read to notice
/// it; restarted, it rejoins on its own within the health check interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_leaves_the_rotation_and_rejoins_on_its_own() {
    let interval = Duration::from_millis(500);
    let Some(mut app) = App::own(|_| {}, |config| config.health_check_interval(interval)).await
    else {
        return;
    };
    assert_eq!(app.read_every_replica(200).await.len(), 2);
    let replica1 = app.server("replica1");
    blocking(|| app.cluster.stop(&replica1, Stop::Fast));

    let out = within(interval + Duration::from_secs(4), || {
        let stats = server_stats(&app.stats(), "replica1");
        (!stats.in_rotation).then_some(stats)
    })
    .await;
    let (took, stats) = out.expect("replica1 out of rotation after a health check");
    assert_eq!(stats.ejections, 1, "{stats:?}");
    eprintln!("out of rotation {took:?} after the stop");
    for _ in 0..50 {
        let ran = whoami(&mut app.router).await.expect("a read");
        assert_eq!(ran.server, "replica2");
    }

    blocking(|| app.cluster.restart(&replica1));
    let router = app.router.clone();
    let back = within_async(interval + Duration::from_secs(4), || {
        let mut router = router.clone();
        async move {
            let ran = whoami(&mut router).await.expect("a read");
            (ran.server == "replica1").then_some(())
        }
    })
    .await;
    let stats = server_stats(&app.stats(), "replica1");
    let (took, ()) = back.unwrap_or_else(|| {
        panic!("replica1 served no read within {interval:?} + 4 s of its restart: {stats:?}")
    });
    eprintln!("replica1 back {took:?} after its restart");
    assert!(stats.in_rotation, "{stats:?}");
    assert_eq!(stats.ejections, 1, "{stats:?}");
}

/// With both replicas down, reads go to the primary (through its read-only pool) under the
/// default policy, and fail at once with `NoServerAvailable` under `ReadFallback::Fail`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_replica_down_reads_fall_back_to_the_primary_or_fail_by_policy() {
    let Some(mut app) = App::own(|_| {}, |config| config).await else {
        return;
    };
    let mut failing = app.router_with(|config| config.read_fallback(ReadFallback::Fail));
    assert_eq!(app.read_every_replica(200).await.len(), 2);
    assert_eq!(app.stats().read_fallbacks, 0);
    whoami(&mut failing)
        .await
        .expect("a read while replicas run");

    for replica in app.cluster.replicas() {
        blocking(|| app.cluster.stop(&replica, Stop::Kill));
    }
    for n in 1..=20 {
        let ran = whoami(&mut app.router).await.unwrap_or_else(|e| {
            panic!("read {n} with both replicas down: {e:?}\n{:?}", app.stats())
        });
        assert_eq!(ran.server, "primary");
    }
    let stats = app.stats();
    assert!(stats.read_fallbacks >= 20, "{stats:?}");
    for name in ["replica1", "replica2"] {
        assert!(!server_stats(&stats, name).in_rotation, "{stats:?}");
    }

    for _ in 0..5 {
        let started = Instant::now();
        let error = unless_hung(Duration::from_secs(10), whoami(&mut failing))
            .await
            .expect_err("no replica, and no fallback");
        let Error::NoServerAvailable { database, role } = &error else {
            panic!("expected NoServerAvailable, got {error:?}");
        };
        assert_eq!((*database, *role), (super::KEY, Role::Reader));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
    let stats = crate::support::database_stats(&failing.stats(), super::KEY);
    assert_eq!(stats.read_fallbacks, 0, "{stats:?}");
    assert_eq!(stats.unavailable, 5, "each refused read counted: {stats:?}");
}
