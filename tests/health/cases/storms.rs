//! Sessions killed by the dozen while load runs (`pg_terminate_backend`, `KILL`), most of
//! them mid-statement: not one read fails (each read killed runs again on another server),
//! and no write is reported with an outcome the database contradicts. The servers confirm
//! each kill, and the router's stats show the calls they hit.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel_route::prelude::*;
use diesel_route::{Role, Router};

use super::common::{App, whoami_after};
use super::{Db, sleep_sql};
use crate::Writer;
use crate::support::{blocking, pool_stats, server_stats};

/// How long each storm blows.
const STORM: Duration = Duration::from_secs(4);

/// What the readers and writers saw.
#[derive(Default)]
struct Seen {
    failed_reads: Vec<String>,
    reads: usize,
    /// Each write's note and what its caller was told.
    writes: Vec<(String, Told)>,
}

/// What a write's caller was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Committed,
    NotCommitted,
    Unknown,
}

impl Told {
    fn of(result: &diesel_route::Result<()>) -> Self {
        match result {
            Ok(()) => Told::Committed,
            Err(error) if error.commit_unknown() => Told::Unknown,
            Err(_) => Told::NotCommitted,
        }
    }

    /// Whether `rows` copies of the write in the database contradict what was told. An
    /// outcome unknown is honest with or without its row; a row twice is checked apart.
    fn contradicted_by(self, rows: usize) -> bool {
        match self {
            Told::Committed => rows != 1,
            Told::NotCommitted => rows != 0,
            Told::Unknown => false,
        }
    }
}

/// A mark, then a moment in the server, so that kills often land mid-statement; in a
/// transaction when `transaction`.
#[route(write)]
async fn mark_and_linger(conn: &mut Writer<Db>, note: &str) -> diesel_route::Result<()> {
    diesel::sql_query(format!("INSERT INTO marks (note) VALUES ('{note}')"))
        .execute(conn)
        .await?;
    diesel::sql_query(sleep_sql(Duration::from_millis(5)))
        .execute(conn)
        .await?;
    Ok(())
}

#[route(write, transaction)]
async fn mark_and_linger_in_transaction(
    conn: &mut Writer<Db>,
    note: &str,
) -> diesel_route::Result<()> {
    diesel::sql_query(sleep_sql(Duration::from_millis(5)))
        .execute(conn)
        .await?;
    mark_and_linger(conn, note).await
}

/// Runs `readers` reading tasks and `writers` writing tasks until `stop`.
fn load(
    router: &Router,
    readers: usize,
    writers: usize,
    stop: &Arc<AtomicBool>,
    seen: &Arc<std::sync::Mutex<Seen>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let reading = (0..readers).map(|_| {
        let (mut router, stop, seen) = (router.clone(), Arc::clone(stop), Arc::clone(seen));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let read = whoami_after(&mut router, Duration::from_millis(3)).await;
                let mut seen = seen.lock().unwrap();
                seen.reads += 1;
                if let Err(error) = read {
                    seen.failed_reads.push(format!("{error:?}"));
                }
            }
        })
    });
    let writing = (0..writers).map(|writer| {
        let (mut router, stop, seen) = (router.clone(), Arc::clone(stop), Arc::clone(seen));
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let note = format!("w{writer}_{n}");
                let result = match n % 2 {
                    0 => mark_and_linger(&mut router, &note).await,
                    _ => mark_and_linger_in_transaction(&mut router, &note).await,
                };
                seen.lock().unwrap().writes.push((note, Told::of(&result)));
            }
        })
    });
    reading.chain(writing).collect()
}

/// Kills every application session on one of `targets` after another, every `every`, for
/// [`STORM`]; how many sessions it killed.
fn storm(app: &App, targets: &[&str], every: Duration) -> usize {
    let until = Instant::now() + STORM;
    let mut killed = 0;
    for target in targets.iter().cycle() {
        if Instant::now() >= until {
            break;
        }
        let server = app.server(target);
        killed += app.cluster.terminate_app_sessions(&server);
        std::thread::sleep(every);
    }
    killed
}

