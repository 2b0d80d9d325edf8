//! TLS and password clusters: verified TLS works on every server, plaintext is refused where
//! TLS is required, and clients that verify refuse the wrong certificates.

use harness::{ClusterOptions, PG_APP_PASSWORD, ServerCert, Tls};

use crate::support::output;

const PG_SSL: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

#[test]
fn pg_tls_required_with_a_password() {
    let options = ClusterOptions {
        replicas: 1,
        tls: Tls::Required,
        password: true,
        ..ClusterOptions::default()
    };
    let Some(cluster) = harness::pg_cluster_with_or_skip(options) else {
        return;
    };
    let certificates = harness::certificates();
    for server in cluster.servers() {
        assert_eq!(cluster.sql(&server, "SHOW ssl"), "on");
        let mut verified = cluster.app_command(&server);
        verified
            .env("PGSSLMODE", "verify-full")
            .env("PGSSLROOTCERT", &certificates.ca_cert);
        assert_eq!(
            output(verified.args(["-A", "-t", "-c", PG_SSL])),
            Ok("t".to_owned())
        );
    }

    let primary = cluster.primary();
    let query = ["-c", "SELECT 1"];
    let mut plaintext = cluster.app_command(&primary);
    let refused = output(plaintext.env("PGSSLMODE", "disable").args(query)).unwrap_err();
    assert!(refused.contains("no encryption"), "{refused}");
    let mut untrusted = cluster.app_command(&primary);
    untrusted
        .env("PGSSLMODE", "verify-ca")
        .env("PGSSLROOTCERT", &certificates.other_ca_cert);
    let refused = output(untrusted.args(query)).unwrap_err();
    assert!(refused.contains("certificate verify failed"), "{refused}");
    let mut wrong_password = cluster.app_command(&primary);
    let refused = output(wrong_password.env("PGPASSWORD", "wrong").args(query)).unwrap_err();
    assert!(
        refused.contains("password authentication failed"),
        "{refused}"
    );
    let mut no_password = cluster.app_command(&primary);
    let refused = output(no_password.env_remove("PGPASSWORD").arg("-w").args(query));
    assert!(refused.unwrap_err().contains("no password supplied"));

    assert_eq!(
        cluster.primary_url(),
        format!(
            "postgres://app:{PG_APP_PASSWORD}@127.0.0.1:{}/app",
            primary.port
        )
    );
    let ca = certificates.ca_cert.display();
    assert_eq!(
        cluster.url_with_params(
            &primary,
            &[("sslmode", "verify-full"), ("sslrootcert", &ca.to_string())]
        ),
        format!(
            "{}?sslmode=verify-full&sslrootcert={ca}",
            cluster.primary_url()
        )
    );
    let written = cluster.app_sql(
        &primary,
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1);",
    );
    written.unwrap();
    cluster.wait_caught_up();
    let replica = cluster.replicas().remove(0);
    assert_eq!(cluster.app_sql(&replica, "SELECT id FROM t").unwrap(), "1");
}

#[test]
fn pg_a_wrong_host_certificate_passes_only_chain_verification() {
    let options = ClusterOptions {
        tls: Tls::Optional,
        server_cert: ServerCert::WrongHost,
        ..ClusterOptions::default()
    };
    let Some(cluster) = harness::pg_cluster_with_or_skip(options) else {
        return;
    };
    let primary = cluster.primary();
    let ca = &harness::certificates().ca_cert;
    let ssl = |mode: &str| {
        let mut psql = cluster.app_command(&primary);
        psql.env("PGSSLMODE", mode).env("PGSSLROOTCERT", ca);
        output(psql.args(["-A", "-t", "-c", PG_SSL]))
    };
    let refused = ssl("verify-full").unwrap_err();
    assert!(refused.contains("does not match host name"), "{refused}");
    assert_eq!(ssl("verify-ca"), Ok("t".to_owned()));
    assert_eq!(ssl("disable"), Ok("f".to_owned()));
    assert_eq!(
        cluster.primary_url(),
        format!("postgres://app@127.0.0.1:{}/app", primary.port)
    );
}

#[test]
fn mariadb_tls_required() {
    let options = ClusterOptions {
        replicas: 1,
        tls: Tls::Required,
        ..ClusterOptions::default()
    };
    let Some(cluster) = harness::mariadb_cluster_with_or_skip(options) else {
        return;
    };
    let certificates = harness::certificates();
    let verify = |ca: &std::path::Path| {
        [
            format!("--ssl-ca={}", ca.display()),
            "--ssl-verify-server-cert".to_owned(),
        ]
    };
    for server in cluster.servers() {
        let mut client = cluster.app_command(&server);
        client
            .args(verify(&certificates.ca_cert))
            .args(["-e", "SHOW STATUS LIKE 'Ssl_cipher'"]);
        let cipher = output(&mut client).unwrap();
        assert!(
            cipher.starts_with("Ssl_cipher\t") && cipher.len() > "Ssl_cipher\t".len(),
            "{cipher}"
        );
    }

    let primary = cluster.primary();
    let mut plaintext = cluster.app_command(&primary);
    let refused = output(plaintext.args(["--skip-ssl", "-e", "SELECT 1"])).unwrap_err();
    assert!(refused.contains("1045"), "{refused}");
    let mut untrusted = cluster.app_command(&primary);
    untrusted
        .args(verify(&certificates.other_ca_cert))
        .args(["-e", "SELECT 1"]);
    let refused = output(&mut untrusted).unwrap_err();
    assert!(refused.contains("2026"), "{refused}");
    // Root, the harness's own user, may still connect in plaintext.
    assert_eq!(cluster.sql(&primary, "SELECT 1"), "1");

    let written = cluster.app_sql(
        &primary,
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1);",
    );
    written.unwrap();
    cluster.wait_caught_up();
    let replica = cluster.replicas().remove(0);
    assert_eq!(cluster.app_sql(&replica, "SELECT id FROM t").unwrap(), "1");
}

#[test]
fn mariadb_a_wrong_host_certificate_passes_only_chain_verification() {
    let options = ClusterOptions {
        tls: Tls::Optional,
        server_cert: ServerCert::WrongHost,
        ..ClusterOptions::default()
    };
    let Some(cluster) = harness::mariadb_cluster_with_or_skip(options) else {
        return;
    };
    let primary = cluster.primary();
    let ca = format!("--ssl-ca={}", harness::certificates().ca_cert.display());
    let cipher = |args: &[&str]| {
        let mut client = cluster.app_command(&primary);
        output(
            client
                .args(args)
                .args(["-e", "SHOW STATUS LIKE 'Ssl_cipher'"]),
        )
    };
    let refused = cipher(&[&ca, "--ssl-verify-server-cert"]).unwrap_err();
    assert!(refused.contains("2026"), "{refused}");
    assert!(cipher(&[&ca]).unwrap().len() > "Ssl_cipher\t".len());
    assert_eq!(cipher(&["--skip-ssl"]).unwrap(), "Ssl_cipher");
}
