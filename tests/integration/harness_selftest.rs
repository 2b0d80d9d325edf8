//! The harness itself: its clusters replicate, refuse application writes on replicas, survive
//! restarts, and leave nothing running behind.

use std::net::{TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use harness::{MariaDbCluster, PgCluster, Stop};

use crate::support::{assert_all_closed, finish, ports_of, spawn_quietly, wait_for};

#[test]
fn pg_standbys_replicate_and_refuse_app_writes() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    let replicas = cluster.replicas();
    assert_eq!(cluster.sql(&primary, "SELECT pg_is_in_recovery()"), "f");
    for replica in &replicas {
        assert_eq!(cluster.sql(replica, "SELECT pg_is_in_recovery()"), "t");
    }

    cluster
        .app_sql(
            &primary,
            "CREATE TABLE t (id int); INSERT INTO t VALUES (7);",
        )
        .unwrap();
    cluster.wait_caught_up();
    for replica in &replicas {
        assert_eq!(cluster.sql(replica, "SELECT id FROM t"), "7");
        let refused = cluster
            .app_sql(replica, "INSERT INTO t VALUES (8)")
            .unwrap_err();
        assert!(refused.contains("25006"), "{refused}");
    }
    let is_superuser = cluster.app_sql(
        &primary,
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
    );
    assert_eq!(is_superuser.unwrap(), "f");
}

#[test]
fn pg_urls_name_the_servers_and_new_databases_replicate() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let servers = cluster.servers();
    assert_eq!(
        servers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["primary", "replica1"]
    );
    assert!(servers[0].is_primary && !servers[1].is_primary);
    assert!(servers.iter().all(|server| server.server_id.is_none()));
    assert_eq!(
        cluster.primary_url(),
        format!("postgres://app@127.0.0.1:{}/app", servers[0].port)
    );
    assert_eq!(
        cluster.replica_urls(),
        [format!("postgres://app@127.0.0.1:{}/app", servers[1].port)]
    );
    assert_eq!(
        cluster.server_by_port(servers[1].port).as_ref(),
        Some(&servers[1])
    );
    assert_eq!(cluster.server_by_port(1), None);

    let (primary_url, replica_urls) = cluster.create_database("orders");
    assert!(primary_url.ends_with("/orders") && replica_urls[0].ends_with("/orders"));
    let owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'orders'";
    assert_eq!(cluster.sql(&servers[1], owner), "app");
}

#[test]
fn pg_standby_streams_again_after_a_crash_and_restart() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let (primary, standby) = (cluster.primary(), cluster.replicas().remove(0));
    cluster.sql(&primary, "CREATE TABLE t (id int)");
    cluster.stop(&standby, Stop::Kill);
    assert!(!cluster.is_running(&standby));
    assert!(TcpStream::connect(("127.0.0.1", standby.port)).is_err());
    cluster.sql(&primary, "INSERT INTO t VALUES (1)");

    cluster.restart(&standby);
    let receiver = "SELECT status FROM pg_stat_wal_receiver";
    assert_eq!(cluster.sql(&standby, receiver), "streaming");
    cluster.wait_caught_up();
    assert_eq!(cluster.sql(&standby, "SELECT count(*) FROM t"), "1");

    cluster.stop(&primary, Stop::Fast);
    cluster.restart(&primary);
    cluster.sql(&primary, "INSERT INTO t VALUES (2)");
    cluster.wait_caught_up();
    assert_eq!(cluster.sql(&standby, "SELECT count(*) FROM t"), "2");
}

#[test]
fn pg_replication_delay_holds_back_the_standby() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let (primary, standby) = (cluster.primary(), cluster.replicas().remove(0));
    cluster.sql(&primary, "CREATE TABLE t (id int)");
    cluster.wait_caught_up();
    cluster.set_replication_delay(&standby, Duration::from_millis(700));
    let written = Instant::now();
    cluster.sql(&primary, "INSERT INTO t VALUES (1)");
    assert_eq!(cluster.sql(&standby, "SELECT count(*) FROM t"), "0");
    cluster.wait_caught_up();
    assert!(
        written.elapsed() >= Duration::from_millis(600),
        "{:?}",
        written.elapsed()
    );
    assert_eq!(cluster.sql(&standby, "SELECT count(*) FROM t"), "1");

    cluster.set_replication_delay(&standby, Duration::ZERO);
    cluster.sql(&primary, "INSERT INTO t VALUES (2)");
    cluster.wait_caught_up();
    assert_eq!(cluster.sql(&standby, "SELECT count(*) FROM t"), "2");
}

