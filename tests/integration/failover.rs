//! Failover: a promoted replica takes writes that reach the other replicas, and a demoted
//! former primary follows it and refuses writes.

use harness::{ServerRef, Stop};

fn names(servers: &[ServerRef]) -> Vec<&str> {
    servers.iter().map(|server| server.name.as_str()).collect()
}

#[test]
fn pg_failover_to_a_standby_then_the_old_primary_follows() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let old = cluster.primary();
    let (first, second) = (&cluster.replicas()[0], &cluster.replicas()[1]);
    let created = cluster.app_sql(&old, "CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
    created.unwrap();
    cluster.wait_caught_up();
    cluster.stop(&old, Stop::Fast);

    cluster.promote(first);
    let new = cluster.primary();
    assert_eq!((new.name.as_str(), new.is_primary), ("replica1", true));
    assert_eq!(names(&cluster.replicas()), ["replica2"]);
    assert_eq!(cluster.sql(&new, "SELECT pg_is_in_recovery()"), "f");
    cluster.app_sql(&new, "INSERT INTO t VALUES (2)").unwrap();
    cluster.wait_caught_up();
    assert_eq!(
        cluster.app_sql(second, "SELECT count(*) FROM t").unwrap(),
        "2"
    );

    cluster.demote(&old);
    assert_eq!(names(&cluster.replicas()), ["primary", "replica2"]);
    assert!(!cluster.server_by_port(old.port).unwrap().is_primary);
    cluster.app_sql(&new, "INSERT INTO t VALUES (3)").unwrap();
    cluster.wait_caught_up();
    assert_eq!(
        cluster.app_sql(&old, "SELECT count(*) FROM t").unwrap(),
        "3"
    );
    let refused = cluster
        .app_sql(&old, "INSERT INTO t VALUES (4)")
        .unwrap_err();
    assert!(refused.contains("25006"), "{refused}");

    // Roles hold across restarts.
    cluster.stop(&old, Stop::Kill);
    cluster.restart(&old);
    cluster.stop(&new, Stop::Fast);
    cluster.restart(&new);
    cluster.app_sql(&new, "INSERT INTO t VALUES (5)").unwrap();
    cluster.wait_caught_up();
    assert_eq!(
        cluster.app_sql(&old, "SELECT count(*) FROM t").unwrap(),
        "4"
    );
}

#[test]
fn pg_a_former_primary_that_wrote_after_the_promotion_is_rewound() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let (old, standby) = (cluster.primary(), cluster.replicas().remove(0));
    let created = cluster.app_sql(&old, "CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
    created.unwrap();
    cluster.wait_caught_up();

    cluster.promote(&standby);
    assert!(cluster.replicas().is_empty());
    // Split brain: both take writes.
    cluster.app_sql(&old, "INSERT INTO t VALUES (100)").unwrap();
    cluster
        .app_sql(&standby, "INSERT INTO t VALUES (2)")
        .unwrap();

    cluster.demote(&old);
    cluster.wait_caught_up();
    let ids = "SELECT string_agg(id::text, ',' ORDER BY id) FROM t";
    assert_eq!(cluster.app_sql(&old, ids).unwrap(), "1,2");
}

#[test]
fn mariadb_failover_to_a_replica_then_the_old_primary_follows() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    let old = cluster.primary();
    let (first, second) = (&cluster.replicas()[0], &cluster.replicas()[1]);
    let created = cluster.app_sql(&old, "CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
    created.unwrap();
    cluster.wait_caught_up();
    cluster.stop(&old, Stop::Fast);

    cluster.promote(first);
    let new = cluster.primary();
    assert_eq!((new.name.as_str(), new.is_primary), ("replica1", true));
    assert_eq!(names(&cluster.replicas()), ["replica2"]);
    assert_eq!(cluster.sql(&new, "SELECT @@read_only"), "0");
    cluster.app_sql(&new, "INSERT INTO t VALUES (2)").unwrap();
    cluster.wait_caught_up();
    assert_eq!(
        cluster.app_sql(second, "SELECT count(*) FROM t").unwrap(),
        "2"
    );

    cluster.demote(&old);
    assert_eq!(names(&cluster.replicas()), ["primary", "replica2"]);
    cluster.app_sql(&new, "INSERT INTO t VALUES (3)").unwrap();
    cluster.wait_caught_up();
    assert_eq!(
        cluster.app_sql(&old, "SELECT count(*) FROM t").unwrap(),
        "3"
    );
    let refused = cluster
        .app_sql(&old, "INSERT INTO t VALUES (4)")
        .unwrap_err();
    assert!(refused.contains("1290"), "{refused}");

    cluster.stop(&old, Stop::Kill);
    cluster.restart(&old);
    cluster.app_sql(&new, "INSERT INTO t VALUES (5)").unwrap();
    cluster.wait_caught_up();
    assert_eq!(
        cluster.app_sql(&old, "SELECT count(*) FROM t").unwrap(),
        "4"
    );
}

#[test]
fn mariadb_a_running_former_primary_is_demoted_in_place() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(1) else {
        return;
    };
    let (old, replica) = (cluster.primary(), cluster.replicas().remove(0));
    let created = cluster.app_sql(&old, "CREATE TABLE t (id int); INSERT INTO t VALUES (1);");
    created.unwrap();
    cluster.wait_caught_up();

    cluster.promote(&replica);
    cluster.demote(&old);
    assert_eq!(cluster.sql(&old, "SELECT @@read_only"), "1");
    cluster
        .app_sql(&replica, "INSERT INTO t VALUES (2)")
        .unwrap();
    cluster.wait_caught_up();
    assert_eq!(
        cluster.app_sql(&old, "SELECT count(*) FROM t").unwrap(),
        "2"
    );
    let refused = cluster
        .app_sql(&old, "INSERT INTO t VALUES (3)")
        .unwrap_err();
    assert!(refused.contains("1290"), "{refused}");
}
