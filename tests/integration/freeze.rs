//! Frozen servers: connections complete, nothing answers until the server is thawed, and a
//! frozen cluster still stops on drop.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Session, assert_all_closed, ports_of, wait_for};

#[test]
fn a_frozen_pg_server_answers_nothing_until_thawed() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let (primary, standby) = (cluster.primary(), cluster.replicas().remove(0));
    let mut session = Session::open(cluster.app_command(&standby).args(["-q", "-A", "-t"]));
    session.send("SELECT 1;");
    let idle = "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND state = 'idle'";
    wait_for(|| cluster.sql(&standby, idle) == "1");

    cluster.freeze(&standby);
    // The postmaster: the kernel completes the connection, but no startup reply comes.
    assert!(TcpStream::connect(("127.0.0.1", standby.port)).is_ok());
    let started = Instant::now();
    let timed_out = cluster
        .app_command(&standby)
        .env("PGCONNECT_TIMEOUT", "2")
        .args(["-c", "SELECT 1"])
        .output()
        .expect("psql runs");
    let stderr = String::from_utf8_lossy(&timed_out.stderr);
    assert!(!timed_out.status.success(), "{stderr}");
    assert!(stderr.contains("timeout expired"), "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    // The backends: a statement of an open session waits.
    session.send("SELECT 2;");
    session.close_input();
    thread::sleep(Duration::from_millis(500));
    assert!(session.is_running(), "a frozen backend answered");

    cluster.thaw(&standby);
    let ended = session.end();
    assert!(ended.succeeded, "{}", ended.stderr);
    assert_eq!(ended.stdout, "1\n2");
    let written = cluster.app_sql(
        &primary,
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1);",
    );
    written.unwrap();
    cluster.wait_caught_up();
    assert_eq!(cluster.app_sql(&standby, "SELECT id FROM t").unwrap(), "1");
}

#[test]
fn frozen_servers_still_stop_on_drop() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let ports = ports_of(&cluster.servers());
    for server in cluster.servers() {
        cluster.freeze(&server);
    }
    let started = Instant::now();
    drop(cluster);
    assert_all_closed(&ports);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_frozen_mariadb_server_greets_nobody_until_thawed() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    cluster.freeze(&primary);
    // The server speaks first, so the client's read timeout ends the wait for its greeting.
    let mut waiting = TcpStream::connect(("127.0.0.1", primary.port)).expect("the kernel accepts");
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut greeting = [0; 64];
    let timed_out = waiting.read(&mut greeting).unwrap_err();
    assert!(
        matches!(
            timed_out.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut
        ),
        "{timed_out}"
    );
    let client = cluster
        .app_command(&primary)
        .args(["--connect-timeout=1", "-e", "SELECT 1"])
        .output()
        .expect("the client runs");
    let stderr = String::from_utf8_lossy(&client.stderr);
    assert!(!client.status.success(), "{stderr}");
    assert!(
        stderr.contains("2013") && stderr.contains("handshake"),
        "{stderr}"
    );

    cluster.thaw(&primary);
    waiting
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(waiting.read(&mut greeting).unwrap() > 0);
    assert_eq!(cluster.app_sql(&primary, "SELECT 1").unwrap(), "1");

    cluster.freeze(&primary);
    drop(cluster);
    assert_all_closed(&[primary.port]);
}
