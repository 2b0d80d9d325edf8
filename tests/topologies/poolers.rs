//! PgBouncer in front of the servers. In session mode everything works as directly: writes
//! on the primary, reads on the replica, readers' sessions read-only (PgBouncer refuses the
//! startup packet's `options`, so a statement makes them so), many calls at once. In
//! transaction mode, on any version, a client's session settings do not last from one
//! transaction to the next: the server is refused before any call runs on it, with an error
//! that says what to change.

use diesel_route::{DatabaseConfig, Error};
use harness::{PgBouncer, PoolMode};

use crate::support::{pg_insert, pg_read_server, pg_reader_read_only, pg_router, runtime};

#[test]
fn pgbouncer_in_session_mode_carries_reads_and_writes() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let (primary, replica) = (cluster.primary(), cluster.replicas()[0].clone());
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let Some(to_primary) = harness::pgbouncer_or_skip(&cluster, &primary, PoolMode::Session) else {
        return;
    };
    let to_replica = PgBouncer::start(&cluster, &replica, PoolMode::Session);
    // In session mode each pooled connection holds one of PgBouncer's server connections
    // (`PgBouncer::POOL_SIZE` per server): the pools and the health check must fit in them.
    let config = DatabaseConfig::new(to_primary.url())
        .replica(to_replica.url())
        .max_size(PgBouncer::POOL_SIZE - 2);
    let runtime = runtime();
    let router = runtime.block_on(async { pg_router(config) }).unwrap();

    let calls = (1..=40).map(|id| {
        let mut router = router.clone();
        runtime.spawn(async move {
            let port = pg_insert(&mut router, id, id % 2 == 0).await?;
            let (read_port, in_recovery) = pg_read_server(&mut router).await?;
            let read_only = pg_reader_read_only(&mut router).await?;
            Ok::<_, Error>((port, read_port, in_recovery, read_only))
        })
    });
    let calls: Vec<_> = calls.collect();
    for call in calls {
        let (port, read_port, in_recovery, read_only) = runtime.block_on(call).unwrap().unwrap();
        assert_eq!(port, i64::from(primary.port), "a write went elsewhere");
        assert_eq!((read_port, in_recovery), (i32::from(replica.port), true));
        assert_eq!(read_only, "on", "a reader's session is not read-only");
    }
    let stored = cluster.app_sql(&primary, "SELECT count(*) FROM ledger");
    assert_eq!(stored.unwrap(), "40");
}

/// A primary alone behind PgBouncer in session mode: its reads run in guarded read-only
/// transactions on sessions made read-only by a statement.
#[test]
fn pgbouncer_in_session_mode_carries_guarded_reads_on_the_primary() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    let Some(bouncer) = harness::pgbouncer_or_skip(&cluster, &primary, PoolMode::Session) else {
        return;
    };
    let runtime = runtime();
    let mut router = runtime
        .block_on(async { pg_router(DatabaseConfig::new(bouncer.url())) })
        .unwrap();
    for _ in 0..10 {
        let (port, in_recovery) = runtime.block_on(pg_read_server(&mut router)).unwrap();
        assert_eq!((port, in_recovery), (i32::from(primary.port), false));
        let read_only = runtime.block_on(pg_reader_read_only(&mut router)).unwrap();
        assert_eq!(read_only, "on");
    }
}

#[test]
fn pgbouncer_in_transaction_mode_is_refused_saying_what_to_change() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    let Some(bouncer) = harness::pgbouncer_or_skip(&cluster, &primary, PoolMode::Transaction)
    else {
        return;
    };
    let runtime = runtime();
    let mut router = runtime
        .block_on(async { pg_router(DatabaseConfig::new(bouncer.url())) })
        .unwrap();
    for id in 1..=3 {
        let write = runtime.block_on(pg_insert(&mut router, id, false));
        let read = runtime.block_on(pg_read_server(&mut router));
        for error in [write.map(drop).unwrap_err(), read.map(drop).unwrap_err()] {
            let Error::Unsupported { server, .. } = &error else {
                panic!("expected the server refused, got {error:?}");
            };
            assert_eq!(server.name(), "primary");
            assert!(!error.is_transient(), "{error}");
            let message = error.to_string();
            for fix in ["transaction mode", "any version", "pool_mode = session"] {
                assert!(message.contains(fix), "{message}");
            }
            // No PgBouncer version makes transaction mode keep a session's settings.
            assert!(!message.contains("max_prepared_statements"), "{message}");
        }
    }
    let stored = cluster.app_sql(&primary, "SELECT count(*) FROM ledger");
    assert_eq!(stored.unwrap(), "0", "a write went through");
}
