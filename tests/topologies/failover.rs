//! Real failovers under a steady stream of writes, with the router on default settings: a
//! standby promoted after its primary stopped (PostgreSQL), a primary fenced read-only and a
//! replica made primary (MariaDB), two servers that both say they are the primary, and a
//! primary given as several candidate hosts. Each case checks, against what the servers
//! hold at the end, that every acknowledged write is there, that no write reported as not
//! committed is, and that writes reach the new primary soon after its promotion.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use diesel_route::{DatabaseConfig, Error, Router};
use harness::{MariaDbCluster, PgCluster, ServerRef, Stop};

use crate::support::{
    maria_insert, maria_read_server, maria_router, pg_insert, pg_read_server, pg_router, runtime,
};

/// The goal the failover cases hold the router to: a write succeeds this soon after the new
/// primary takes writes.
const FIRST_WRITE_WITHIN: Duration = Duration::from_secs(2);

/// How long a case waits for something the router does by itself (a health check's
/// verdict) before failing.
const PATIENCE: Duration = Duration::from_secs(15);

/// What the router said of one write.
#[derive(Debug)]
enum Outcome {
    /// Acknowledged, by the server with this identity (PostgreSQL's port, MariaDB's
    /// `@@server_id`).
    Committed(i64),
    /// Failed, and the error says nothing was committed.
    NotCommitted(Error),
    /// Failed, and the error says it may have been committed.
    Unknown(Error),
}

#[derive(Debug)]
struct Attempt {
    id: i64,
    at: Instant,
    outcome: Outcome,
}

/// Writes ids 1, 2, 3, ... one after another until stopped, alternately in a transaction
/// and alone, recording what the router said of each.
struct WriteStream {
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Vec<Attempt>>,
}

#[derive(Clone, Copy)]
enum Backend {
    Postgres,
    MariaDb,
}

impl WriteStream {
    fn start(runtime: &tokio::runtime::Runtime, router: &Router, backend: Backend) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(AtomicU64::new(0));
        let mut router = router.clone();
        let stopped = Arc::clone(&stop);
        let count = Arc::clone(&committed);
        let task = runtime.spawn(async move {
            let mut attempts = Vec::new();
            for id in 1.. {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let in_transaction = id % 2 == 0;
                let result = match backend {
                    Backend::Postgres => pg_insert(&mut router, id, in_transaction).await,
                    Backend::MariaDb => maria_insert(&mut router, id, in_transaction).await,
                };
                let outcome = match result {
                    Ok(server) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        Outcome::Committed(server)
                    }
                    Err(error) if error.commit_unknown() => Outcome::Unknown(error),
                    Err(error) => Outcome::NotCommitted(error),
                };
                attempts.push(Attempt {
                    id,
                    at: Instant::now(),
                    outcome,
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            attempts
        });
        Self {
            stop,
            committed,
            task,
        }
    }

    /// Waits until `count` more writes were acknowledged since the call.
    fn wait_for_commits(&self, count: u64) {
        let before = self.committed.load(Ordering::Relaxed);
        let deadline = Instant::now() + PATIENCE;
        while self.committed.load(Ordering::Relaxed) < before + count {
            assert!(Instant::now() < deadline, "no writes went through");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(self, runtime: &tokio::runtime::Runtime) -> Vec<Attempt> {
        self.stop.store(true, Ordering::Relaxed);
        runtime
            .block_on(self.task)
            .expect("the write stream panicked")
    }
}

/// What the servers hold, checked against what the router said: every acknowledged write is
/// there, no write reported as not committed is. Returns how many outcomes were unknown.
fn check_outcomes(attempts: &[Attempt], stored: &BTreeSet<i64>) -> usize {
    let mut unknown = 0;
    for attempt in attempts {
        match &attempt.outcome {
            Outcome::Committed(_) => assert!(
                stored.contains(&attempt.id),
                "write {} was acknowledged but is lost",
                attempt.id
            ),
            Outcome::NotCommitted(error) => assert!(
                !stored.contains(&attempt.id),
                "write {} was reported as not committed ({error}) but is stored",
                attempt.id
            ),
            Outcome::Unknown(error) => {
                eprintln!("write {}: outcome unknown: {error}", attempt.id);
                unknown += 1;
            }
        }
    }
    unknown
}

/// The first acknowledged write at or after `since`, and the server that took it.
fn first_commit_after(attempts: &[Attempt], since: Instant) -> Option<(&Attempt, i64)> {
    attempts.iter().find_map(|attempt| match attempt.outcome {
        Outcome::Committed(server) if attempt.at >= since => Some((attempt, server)),
        _ => None,
    })
}

/// Runs `promote` while another thread asks `is_primary` every few milliseconds; returns the
/// first instant it said yes: when the new primary began taking writes.
fn promoted_at(promote: impl FnOnce() + Send, is_primary: impl Fn() -> bool + Send) -> Instant {
    thread::scope(|scope| {
        let watcher = scope.spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if is_primary() {
                    return Instant::now();
                }
                assert!(Instant::now() < deadline, "the promotion never took effect");
                thread::sleep(Duration::from_millis(5));
            }
        });
        promote();
        watcher.join().expect("the promotion watcher panicked")
    })
}

