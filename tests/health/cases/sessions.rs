//! Sessions that die behind the pool's back: killed by an administrator, or closed by the
//! server's idle timeout. The next calls get live connections with no error; the keepalive
//! keeps idle connections from timing out.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use diesel_route::ReadFallback;

use super::common::{App, whoami, whoami_after, write_mark, write_mark_after};
use crate::support::{Ran, blocking, server_stats, within};

/// Every server kills every application session while the pool's connections were used
/// within the last second (so the pre-ping's window would hand them out unchecked): the next
/// reads and writes still succeed, on new sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_every_session_is_killed_the_next_reads_and_writes_succeed() {
    let Some(mut app) = App::own(|_| {}, |config| config).await else {
        return;
    };
    let mut old = BTreeSet::new();
    old.insert(write_mark(&mut app.router, "warm").await.unwrap());
    old.extend(app.read_every_replica(200).await);

    let killed_at = Instant::now();
    let killed = kill_every_session(&app, &app.cluster.servers());
    eprintln!("killed {killed} sessions in {:?}", killed_at.elapsed());
    assert!(killed >= 3, "{killed}");

    for n in 1..=10 {
        let read = whoami(&mut app.router)
            .await
            .unwrap_or_else(|e| panic!("read {n} after the kill: {e:?}\n{:?}", app.stats()));
        assert!(!old.contains(&read), "{read:?} is a killed session");
        let write = write_mark(&mut app.router, "after")
            .await
            .unwrap_or_else(|e| panic!("write {n} after the kill: {e:?}"));
        assert!(!old.contains(&write), "{write:?} is a killed session");
    }
}

/// Killing every session also kills the health check's own connection to each replica. The
/// replicas are healthy: they must stay in the rotation, so that with `ReadFallback::Fail` no
/// read fails with `NoServerAvailable` over the next health checks. (Every checkout pings
/// here, so that the pool's own killed connections play no part.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_health_check_connections_do_not_take_healthy_replicas_out() {
    let interval = Duration::from_millis(300);
    let configure = |config: diesel_route::DatabaseConfig| {
        config
            .health_check_interval(interval)
            .ping_after(Duration::ZERO)
            .read_fallback(ReadFallback::Fail)
    };
    let Some(mut app) = App::own(|_| {}, configure).await else {
        return;
    };
    assert_eq!(app.read_every_replica(200).await.len(), 2);
    // A replica's position is known once its health check answered, on a connection the
    // kill below then ends.
    let checked = within(Duration::from_secs(30), || {
        let stats = app.stats();
        let positions = ["replica1", "replica2"].map(|name| server_stats(&stats, name).position);
        positions.iter().all(Option::is_some).then_some(())
    })
    .await;
    assert!(
        checked.is_some(),
        "no health check answered: {:?}",
        app.stats()
    );
    kill_every_session(&app, &app.cluster.replicas());
    // Time passing: reads over five health-check intervals, while the checks find their
    // connections killed.
    let until = Instant::now() + interval * 5;
    let mut reads = 0;
    while Instant::now() < until {
        whoami(&mut app.router).await.unwrap_or_else(|e| {
            panic!(
                "read {} after the kill: {e:?}\n{:?}",
                reads + 1,
                app.stats()
            )
        });
        reads += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = app.stats();
    for name in ["replica1", "replica2"] {
        let replica = server_stats(&stats, name);
        assert!(replica.in_rotation, "{stats:?}");
        assert_eq!(replica.ejections, 0, "{stats:?}");
    }
}

/// Each server closes sessions idle for 2 s (`idle_session_timeout`, `wait_timeout`); after
/// 3 s of idling, every pooled connection is dead, and the next reads and writes succeed on
/// new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_server_timed_out_are_replaced_without_an_error() {
    let idle = Duration::from_secs(2);
    let prepare = |cluster: &super::Cluster| super::set_server_idle_timeout(cluster, idle);
    let Some(mut app) = App::own(prepare, |config| config.keepalive(None)).await else {
        return;
    };
    let warm = warm_up(&mut app).await;
    // The premise: once the idle timeout has passed, the servers close every one of them.
    let closed = within(idle + Duration::from_secs(30), || {
        let alive = |server: &String| app.sessions(&app.server(server));
        let kept = |(server, pids): (&String, &BTreeSet<i64>)| !pids.is_disjoint(&alive(server));
        (!warm.iter().any(kept)).then_some(())
    })
    .await;
    assert!(
        closed.is_some(),
        "the servers kept some of {warm:?} past their idle timeout"
    );

    for n in 1..=5 {
        let read = whoami(&mut app.router)
            .await
            .unwrap_or_else(|e| panic!("read {n} after the idle timeout: {e:?}"));
        assert!(!warm[&read.server].contains(&read.pid), "{read:?}");
        let write = write_mark(&mut app.router, "after idling")
            .await
            .unwrap_or_else(|e| panic!("write {n} after the idle timeout: {e:?}"));
        assert!(!warm["primary"].contains(&write.pid), "{write:?}");
    }
}

