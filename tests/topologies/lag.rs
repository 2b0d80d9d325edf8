//! Bounded staleness, with writes going on: a replica lagging beyond `max_replica_lag` leaves
//! the read rotation within a health check interval, no read goes to it while it lags, and
//! it rejoins once it has caught up; a replica whose replication stopped shows a growing
//! lag; and once writes stop, a replica that has everything lags 0 however long the primary
//! stays idle.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use diesel_route::{DatabaseConfig, Router};

use crate::support::{
    maria_insert, maria_read_server, maria_router, pg_insert, pg_read_server, pg_router, runtime,
};

const MAX_LAG: Duration = Duration::from_secs(1);
const INTERVAL: Duration = Duration::from_millis(200);
const PATIENCE: Duration = Duration::from_secs(20);

/// Writes rows from `writers` tasks, each pausing `pace` between its writes, until
/// stopped, so that the primary moves on.
struct Writes {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Writes {
    fn start(runtime: &tokio::runtime::Runtime, router: &Router, maria: bool) -> Self {
        Self::start_many(runtime, router, maria, 1, Duration::from_millis(50))
    }

    fn start_many(
        runtime: &tokio::runtime::Runtime,
        router: &Router,
        maria: bool,
        writers: usize,
        pace: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let next_id = Arc::new(AtomicI64::new(1));
        let tasks = (0..writers)
            .map(|_| {
                let (stopped, next_id) = (Arc::clone(&stop), Arc::clone(&next_id));
                let mut router = router.clone();
                runtime.spawn(async move {
                    while !stopped.load(Ordering::Relaxed) {
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        let written = match maria {
                            true => maria_insert(&mut router, id, false).await,
                            false => pg_insert(&mut router, id, false).await,
                        };
                        written.expect("a write");
                        tokio::time::sleep(pace).await;
                    }
                })
            })
            .collect();
        Self { stop, tasks }
    }