fn ids(listing: &str) -> BTreeSet<i64> {
    listing
        .split_whitespace()
        .map(|id| id.parse().expect("an id"))
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn pg_config(cluster: &PgCluster) -> DatabaseConfig {
    DatabaseConfig::new(cluster.primary_url()).replicas(cluster.replica_urls())
}

fn maria_config(cluster: &MariaDbCluster) -> DatabaseConfig {
    DatabaseConfig::new(cluster.primary_url()).replicas(cluster.replica_urls())
}

fn pg_ledger(cluster: &PgCluster, server: &ServerRef) -> BTreeSet<i64> {
    let listing = cluster.app_sql(server, "SELECT id FROM ledger ORDER BY id");
    ids(&listing.expect("the ledger"))
}

fn maria_ledger(cluster: &MariaDbCluster, server: &ServerRef) -> BTreeSet<i64> {
    let listing = cluster.app_sql(server, "SELECT id FROM ledger ORDER BY id");
    ids(&listing.expect("the ledger"))
}

/// A standby is promoted after its primary stopped: writes fail while no server takes them
/// (none reported committed), then go to the promoted standby within the goal; reads go to
/// the standby that follows it, never to it; the old primary, made a standby, rejoins the
/// read rotation.
#[test]
fn pg_a_promoted_standby_takes_the_writes() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let old = cluster.primary();
    let (promoted, follower) = (cluster.replicas()[0].clone(), cluster.replicas()[1].clone());
    cluster
        .app_sql(&old, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let runtime = runtime();
    let mut router = runtime
        .block_on(async { pg_router(pg_config(&cluster)) })
        .unwrap();
    let stream = WriteStream::start(&runtime, &router, Backend::Postgres);
    stream.wait_for_commits(20);

    cluster.stop(&old, Stop::Fast);
    thread::sleep(Duration::from_millis(300));
    let promoted_at = promoted_at(
        || cluster.promote(&promoted),
        || cluster.sql(&promoted, "SELECT pg_is_in_recovery()") == "f",
    );
    thread::sleep(FIRST_WRITE_WITHIN + Duration::from_millis(500));
    let attempts = stream.finish(&runtime);

    let (first, server) =
        first_commit_after(&attempts, promoted_at).expect("no write after the promotion");
    let waited = first.at - promoted_at;
    eprintln!("first write on the promoted standby {waited:?} after it took writes");
    assert_eq!(
        server,
        i64::from(promoted.port),
        "it went to another server"
    );
    assert!(waited < FIRST_WRITE_WITHIN, "first write after {waited:?}");
    for attempt in attempts.iter().filter(|attempt| attempt.at > first.at) {
        match &attempt.outcome {
            Outcome::Committed(server) => assert_eq!(*server, i64::from(promoted.port)),
            other => panic!("write {} failed after the switch: {other:?}", attempt.id),
        }
    }
    let promoted = cluster.primary();
    let unknown = check_outcomes(&attempts, &pg_ledger(&cluster, &promoted));
    eprintln!(
        "{} writes, {unknown} with an unknown outcome",
        attempts.len()
    );

    let stats = router.stats();
    let database = stats.database("default").unwrap();
    assert_eq!(database.primary.as_deref(), Some("replica1"), "{stats:#?}");
    assert_eq!(database.failovers, 1, "{stats:#?}");
    for _ in 0..20 {
        let (port, in_recovery) = runtime.block_on(pg_read_server(&mut router)).unwrap();
        assert_eq!((port, in_recovery), (i32::from(follower.port), true));
    }

    cluster.demote(&old);
    wait_until("the old primary, now a standby, serves reads", || {
        let stats = router.stats();
        let server = stats
            .database("default")
            .unwrap()
            .server("primary")
            .unwrap();
        server.in_rotation && server.role == diesel_route::ServerRole::Replica
    });
    let mut ports = BTreeSet::new();
    for _ in 0..60 {
        let (port, in_recovery) = runtime.block_on(pg_read_server(&mut router)).unwrap();
        assert!(in_recovery, "a read went to the primary");
        ports.insert(port);
    }
    let standbys = BTreeSet::from([i32::from(old.port), i32::from(follower.port)]);
    assert_eq!(ports, standbys, "reads are spread over both standbys");
}

/// The standby named as the primary's failover candidate is also listed as a replica, the
/// natural way to write it: it is one server. Once it is promoted after its primary
/// stopped, writes go to it (no two servers claim to be the primary), and the standby still
/// following the stopped primary serves no reads.
#[test]
fn pg_a_candidate_listed_as_a_replica_too_takes_the_writes() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let old = cluster.primary();
    let (promoted, follower) = (cluster.replicas()[0].clone(), cluster.replicas()[1].clone());
    cluster
        .app_sql(&old, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let config = pg_config(&cluster).primary_candidate(cluster.url(&promoted));
    let runtime = runtime();
    let mut router = runtime.block_on(async { pg_router(config) }).unwrap();
    let stream = WriteStream::start(&runtime, &router, Backend::Postgres);
    stream.wait_for_commits(20);

    cluster.stop(&old, Stop::Fast);
    let promoted_at = promoted_at(
        || cluster.promote(&promoted),
        || cluster.sql(&promoted, "SELECT pg_is_in_recovery()") == "f",
    );
    stream.wait_for_commits(20);
    let attempts = stream.finish(&runtime);

    let (first, server) =
        first_commit_after(&attempts, promoted_at).expect("no write after the promotion");
    let waited = first.at - promoted_at;
    eprintln!("first write on the promoted standby {waited:?} after it took writes");
    assert_eq!(
        server,
        i64::from(promoted.port),
        "it went to another server"
    );
    assert!(waited < FIRST_WRITE_WITHIN, "first write after {waited:?}");
    for attempt in &attempts {
        if let Outcome::NotCommitted(error @ Error::ConflictingPrimaries { .. }) = &attempt.outcome
        {
            panic!("write {}: {error}", attempt.id);
        }
    }
    check_outcomes(&attempts, &pg_ledger(&cluster, &promoted));

    wait_until(
        "the standby following the stopped primary leaves the rotation",
        || !rotation_of(&router, "default", "replica1").0,
    );
    for _ in 0..20 {
        let (port, _) = runtime.block_on(pg_read_server(&mut router)).unwrap();
        assert_ne!(
            port,
            i32::from(follower.port),
            "a read went to the follower"
        );
    }
    let stats = router.stats();
    let database = stats.database("default").unwrap();
    assert_eq!(database.servers.len(), 3, "{stats:#?}");
    assert_eq!(database.primary.as_deref(), Some("primary2"), "{stats:#?}");
}

/// As on PostgreSQL: the candidate is also listed as a replica, the primary is fenced and
/// stopped, the candidate promoted, and the other replica left following the stopped primary.
/// The candidate is one server: writes go to it, none fails with `ConflictingPrimaries`, and
/// the replica that follows no live primary serves no read.
#[test]
fn mariadb_a_candidate_listed_as_a_replica_too_takes_the_writes() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    let old = cluster.primary();
    let (promoted, follower) = (cluster.replicas()[0].clone(), cluster.replicas()[1].clone());
    cluster
        .app_sql(&old, "CREATE TABLE ledger (id BIGINT PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let config = maria_config(&cluster).primary_candidate(cluster.url(&promoted));
    let runtime = runtime();
    let mut router = runtime.block_on(async { maria_router(config) }).unwrap();
    let stream = WriteStream::start(&runtime, &router, Backend::MariaDb);
    stream.wait_for_commits(20);

    // Fenced first, so that every write it acknowledged reaches the replicas before it stops.
    cluster.sql(&old, "SET GLOBAL read_only = 1");
    cluster.wait_caught_up();
    cluster.stop(&old, Stop::Fast);
    let promoted_at = promoted_at(
        || {
            cluster.sql(
                &promoted,
                "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0;",
            );
        },
        || cluster.sql(&promoted, "SELECT @@global.read_only") == "0",
    );
    stream.wait_for_commits(20);
    let attempts = stream.finish(&runtime);

    let new_id = i64::from(promoted.server_id.unwrap());
    let (first, server) =
        first_commit_after(&attempts, promoted_at).expect("no write after the promotion");
    let waited = first.at - promoted_at;
    eprintln!("first write on the promoted replica {waited:?} after it took writes");
    assert_eq!(server, new_id, "it went to another server");
    assert!(waited < FIRST_WRITE_WITHIN, "first write after {waited:?}");
    for attempt in &attempts {
        if let Outcome::NotCommitted(error @ Error::ConflictingPrimaries { .. }) = &attempt.outcome
        {
            panic!("write {}: {error}", attempt.id);
        }
    }
    check_outcomes(&attempts, &maria_ledger(&cluster, &promoted));

    wait_until(
        "the replica following the stopped primary leaves the rotation",
        || !rotation_of(&router, "maria", "replica1").0,
    );
    let follower_id = follower.server_id.unwrap();
    for _ in 0..20 {
        let (id, _) = runtime.block_on(maria_read_server(&mut router)).unwrap();
        assert_ne!(id, follower_id, "a read went to the follower");
    }
    let stats = router.stats();
    let database = stats.database("maria").unwrap();
    assert_eq!(database.servers.len(), 3, "{stats:#?}");
    assert_eq!(database.primary.as_deref(), Some("primary2"), "{stats:#?}");
}

/// The primary is fenced (`read_only = 1`), a replica made primary and the other replicas
/// repointed: writes refused by the fenced server fail as not committed, naming it, and the
/// next ones go to the new primary.
#[test]
fn mariadb_a_promoted_replica_takes_the_writes() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    let old = cluster.primary();
    let promoted = cluster.replicas()[0].clone();
    cluster
        .app_sql(&old, "CREATE TABLE ledger (id BIGINT PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let runtime = runtime();
    let router = runtime
        .block_on(async { maria_router(maria_config(&cluster)) })
        .unwrap();
    let stream = WriteStream::start(&runtime, &router, Backend::MariaDb);
    stream.wait_for_commits(20);

    cluster.sql(&old, "SET GLOBAL read_only = 1");
    thread::sleep(Duration::from_millis(300));
    cluster.wait_caught_up();
    let promoted_at = promoted_at(
        || cluster.promote(&promoted),
        || cluster.sql(&promoted, "SELECT @@global.read_only") == "0",
    );
    cluster.demote(&old);
    thread::sleep(FIRST_WRITE_WITHIN + Duration::from_millis(500));
    let attempts = stream.finish(&runtime);

    let refused = attempts.iter().find_map(|attempt| match &attempt.outcome {
        Outcome::NotCommitted(error @ Error::NotPrimary { server, .. }) => {
            Some((error.to_string(), server.name()))
        }
        _ => None,
    });
    let (message, server) = refused.expect("no write was refused by the fenced primary");
    assert_eq!(server, "primary", "{message}");
    assert!(message.contains("replica now"), "{message}");

    let new_id = i64::from(promoted.server_id.unwrap());
    let (first, server) =
        first_commit_after(&attempts, promoted_at).expect("no write after the promotion");
    let waited = first.at - promoted_at;
    eprintln!("first write on the promoted replica {waited:?} after it took writes");
    assert_eq!(server, new_id, "it went to another server");
    assert!(waited < FIRST_WRITE_WITHIN, "first write after {waited:?}");
    for attempt in attempts.iter().filter(|attempt| attempt.at > first.at) {
        match &attempt.outcome {
            Outcome::Committed(server) => assert_eq!(*server, new_id),
            other => panic!("write {} failed after the switch: {other:?}", attempt.id),
        }
    }
    let unknown = check_outcomes(&attempts, &maria_ledger(&cluster, &cluster.primary()));
    eprintln!(
        "{} writes, {unknown} with an unknown outcome",
        attempts.len()
    );
    let stats = router.stats();
    assert_eq!(
        stats.database("maria").unwrap().primary.as_deref(),
        Some("replica1")
    );

    let mut router = router;
    for _ in 0..30 {
        let (id, read_only) = runtime.block_on(maria_read_server(&mut router)).unwrap();
        assert!(read_only, "a read went to a server that takes writes");
        assert_ne!(i64::from(id), new_id);
    }
}

/// A standby promoted while its primary still runs: two servers take writes. Once the router
/// sees it, writes fail closed, naming both, and none reaches either; when the old one is
/// made a standby, writes go to the promoted one.
#[test]
fn pg_two_primaries_fail_writes_closed() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let old = cluster.primary();
    let promoted = cluster.replicas()[0].clone();
    cluster
        .app_sql(&old, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let runtime = runtime();
    let mut router = runtime
        .block_on(async { pg_router(pg_config(&cluster)) })
        .unwrap();
    runtime.block_on(pg_insert(&mut router, 1, false)).unwrap();
    cluster.wait_caught_up();
    cluster.promote(&promoted);

    let mut id = 100;
    let error = loop {
        id += 1;
        match runtime.block_on(pg_insert(&mut router, id, false)) {
            // Until a health check sees the second primary, writes go where they went.
            Ok(port) => assert_eq!(port, i64::from(old.port)),
            Err(error) => break error,
        }
        assert!(id < 100 + 1000, "writes never failed with two primaries");
        thread::sleep(Duration::from_millis(10));
    };
    let Error::ConflictingPrimaries { servers, .. } = &error else {
        panic!("{error:?}");
    };
    let names: BTreeSet<String> = servers.iter().map(|server| server.name()).collect();
    assert_eq!(names, BTreeSet::from(["primary".into(), "replica1".into()]));
    assert!(error.to_string().contains("primary"), "{error}");
    let refused_from = id;
    for _ in 0..20 {
        id += 1;
        let result = runtime.block_on(pg_insert(&mut router, id, id % 2 == 0));
        assert!(
            matches!(result, Err(Error::ConflictingPrimaries { .. })),
            "{result:?}"
        );
    }
    for server in [&old, &promoted] {
        let stored = pg_ledger(&cluster, server);
        assert!(stored.range(refused_from..).next().is_none(), "{stored:?}");
    }

    cluster.demote(&old);
    id += 1;
    let port = runtime.block_on(pg_insert(&mut router, id, false)).unwrap();
    assert_eq!(port, i64::from(promoted.port));
    let stats = router.stats();
    assert_eq!(
        stats.database("default").unwrap().primary.as_deref(),
        Some("replica1")
    );
}

/// A primary given as several hosts, libpq's `postgres://app@h1:p1,h2:p2/app`: writes go to
/// the one that accepts them, whatever its place in the list, and follow a failover to
/// another one of them.
#[test]
fn pg_writes_go_to_the_candidate_that_takes_them() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let old = cluster.primary();
    let standby = cluster.replicas()[0].clone();
    cluster
        .app_sql(&old, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let hosts = multi_host(&[cluster.url(&standby), cluster.url(&old)]);
    let runtime = runtime();
    let mut router = runtime
        .block_on(async { pg_router(DatabaseConfig::new(&hosts)) })
        .unwrap();
    let port = runtime.block_on(pg_insert(&mut router, 1, true)).unwrap();
    assert_eq!(port, i64::from(old.port), "{hosts}");
    let stats = router.stats();
    assert_eq!(
        stats.database("default").unwrap().primary.as_deref(),
        Some("primary2")
    );

    cluster.stop(&old, Stop::Fast);
    cluster.promote(&standby);
    let mut id = 1;
    let port = loop {
        id += 1;
        match runtime.block_on(pg_insert(&mut router, id, false)) {
            Ok(port) => break port,
            Err(error) => {
                eprintln!("write {id}: {}", harness::report(&error));
                assert!(!error.commit_unknown() && error.is_transient(), "{error:?}");
            }
        }
        assert!(id < 50, "writes never reached the promoted candidate");
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(port, i64::from(standby.port));
}

/// `postgres://user@h1:p1/db` and `postgres://user@h2:p2/db` as `postgres://user@h1:p1,h2:p2/db`.
fn multi_host(urls: &[String]) -> String {
    let split = |url: &str| {
        let (head, rest) = url.split_once('@').expect("a URL with a user");
        let (host, tail) = rest.split_once('/').expect("a URL with a database");
        (head.to_owned(), host.to_owned(), tail.to_owned())
    };
    let parts: Vec<_> = urls.iter().map(|url| split(url)).collect();
    let hosts: Vec<&str> = parts.iter().map(|(_, host, _)| host.as_str()).collect();
    format!("{}@{}/{}", parts[0].0, hosts.join(","), parts[0].2)
}

/// A replica that stops replicating while the primary is up leaves the read rotation (its
/// data only gets older), saying why, and rejoins once it replicates again.
#[test]
fn pg_a_standby_that_stops_replicating_serves_no_reads() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let (cut_off, streaming) = (cluster.replicas()[0].clone(), cluster.replicas()[1].clone());
    let runtime = runtime();
    let config = pg_config(&cluster).health_check_interval(Duration::from_millis(100));
    let mut router = runtime.block_on(async { pg_router(config) }).unwrap();
    let read_ports = |router: &mut Router| {
        let reads = (0..40).map(|_| runtime.block_on(pg_read_server(router)).unwrap().0);
        reads.collect::<BTreeSet<i32>>()
    };
    let both = BTreeSet::from([i32::from(cut_off.port), i32::from(streaming.port)]);
    assert_eq!(read_ports(&mut router), both);

    cluster.stop_replication(&cut_off);
    wait_until("the cut-off standby leaves the rotation", || {
        !rotation_of(&router, "default", "replica1").0
    });
    let (_, why) = rotation_of(&router, "default", "replica1");
    assert!(why.contains("replicates from no primary"), "{why}");
    assert_eq!(
        read_ports(&mut router),
        BTreeSet::from([i32::from(streaming.port)])
    );

    cluster.start_replication(&cut_off);
    wait_until("the standby rejoins the rotation", || {
        rotation_of(&router, "default", "replica1").0
    });
    assert_eq!(read_ports(&mut router), both);
}

/// The same on MariaDB: a replica whose replication stopped (`STOP SLAVE`) serves no reads.
#[test]
fn mariadb_a_replica_that_stops_replicating_serves_no_reads() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    let (cut_off, replicating) = (cluster.replicas()[0].clone(), cluster.replicas()[1].clone());
    let runtime = runtime();
    let config = maria_config(&cluster).health_check_interval(Duration::from_millis(100));
    let mut router = runtime.block_on(async { maria_router(config) }).unwrap();
    let read_ids = |router: &mut Router| {
        let reads = (0..40).map(|_| runtime.block_on(maria_read_server(router)).unwrap().0);
        reads.collect::<BTreeSet<u32>>()
    };
    let both = BTreeSet::from([cut_off.server_id.unwrap(), replicating.server_id.unwrap()]);
    assert_eq!(read_ids(&mut router), both);

    cluster.stop_replication(&cut_off);
    wait_until("the stopped replica leaves the rotation", || {
        !rotation_of(&router, "maria", "replica1").0
    });
    assert_eq!(
        read_ids(&mut router),
        BTreeSet::from([replicating.server_id.unwrap()])
    );

    cluster.start_replication(&cut_off);
    wait_until("the replica rejoins the rotation", || {
        rotation_of(&router, "maria", "replica1").0
    });
    assert_eq!(read_ids(&mut router), both);
}

/// Whether `server` of `database` takes reads, and why not when it does not.
fn rotation_of(router: &Router, database: &str, server: &str) -> (bool, String) {
    let stats = router.stats();
    let server = stats.database(database).unwrap().server(server).unwrap();
    let why = server.why_out_of_rotation.clone().unwrap_or_default();
    (server.in_rotation, why)
}