/// The notes whose rows contradict what their writers were told, or that were written
/// twice (a write is never run again).
fn misreported(app: &App, writes: &[(String, Told)]) -> Vec<String> {
    let primary = app.server("primary");
    let rows = app.sql(&primary, "SELECT note FROM marks");
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for note in rows.lines() {
        *counts.entry(note.trim()).or_default() += 1;
    }
    let rows_of = |note: &str| counts.get(note).copied().unwrap_or(0);
    writes
        .iter()
        .filter(|(note, told)| told.contradicted_by(rows_of(note)) || rows_of(note) > 1)
        .map(|(note, told)| format!("{note}: told {told:?}, {} rows", rows_of(note)))
        .collect()
}

/// Calls on `servers`' pools of `role` whose connection died under them, as the router
/// counted them.
fn lost_calls(app: &App, servers: &[&str], role: Role) -> u64 {
    let stats = app.stats();
    let lost = |name: &&str| pool_stats(&server_stats(&stats, name), role);
    servers
        .iter()
        .map(|name| lost(name).errors.connection_lost)
        .sum()
}

/// How many of `writes` their callers were told did not surely commit.
fn not_committed(writes: &[(String, Told)]) -> usize {
    let failed = writes.iter().filter(|(_, told)| *told != Told::Committed);
    failed.count()
}

/// Load while sessions on `targets` are killed; what the load saw. Panics unless the
/// servers confirm kills.
async fn blow(app: &App, targets: &[&str]) -> Seen {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    let tasks = load(&app.router, 12, 4, &stop, &seen);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = blocking(|| storm(app, targets, Duration::from_millis(250)));
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        crate::support::unless_hung(Duration::from_secs(30), task)
            .await
            .expect("a load task");
    }
    let mut seen = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!(
        "killed {killed} sessions; {} reads ({} failed), {} writes",
        seen.reads,
        seen.failed_reads.len(),
        seen.writes.len()
    );
    assert!(killed > 0, "the storm killed no session on {targets:?}");
    seen.writes.sort_by(|a, b| a.0.cmp(&b.0));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_killed_replica_sessions_fails_no_read() {
    let configure = |config: diesel_route::DatabaseConfig| {
        config.health_check_interval(Duration::from_millis(200))
    };
    let Some(app) = App::own(|_| {}, configure).await else {
        return;
    };
    let replicas = ["replica1", "replica2"];
    let seen = blow(&app, &replicas).await;
    assert!(seen.reads > 100, "{} reads", seen.reads);
    assert!(
        seen.failed_reads.is_empty(),
        "{} reads failed: {:?}",
        seen.failed_reads.len(),
        seen.failed_reads
    );
    // Reads did lose their connections to the kills; as none failed, each ran again.
    let lost = lost_calls(&app, &replicas, Role::Reader);
    assert!(lost > 0, "no read lost its connection: {:?}", app.stats());
    eprintln!("{lost} reads lost their connection and ran again");
    let wrong = misreported(&app, &seen.writes);
    assert!(wrong.is_empty(), "misreported writes: {wrong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_killed_primary_sessions_misreports_no_write() {
    let Some(app) = App::own(|_| {}, |config| config).await else {
        return;
    };
    let seen = blow(&app, &["primary"]).await;
    assert!(seen.writes.len() > 20, "{} writes", seen.writes.len());
    assert!(
        seen.failed_reads.is_empty(),
        "reads go to the replicas: {:?}",
        seen.failed_reads
    );
    // The kills hit writes mid-call: the check below is not of writes that all went well.
    let lost = lost_calls(&app, &["primary"], Role::Writer);
    assert!(lost > 0, "no write lost its connection: {:?}", app.stats());
    assert!(
        not_committed(&seen.writes) > 0,
        "every write committed: {:?}",
        app.stats()
    );
    let wrong = misreported(&app, &seen.writes);
    assert!(wrong.is_empty(), "misreported writes: {wrong:?}");
    let outcomes: HashMap<String, usize> =
        seen.writes
            .iter()
            .fold(HashMap::new(), |mut counts, (_, told)| {
                *counts.entry(format!("{told:?}")).or_default() += 1;
                counts
            });
    eprintln!("write outcomes: {outcomes:?}");
}