#[test]
fn pg_terminate_app_sessions_ends_a_psql_session() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    let session = spawn_quietly(
        cluster
            .app_command(&primary)
            .args(["-c", "SELECT pg_sleep(60)"]),
    );
    let app_sessions = "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'";
    wait_for(|| cluster.sql(&primary, app_sessions) == "1");

    let started = Instant::now();
    assert_eq!(cluster.terminate_app_sessions(&primary), 1);
    let (succeeded, stderr) = finish(session);
    assert!(!succeeded && stderr.contains("57P01"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(cluster.sql(&primary, app_sessions), "0");
}

#[test]
fn dropping_a_cluster_stops_its_servers_also_on_panic() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let ports = ports_of(&cluster.servers());
    drop(cluster);
    assert_all_closed(&ports);

    let ports = panic::catch_unwind(|| {
        let cluster = PgCluster::start(0);
        let ports = ports_of(&cluster.servers());
        panic::resume_unwind(Box::new(ports));
    });
    let ports = ports
        .unwrap_err()
        .downcast::<Vec<u16>>()
        .expect("the ports");
    assert_all_closed(&ports);
}

#[test]
fn a_failed_start_reports_the_server_log() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    cluster.stop(&primary, Stop::Fast);
    let squatter = TcpListener::bind(("127.0.0.1", primary.port)).expect("the port is free");
    let failed = panic::catch_unwind(AssertUnwindSafe(|| cluster.restart(&primary)));
    let message = *failed.unwrap_err().downcast::<String>().expect("a message");
    assert!(message.contains("did not start"), "{message}");
    assert!(message.contains("Address already in use"), "{message}");

    drop(squatter);
    cluster.restart(&primary);
    assert_eq!(cluster.sql(&primary, "SELECT 1"), "1");
}

#[test]
fn mariadb_replicas_replicate_and_refuse_app_writes() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    let (primary, replicas) = (cluster.primary(), cluster.replicas());
    assert_eq!(cluster.sql(&primary, "SELECT @@read_only"), "0");
    let mut ids = vec![cluster.sql(&primary, "SELECT @@server_id")];
    for replica in &replicas {
        assert_eq!(cluster.sql(replica, "SELECT @@read_only"), "1");
        let id = cluster.sql(replica, "SELECT @@server_id");
        assert_eq!(
            cluster.server_by_id(id.parse().unwrap()).as_ref(),
            Some(replica)
        );
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "server ids must differ: {ids:?}");

    cluster
        .app_sql(
            &primary,
            "CREATE TABLE t (id int); INSERT INTO t VALUES (7);",
        )
        .unwrap();
    cluster.wait_caught_up();
    for replica in &replicas {
        assert_eq!(cluster.sql(replica, "SELECT id FROM t"), "7");
        let refused = cluster
            .app_sql(replica, "INSERT INTO t VALUES (8)")
            .unwrap_err();
        assert!(refused.contains("1290"), "{refused}");
    }

    let (primary_url, replica_urls) = cluster.create_database("orders");
    assert_eq!(
        primary_url,
        format!("mysql://app:app-secret@127.0.0.1:{}/orders", primary.port)
    );
    assert_eq!(replica_urls.len(), 2);
    let tables = "SELECT count(*) FROM information_schema.SCHEMATA WHERE schema_name = 'orders'";
    assert_eq!(cluster.sql(&replicas[1], tables), "1");
}

