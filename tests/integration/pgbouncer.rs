//! PgBouncer in front of a server: queries go through it in both pool modes, also to a
//! server that requires TLS and a password; in transaction mode a prepared statement does not
//! outlive its transaction.

use harness::{ClusterOptions, PgBouncer, PgCluster, PoolMode, Tls};

use crate::support::{Ended, Session, wait_for};

#[test]
fn queries_go_through_pgbouncer_in_both_modes() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let primary = cluster.primary();
    for mode in [PoolMode::Session, PoolMode::Transaction] {
        let Some(bouncer) = harness::pgbouncer_or_skip(&cluster, &primary, mode) else {
            return;
        };
        assert_ne!(bouncer.port(), primary.port);
        assert_eq!(
            bouncer.url(),
            format!("postgres://app@127.0.0.1:{}/app", bouncer.port())
        );
        assert_eq!(bouncer.app_sql("SHOW port"), Ok(primary.port.to_string()));
        let port = bouncer.port();
        drop(bouncer);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
    let version = PgBouncer::version();
    eprintln!("pgbouncer {version}");
    assert!(version.starts_with("1."), "{version}");
}

#[test]
fn pgbouncer_logs_in_with_tls_and_a_password() {
    let options = ClusterOptions {
        tls: Tls::Required,
        password: true,
        ..ClusterOptions::default()
    };
    let Some(cluster) = harness::pg_cluster_with_or_skip(options) else {
        return;
    };
    let primary = cluster.primary();
    let Some(bouncer) = harness::pgbouncer_or_skip(&cluster, &primary, PoolMode::Transaction)
    else {
        return;
    };
    let ssl = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    assert_eq!(bouncer.app_sql(ssl), Ok("t".to_owned()));
    let refused = bouncer
        .app_command()
        .env("PGPASSWORD", "wrong")
        .args(["-c", "SELECT 1"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(bouncer.url().starts_with("postgres://app:app-secret@"));
}

#[test]
fn in_transaction_mode_a_prepared_statement_is_gone_in_the_next_transaction() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let Some(ended) =
        execute_after_another_client_took_its_connection(&cluster, PoolMode::Transaction)
    else {
        return;
    };
    assert!(!ended.succeeded);
    assert!(ended.stderr.contains("26000"), "{}", ended.stderr);
}

#[test]
fn in_session_mode_a_prepared_statement_lasts_the_session() {
    let Some(cluster) = harness::pg_cluster_or_skip(0) else {
        return;
    };
    let Some(ended) = execute_after_another_client_took_its_connection(&cluster, PoolMode::Session)
    else {
        return;
    };
    assert!(ended.succeeded, "{}", ended.stderr);
    assert_eq!(ended.stdout, "1");
}

/// Through PgBouncer in `mode`: a client prepares a statement in one transaction, a second
/// client begins a transaction (on the server connection the first one's transaction ran on,
/// if the first one let it go), then the first client executes its statement.
fn execute_after_another_client_took_its_connection(
    cluster: &PgCluster,
    mode: PoolMode,
) -> Option<Ended> {
    let primary = cluster.primary();
    let bouncer = harness::pgbouncer_or_skip(cluster, &primary, mode)?;
    let session = || Session::open(bouncer.app_command().args(["-q", "-A", "-t"]));
    let app = |condition: &str| {
        let sql =
            format!("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND {condition}");
        cluster.sql(&primary, &sql)
    };
    let mut preparing = session();
    preparing.send("PREPARE p AS SELECT 1;");
    wait_for(|| app("state = 'idle' AND query LIKE 'PREPARE p%'") == "1");
    let mut other = session();
    other.send("BEGIN;");
    other.send("SELECT 2;");
    wait_for(|| app("state = 'idle in transaction'") == "1");
    preparing.send("EXECUTE p;");
    let ended = preparing.end();
    other.end();
    Some(ended)
}
