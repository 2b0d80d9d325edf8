//! Bounded staleness, with writes going on: a replica lagging beyond `max_replica_lag` leaves
//! the read rotation within a health check interval, no read goes to it while it lags, and
//! it rejoins once it has caught up; a replica whose replication stopped shows a growing
//! lag; and once writes stop, a replica that has everything lags 0 however long the primary
//! stays idle.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use diesel_route::{DatabaseConfig, Router};

use crate::support::{
    maria_insert, maria_read_server, maria_router, pg_insert, pg_read_server, pg_router, runtime,
};

const MAX_LAG: Duration = Duration::from_secs(1);
const INTERVAL: Duration = Duration::from_millis(200);
const PATIENCE: Duration = Duration::from_secs(20);

/// Writes a row every 50 ms until dropped, so that the primary moves on.
struct Writes {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Writes {
    fn start(runtime: &tokio::runtime::Runtime, router: &Router, maria: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let mut router = router.clone();
        let task = runtime.spawn(async move {
            for id in 1.. {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                let written = match maria {
                    true => maria_insert(&mut router, id, false).await,
                    false => pg_insert(&mut router, id, false).await,
                };
                written.expect("a write");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Self {
            stop,
            task: Some(task),
        }
    }

    fn stop(mut self, runtime: &tokio::runtime::Runtime) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            runtime.block_on(task).unwrap();
        }
    }
}

/// A replica's place in the rotation, why it is out, and its lag in milliseconds.
fn replica(router: &Router, database: &str, name: &str) -> (bool, String, f64) {
    let stats = router.stats();
    let server = stats.database(database).unwrap().server(name).unwrap();
    let why = server.why_out_of_rotation.clone().unwrap_or_default();
    (server.in_rotation, why, server.lag_ms.unwrap_or(-1.0))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn pg_a_replica_beyond_the_maximum_lag_serves_no_reads() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let (late, current) = (cluster.replicas()[0].clone(), cluster.replicas()[1].clone());
    let config = DatabaseConfig::new(cluster.primary_url())
        .replicas(cluster.replica_urls())
        .max_replica_lag(Some(MAX_LAG))
        .health_check_interval(INTERVAL);
    let runtime = runtime();
    let mut router = runtime.block_on(async { pg_router(config) }).unwrap();
    let writes = Writes::start(&runtime, &router, false);
    let read_ports = |router: &mut Router| {
        let reads = (0..40).map(|_| runtime.block_on(pg_read_server(router)).unwrap().0);
        reads.collect::<BTreeSet<i32>>()
    };
    let both = BTreeSet::from([i32::from(late.port), i32::from(current.port)]);
    assert_eq!(read_ports(&mut router), both);

    cluster.set_replication_delay(&late, Duration::from_secs(2));
    let delayed_at = Instant::now();
    wait_until("the late replica leaves the rotation", || {
        !replica(&router, "default", "replica1").0
    });
    eprintln!("out {:?} after the delay began", delayed_at.elapsed());
    let (_, why, lag) = replica(&router, "default", "replica1");
    assert!(why.contains("behind the primary"), "{why}");
    assert!(lag > MAX_LAG.as_secs_f64() * 1e3, "lag {lag} ms");
    for _ in 0..5 {
        let only = BTreeSet::from([i32::from(current.port)]);
        assert_eq!(read_ports(&mut router), only);
        thread::sleep(INTERVAL);
    }

    cluster.set_replication_delay(&late, Duration::ZERO);
    wait_until("the caught-up replica rejoins", || {
        replica(&router, "default", "replica1").0
    });
    assert!(replica(&router, "default", "replica1").2 < MAX_LAG.as_secs_f64() * 1e3);
    assert_eq!(read_ports(&mut router), both);

    // Replication stopped, writes going on: its lag grows.
    cluster.stop_replication(&current);
    wait_until("the cut-off replica shows its lag", || {
        replica(&router, "default", "replica2").2 > 1500.0
    });
    assert!(!replica(&router, "default", "replica2").0);
    cluster.start_replication(&current);

    // Writes stop: the late replica catches up, and an idle primary keeps its lag at 0.
    cluster.set_replication_delay(&late, Duration::from_millis(500));
    writes.stop(&runtime);
    thread::sleep(Duration::from_secs(3));
    let (in_rotation, _, lag) = replica(&router, "default", "replica1");
    assert!(
        in_rotation && lag == 0.0,
        "in rotation: {in_rotation}, lag {lag} ms"
    );
}

#[test]
fn mariadb_a_replica_beyond_the_maximum_lag_serves_no_reads() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id BIGINT PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let (late, current) = (cluster.replicas()[0].clone(), cluster.replicas()[1].clone());
    let config = DatabaseConfig::new(cluster.primary_url())
        .replicas(cluster.replica_urls())
        .max_replica_lag(Some(MAX_LAG))
        .health_check_interval(INTERVAL);
    let runtime = runtime();
    let mut router = runtime.block_on(async { maria_router(config) }).unwrap();
    let writes = Writes::start(&runtime, &router, true);
    let read_ids = |router: &mut Router| {
        let reads = (0..40).map(|_| runtime.block_on(maria_read_server(router)).unwrap().0);
        reads.collect::<BTreeSet<u32>>()
    };
    let (late_id, current_id) = (late.server_id.unwrap(), current.server_id.unwrap());
    assert_eq!(read_ids(&mut router), BTreeSet::from([late_id, current_id]));

    cluster.set_replication_delay(&late, Duration::from_secs(2));
    wait_until("the late replica leaves the rotation", || {
        !replica(&router, "maria", "replica1").0
    });
    let (_, why, lag) = replica(&router, "maria", "replica1");
    assert!(why.contains("behind the primary"), "{why}");
    assert!(lag > MAX_LAG.as_secs_f64() * 1e3, "lag {lag} ms");
    for _ in 0..5 {
        assert_eq!(read_ids(&mut router), BTreeSet::from([current_id]));
        thread::sleep(INTERVAL);
    }

    cluster.set_replication_delay(&late, Duration::ZERO);
    wait_until("the caught-up replica rejoins", || {
        replica(&router, "maria", "replica1").0
    });
    assert_eq!(read_ids(&mut router), BTreeSet::from([late_id, current_id]));

    cluster.stop_replication(&current);
    wait_until("the stopped replica shows its lag", || {
        replica(&router, "maria", "replica2").2 > 1500.0
    });
    assert!(!replica(&router, "maria", "replica2").0);
    cluster.start_replication(&current);
    writes.stop(&runtime);
}