#[test]
fn mariadb_replication_resumes_after_restarts() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(1) else {
        return;
    };
    let (primary, replica) = (cluster.primary(), cluster.replicas().remove(0));
    cluster.sql(&primary, "CREATE TABLE t (id int)");
    cluster.stop(&replica, Stop::Kill);
    cluster.sql(&primary, "INSERT INTO t VALUES (1)");
    cluster.restart(&replica);
    cluster.wait_caught_up();
    assert_eq!(cluster.sql(&replica, "SELECT count(*) FROM t"), "1");

    cluster.stop(&primary, Stop::Fast);
    assert!(TcpStream::connect(("127.0.0.1", primary.port)).is_err());
    cluster.restart(&primary);
    cluster.sql(&primary, "INSERT INTO t VALUES (2)");
    cluster.wait_caught_up();
    assert_eq!(cluster.sql(&replica, "SELECT count(*) FROM t"), "2");
}

#[test]
fn mariadb_delay_and_terminated_sessions() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(1) else {
        return;
    };
    let (primary, replica) = (cluster.primary(), cluster.replicas().remove(0));
    let session = spawn_quietly(
        cluster
            .app_command(&replica)
            .args(["-e", "SELECT SLEEP(60)"]),
    );
    let app_sessions = "SELECT count(*) FROM information_schema.PROCESSLIST WHERE user = 'app'";
    wait_for(|| cluster.sql(&replica, app_sessions) == "1");
    assert_eq!(cluster.terminate_app_sessions(&replica), 1);
    let (succeeded, stderr) = finish(session);
    assert!(!succeeded && stderr.contains("2013"), "{stderr}");

    cluster.set_replication_delay(&replica, Duration::from_secs(2));
    let written = Instant::now();
    cluster.sql(&primary, "CREATE TABLE t (id int)");
    let tables = "SELECT count(*) FROM information_schema.TABLES WHERE table_name = 't'";
    assert_eq!(cluster.sql(&replica, tables), "0");
    cluster.wait_caught_up();
    assert!(
        written.elapsed() >= Duration::from_secs(1),
        "{:?}",
        written.elapsed()
    );
    assert_eq!(cluster.sql(&replica, tables), "1");
}

#[test]
fn a_mariadb_cluster_closes_its_ports_on_drop() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(1) else {
        return;
    };
    let ports = ports_of(&cluster.servers());
    drop::<MariaDbCluster>(cluster);
    assert_all_closed(&ports);
}

#[test]
fn pg_terminate_session_ends_one_session_only() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    let sleep = || {
        spawn_quietly(
            cluster
                .app_command(&primary)
                .args(["-c", "SELECT pg_sleep(60)"]),
        )
    };
    let app_sessions = "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'";
    let first = sleep();
    wait_for(|| cluster.sql(&primary, app_sessions) == "1");
    let pid = cluster.sql(
        &primary,
        "SELECT pid FROM pg_stat_activity WHERE usename = 'app'",
    );
    let pid: u32 = pid.parse().unwrap();
    let second = sleep();
    wait_for(|| cluster.sql(&primary, app_sessions) == "2");

    assert!(cluster.terminate_session(&primary, pid));
    let (succeeded, stderr) = finish(first);
    assert!(!succeeded && stderr.contains("57P01"), "{stderr}");
    assert_eq!(cluster.sql(&primary, app_sessions), "1");
    assert!(!cluster.terminate_session(&primary, pid));
    assert_eq!(cluster.terminate_app_sessions(&primary), 1);
    finish(second);
}

#[test]
fn mariadb_terminate_session_ends_one_connection_only() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    let sleep = || {
        spawn_quietly(
            cluster
                .app_command(&primary)
                .args(["-e", "SELECT SLEEP(60)"]),
        )
    };
    let app_sessions = "SELECT count(*) FROM information_schema.PROCESSLIST WHERE user = 'app'";
    let first = sleep();
    wait_for(|| cluster.sql(&primary, app_sessions) == "1");
    let id = "SELECT id FROM information_schema.PROCESSLIST WHERE user = 'app'";
    let id: u64 = cluster.sql(&primary, id).parse().unwrap();
    let second = sleep();
    wait_for(|| cluster.sql(&primary, app_sessions) == "2");

    assert!(cluster.terminate_session(&primary, id));
    let (succeeded, stderr) = finish(first);
    assert!(!succeeded && stderr.contains("2013"), "{stderr}");
    assert_eq!(cluster.sql(&primary, app_sessions), "1");
    assert!(!cluster.terminate_session(&primary, id));
    assert_eq!(cluster.terminate_app_sessions(&primary), 1);
    finish(second);
}
