//! Held-back replication and held commits: what a replica misses while held back, it gets
//! once released; a commit waits until its session is terminated.

use crate::support::{finish, spawn_quietly, wait_for};

const RECEIVERS: &str = "SELECT count(*) FROM pg_stat_wal_receiver";

#[test]
fn pg_paused_replay_and_stopped_replication_hold_back_one_standby() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    let (held, other) = (&cluster.replicas()[0], &cluster.replicas()[1]);
    cluster
        .app_sql(&primary, "CREATE TABLE t (id int)")
        .unwrap();
    cluster.wait_caught_up();
    let count = |server| cluster.app_sql(server, "SELECT count(*) FROM t").unwrap();

    cluster.pause_replay(held);
    cluster
        .app_sql(&primary, "INSERT INTO t VALUES (1)")
        .unwrap();
    // Waits for the other standby only.
    cluster.wait_caught_up();
    assert_eq!((count(held), count(other)), ("0".into(), "1".into()));
    assert_eq!(cluster.sql(held, RECEIVERS), "1");
    cluster.resume_replay(held);
    cluster.wait_caught_up();
    assert_eq!(count(held), "1");

    cluster.stop_replication(held);
    assert_eq!(cluster.sql(held, RECEIVERS), "0");
    cluster
        .app_sql(&primary, "INSERT INTO t VALUES (2)")
        .unwrap();
    cluster.wait_caught_up();
    assert_eq!((count(held), count(other)), ("1".into(), "2".into()));
    cluster.start_replication(held);
    cluster.wait_caught_up();
    assert_eq!(count(held), "2");

    // A restart ends the hold.
    cluster.stop_replication(held);
    cluster.stop(held, harness::Stop::Fast);
    cluster.restart(held);
    cluster
        .app_sql(&primary, "INSERT INTO t VALUES (3)")
        .unwrap();
    cluster.wait_caught_up();
    assert_eq!(count(held), "3");
}

#[test]
fn mariadb_stopped_replication_holds_back_one_replica() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    let (held, other) = (&cluster.replicas()[0], &cluster.replicas()[1]);
    cluster
        .app_sql(&primary, "CREATE TABLE t (id int)")
        .unwrap();
    cluster.wait_caught_up();
    let count = |server| cluster.app_sql(server, "SELECT count(*) FROM t").unwrap();

    cluster.stop_replication(held);
    cluster
        .app_sql(&primary, "INSERT INTO t VALUES (1)")
        .unwrap();
    cluster.wait_caught_up();
    assert_eq!((count(held), count(other)), ("0".into(), "1".into()));
    cluster.start_replication(held);
    cluster.wait_caught_up();
    assert_eq!(count(held), "1");
}

#[test]
fn pg_a_held_commit_waits_until_its_session_is_terminated() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE t (id int)")
        .unwrap();
    cluster.hold_commits();
    let insert = spawn_quietly(
        cluster
            .app_command(&primary)
            .args(["-c", "INSERT INTO t VALUES (1)"]),
    );
    let waiting = "SELECT count(*) FROM pg_stat_activity
                   WHERE usename = 'app' AND wait_event = 'SyncRep'";
    wait_for(|| cluster.sql(&primary, waiting) == "1");
    assert_eq!(cluster.sql(&primary, "SELECT count(*) FROM t"), "0");

    assert_eq!(cluster.terminate_app_sessions(&primary), 1);
    let (succeeded, stderr) = finish(insert);
    assert!(!succeeded && stderr.contains("57P01"), "{stderr}");
    assert_eq!(cluster.sql(&primary, "SELECT count(*) FROM t"), "1");

    cluster.release_commits();
    cluster
        .app_sql(&primary, "INSERT INTO t VALUES (2)")
        .unwrap();
    assert_eq!(cluster.sql(&primary, "SELECT count(*) FROM t"), "2");
}

#[test]
fn pg_released_commits_end_their_wait() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE t (id int)")
        .unwrap();
    cluster.hold_commits();
    let insert = spawn_quietly(
        cluster
            .app_command(&primary)
            .args(["-c", "INSERT INTO t VALUES (1)"]),
    );
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'";
    wait_for(|| cluster.sql(&primary, waiting) == "1");
    cluster.release_commits();
    let (succeeded, stderr) = finish(insert);
    assert!(succeeded, "{stderr}");
    assert_eq!(cluster.sql(&primary, "SELECT count(*) FROM t"), "1");
}