    fn stop(self, runtime: &tokio::runtime::Runtime) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
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
    caught_up_while_idle(&router, "default");
}

/// Once writes stop, the late replica catches up and lags 0 in the rotation, though the
/// primary is idle.
fn caught_up_while_idle(router: &Router, database: &str) {
    wait_until("the late replica lags 0 with the primary idle", || {
        let (in_rotation, _, lag) = replica(router, database, "replica1");
        in_rotation && lag == 0.0
    });
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
    let delayed_at = Instant::now();
    wait_until("the late replica leaves the rotation", || {
        !replica(&router, "maria", "replica1").0
    });
    eprintln!("out {:?} after the delay began", delayed_at.elapsed());
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
    assert!(replica(&router, "maria", "replica1").2 < MAX_LAG.as_secs_f64() * 1e3);
    assert_eq!(read_ids(&mut router), BTreeSet::from([late_id, current_id]));

    cluster.stop_replication(&current);
    wait_until("the stopped replica shows its lag", || {
        replica(&router, "maria", "replica2").2 > 1500.0
    });
    assert!(!replica(&router, "maria", "replica2").0);
    cluster.start_replication(&current);

    cluster.set_replication_delay(&late, Duration::from_millis(500));
    writes.stop(&runtime);
    caught_up_while_idle(&router, "maria");
}

/// Four writers at full speed, their positions reported out of order, while one replica's
/// replay is paused for longer than the maximum lag: its measured lag keeps growing past
/// the limit, it leaves the rotation and serves no read while behind, and comes back once
/// it has caught up.
fn concurrent_writers_case(
    runtime: &tokio::runtime::Runtime,
    mut router: Router,
    database: &str,
    maria: bool,
    paused_id: u32,
    pause: impl FnOnce(),
    resume: impl FnOnce(),
) {
    let limit_ms = MAX_LAG.as_secs_f64() * 1e3;
    let served_by = |router: &mut Router| {
        let read = |router: &mut Router| match maria {
            true => runtime.block_on(maria_read_server(router)).unwrap().0,
            false => u32::try_from(runtime.block_on(pg_read_server(router)).unwrap().0).unwrap(),
        };
        (0..20).map(|_| read(router)).collect::<BTreeSet<u32>>()
    };
    let writes = Writes::start_many(runtime, &router, maria, 4, Duration::ZERO);
    wait_until("every replica serves reads", || {
        served_by(&mut router).contains(&paused_id)
    });

    pause();
    let paused_at = Instant::now();
    wait_until("the paused replica leaves the rotation", || {
        !replica(&router, database, "replica1").0
    });
    // Out for as long as it is behind: its lag grows with the time it has been paused.
    let mut last_lag = 0.0;
    while last_lag < 6.0 * limit_ms {
        let (in_rotation, why, lag) = replica(&router, database, "replica1");
        assert!(!in_rotation, "back while {lag} ms behind");
        // MariaDB counts a replica whose SQL thread stopped as not replicating, too.
        let stated = ["behind the primary", "replicates from no primary"];
        assert!(stated.iter().any(|reason| why.contains(reason)), "{why}");
        assert!(
            lag >= last_lag,
            "its lag shrank from {last_lag} to {lag} ms"
        );
        assert!(
            !served_by(&mut router).contains(&paused_id),
            "a read went to it"
        );
        assert!(
            paused_at.elapsed() < PATIENCE,
            "its lag stays at {lag} ms after {:?} paused",
            paused_at.elapsed()
        );
        last_lag = lag;
    }
    assert!(last_lag > limit_ms, "lag {last_lag} ms");

    resume();
    wait_until("the caught-up replica rejoins", || {
        replica(&router, database, "replica1").0
    });
    let (_, _, lag) = replica(&router, database, "replica1");
    assert!(lag <= limit_ms / 2.0, "back while {lag} ms behind");
    wait_until("it serves reads again", || {
        served_by(&mut router).contains(&paused_id)
    });
    writes.stop(runtime);
}

#[test]
fn pg_a_paused_replica_under_concurrent_writes_stays_out_while_behind() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    cluster
        .app_sql(
            &cluster.primary(),
            "CREATE TABLE ledger (id bigint PRIMARY KEY)",
        )
        .unwrap();
    cluster.wait_caught_up();
    let paused = cluster.replicas()[0].clone();
    let config = DatabaseConfig::new(cluster.primary_url())
        .replicas(cluster.replica_urls())
        .max_replica_lag(Some(MAX_LAG))
        .health_check_interval(INTERVAL);
    let runtime = runtime();
    let router = runtime.block_on(async { pg_router(config) }).unwrap();
    concurrent_writers_case(
        &runtime,
        router,
        "default",
        false,
        u32::from(paused.port),
        || drop(cluster.sql(&paused, "SELECT pg_wal_replay_pause()")),
        || drop(cluster.sql(&paused, "SELECT pg_wal_replay_resume()")),
    );
}

#[test]
fn mariadb_a_paused_replica_under_concurrent_writes_stays_out_while_behind() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    cluster
        .app_sql(
            &cluster.primary(),
            "CREATE TABLE ledger (id BIGINT PRIMARY KEY)",
        )
        .unwrap();
    cluster.wait_caught_up();
    let paused = cluster.replicas()[0].clone();
    let config = DatabaseConfig::new(cluster.primary_url())
        .replicas(cluster.replica_urls())
        .max_replica_lag(Some(MAX_LAG))
        .health_check_interval(INTERVAL);
    let runtime = runtime();
    let router = runtime.block_on(async { maria_router(config) }).unwrap();
    concurrent_writers_case(
        &runtime,
        router,
        "maria",
        true,
        paused.server_id.unwrap(),
        || drop(cluster.sql(&paused, "STOP SLAVE SQL_THREAD")),
        || drop(cluster.sql(&paused, "START SLAVE SQL_THREAD")),
    );
}