/// With a keepalive every second and servers that close sessions idle for 2 s, the pool's
/// connections survive 5 s of idling: the same sessions are alive on the servers, and the
/// next calls run on them. (Health checks at most every 30 s: the health check's own
/// connection is not the keepalive's to ping, and must not take a replica out, disposing of
/// its pool, during the case.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keepalive_keeps_idle_connections_past_the_servers_idle_timeout() {
    let idle = Duration::from_secs(2);
    let prepare = |cluster: &super::Cluster| super::set_server_idle_timeout(cluster, idle);
    let configure = |config: diesel_route::DatabaseConfig| {
        config
            .keepalive(Some(Duration::from_secs(1)))
            .health_check_interval(Duration::from_secs(30))
    };
    let Some(mut app) = App::own(prepare, configure).await else {
        return;
    };
    let warm = warm_up(&mut app).await;
    // Time passing: 5 s of idling, over twice the servers' idle timeout.
    tokio::time::sleep(Duration::from_secs(5)).await;

    for (server, pids) in &warm {
        let alive = app.sessions(&app.server(server));
        assert!(
            pids.is_subset(&alive),
            "`{server}`: the pool's sessions were {pids:?}, the server has {alive:?} after 5 s \
             of keepalive"
        );
    }
    for n in 1..=5 {
        let read = whoami(&mut app.router)
            .await
            .unwrap_or_else(|e| panic!("read {n}: {e:?}"));
        assert!(
            warm[&read.server].contains(&read.pid),
            "{read:?}: a new session"
        );
        let write = write_mark(&mut app.router, "kept")
            .await
            .unwrap_or_else(|e| panic!("write {n}: {e:?}"));
        assert!(
            warm["primary"].contains(&write.pid),
            "{write:?}: a new session"
        );
    }
}

/// Kills every application session on each of `servers`, all at once; how many there were.
fn kill_every_session(app: &App, servers: &[harness::ServerRef]) -> usize {
    blocking(|| {
        std::thread::scope(|scope| {
            let kills: Vec<_> = servers
                .iter()
                .map(|server| scope.spawn(|| app.cluster.terminate_app_sessions(server)))
                .collect();
            kills.into_iter().map(|kill| kill.join().unwrap()).sum()
        })
    })
}

/// Opens several connections in each pool (concurrent calls that hold theirs 300 ms), and
/// returns the sessions each server gave them.
async fn warm_up(app: &mut App) -> HashMap<String, BTreeSet<i64>> {
    let hold = Duration::from_millis(300);
    // Both replicas get reads, but for a chance of 2^-15.
    let reads = (0..16).map(|_| {
        let mut router = app.router.clone();
        async move { whoami_after(&mut router, hold).await }
    });
    let writes = (0..3).map(|_| {
        let mut router = app.router.clone();
        async move { write_mark_after(&mut router, "warm", hold).await }
    });
    let (reads, writes) = tokio::join!(
        run_concurrently(reads.collect()),
        run_concurrently(writes.collect())
    );
    let mut warm = HashMap::<String, BTreeSet<i64>>::new();
    for ran in reads.into_iter().chain(writes) {
        let Ran { server, pid } = ran.expect("a warm-up call");
        warm.entry(server).or_default().insert(pid);
    }
    assert_eq!(warm.len(), 3, "calls on every server: {warm:?}");
    warm
}

/// Runs every future in a task of its own; their outputs, in order.
async fn run_concurrently<T: Send + 'static>(
    futures: Vec<impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.expect("a task"));
    }
    outputs
}
