//! The pools themselves: contention fails with `PoolTimeout` and never deadlocks, connections
//! are replaced past their max lifetime and after `dispose`, and `min_idle` opens connections
//! before any call.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use diesel_route::Role;

use super::common::{App, whoami, whoami_after, write_mark, write_mark_after};
use crate::support::{assert_pool_timeout, pool_stats, unless_hung, within};

/// 40 writers and 40 readers on pools of 4 connections, each call holding its connection
/// 200 ms, with a 300 ms checkout timeout: every failure is a `PoolTimeout`, some calls
/// succeed, every call ends, and the pools are left idle and working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_times_more_callers_than_connections_time_out_cleanly_and_never_deadlock() {
    let timeout = Duration::from_millis(300);
    let hold = Duration::from_millis(200);
    let configure =
        |config: diesel_route::DatabaseConfig| config.max_size(4).checkout_timeout(timeout);
    let Some(mut app) = App::shared("contention", configure).await else {
        return;
    };
    let started = Instant::now();
    let writes: Vec<_> = (0..40)
        .map(|_| {
            let mut router = app.router.clone();
            tokio::spawn(async move { write_mark_after(&mut router, "busy", hold).await })
        })
        .collect();
    let reads: Vec<_> = (0..40)
        .map(|_| {
            let mut router = app.router.clone();
            tokio::spawn(async move { whoami_after(&mut router, hold).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for (role, task) in writes
        .into_iter()
        .map(|task| (Role::Writer, task))
        .chain(reads.into_iter().map(|task| (Role::Reader, task)))
    {
        let result = unless_hung(Duration::from_secs(30), task)
            .await
            .expect("a task");
        outcomes.push((role, result.map(|ran| ran.server)));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "80 calls took {took:?}");

    for role in [Role::Writer, Role::Reader] {
        let (mut ok, mut timed_out) = (0, 0);
        for (_, outcome) in outcomes.iter().filter(|(each, _)| *each == role) {
            match outcome {
                Ok(_) => ok += 1,
                Err(error) => {
                    assert_pool_timeout(error, role, timeout);
                    timed_out += 1;
                }
            }
        }
        eprintln!("{role}s: {ok} succeeded, {timed_out} timed out, in {took:?}");
        assert!(ok >= 4, "{role}s: only {ok} succeeded");
        assert!(
            timed_out >= 1,
            "{role}s: 40 calls on 4 connections, none timed out"
        );

        let stats = app.stats();
        let pools: Vec<_> = stats
            .servers
            .iter()
            .filter(|server| (server.server == "primary") == (role == Role::Writer))
            .map(|server| pool_stats(server, role))
            .collect();
        let counted: u64 = pools.iter().map(|pool| pool.errors.pool_timeout).sum();
        assert_eq!(counted, timed_out, "{stats:?}");
        for pool in &pools {
            assert_eq!((pool.in_use, pool.waiting), (0, 0), "{stats:?}");
            assert!(pool.open <= 4, "{stats:?}");
        }
    }
    // Free again, the pools serve (a stuck slot would time out).
    for _ in 0..8 {
        write_mark(&mut app.router, "after").await.expect("a write");
        whoami(&mut app.router).await.expect("a read");
    }
}

/// With a max lifetime of 1 s, a connection is not used after 2 s: reads and writes run on
/// new sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_their_max_lifetime_are_replaced() {
    let configure =
        |config: diesel_route::DatabaseConfig| config.max_lifetime(Some(Duration::from_secs(1)));
    let Some(mut app) = App::shared("max_lifetime", configure).await else {
        return;
    };
    let old = used_sessions(&mut app).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let new = used_sessions(&mut app).await;
    assert!(
        old.is_disjoint(&new),
        "sessions older than their max lifetime were used again: {old:?} then {new:?}"
    );
}

/// `dispose` closes every pooled connection; the next calls open new ones and work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispose_closes_every_connection_and_calls_go_on_with_new_ones() {
    let Some(mut app) = App::shared("dispose", |config| config).await else {
        return;
    };
    let old = used_sessions(&mut app).await;
    app.router.dispose().await;
    let stats = app.stats();
    for server in &stats.servers {
        for pool in &server.pools {
            assert_eq!(pool.open, 0, "{stats:?}");
        }
    }
    // The servers see them go.
    let gone = within(Duration::from_secs(10), || {
        let open: BTreeSet<(String, i64)> = app
            .cluster
            .servers()
            .iter()
            .flat_map(|server| {
                let sessions = app.sessions(server);
                sessions.into_iter().map(|pid| (server.name.clone(), pid))
            })
            .collect();
        old.is_disjoint(&open).then_some(())
    })
    .await;
    assert!(gone.is_some(), "disposed sessions {old:?} still open");

    let new = used_sessions(&mut app).await;
    assert!(old.is_disjoint(&new), "{old:?} then {new:?}");
}

/// With `min_idle(3)`, each pool of each server holds 3 open connections shortly after the
/// router is built, before any call; the servers see them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_idle_connections_open_before_any_call() {
    let Some(app) = App::shared("min_idle", |config| config).await else {
        return;
    };
    // A router of its own, built now: the case's router has made calls.
    let router = app.router_with(|config| config.min_idle(3));
    let opened = within(Duration::from_secs(10), || {
        let stats = crate::support::database_stats(&router.stats(), super::KEY);
        let pools = stats.servers.iter().flat_map(|server| &server.pools);
        pools.clone().all(|pool| pool.open >= 3).then_some(stats)
    })
    .await;
    let (took, stats) = opened.unwrap_or_else(|| {
        let stats = crate::support::database_stats(&router.stats(), super::KEY);
        panic!("not every pool opened 3 connections in 10 s: {stats:?}")
    });
    eprintln!("min_idle reached {took:?} after the build");
    assert_eq!(stats.servers.len(), 3);
    for server in &stats.servers {
        let pools: Vec<Role> = server.pools.iter().map(|pool| pool.role).collect();
        let expected = match server.server.as_str() {
            "primary" => vec![Role::Reader, Role::Writer],
            _ => vec![Role::Reader],
        };
        assert_eq!(pools, expected, "{stats:?}");
        for pool in &server.pools {
            assert_eq!((pool.open, pool.idle), (3, 3), "{stats:?}");
            assert_eq!(pool.checkouts, 0, "no call was made: {stats:?}");
        }
        let sessions = app.sessions(&app.server(&server.server));
        let expected = 3 * server.pools.len();
        assert!(
            sessions.len() >= expected,
            "`{}` has {} sessions of the application, expected at least {expected}",
            server.server,
            sessions.len()
        );
    }
    // And they serve.
    let mut router = router;
    whoami(&mut router).await.expect("a read");
    write_mark(&mut router, "min_idle").await.expect("a write");
}

/// The sessions (server, id) used by a write and by reads on both replicas.
async fn used_sessions(app: &mut App) -> BTreeSet<(String, i64)> {
    let mut used = BTreeSet::new();
    let write = write_mark(&mut app.router, "used").await.expect("a write");
    used.insert((write.server, write.pid));
    let reads = app.read_every_replica(200).await;
    assert_eq!(reads.len(), 2, "{reads:?}");
    used.extend(reads.into_iter().map(|ran| (ran.server, ran.pid)));
    used
}
