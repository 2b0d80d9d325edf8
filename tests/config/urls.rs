//! URLs: malformed, of an unknown scheme, of another backend, or naming nothing to connect
//! to.

use diesel_route::DatabaseConfig;

use crate::support::{PASSWORD, config_error, mysql_url, pg_url, valid};

#[tokio::test]
async fn a_malformed_primary_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://app:{PASSWORD}@db.internal:port/app");
    let builder = valid(&dir).database("default", DatabaseConfig::new(url));
    let problem = config_error(builder, "default", "DatabaseConfig::new");
    assert!(problem.starts_with("is not a valid URL"), "{problem}");
    // A "port" that is not a number may be a password whose host was forgotten: hidden,
    // while the parser's reason says what is wrong.
    assert!(problem.contains("db.internal:***/app"), "{problem}");
    assert!(problem.contains("invalid port number"), "{problem}");
}

#[tokio::test]
async fn a_malformed_replica_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let replica = format!("mysql://app:{PASSWORD}@replica:3306:3306/app");
    let builder = valid(&dir).database("other", DatabaseConfig::new(mysql_url()).replica(replica));
    let problem = config_error(builder, "other", "replica");
    assert!(problem.starts_with("is not a valid URL"), "{problem}");
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_naming_the_expected_ones() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis://app:{PASSWORD}@cache.internal/0");
    let builder = valid(&dir).database("default", DatabaseConfig::new(url));
    let problem = config_error(builder, "default", "DatabaseConfig::new");
    assert_eq!(
        problem,
        "has scheme `redis`, expected `postgres` or `postgresql`"
    );
}

#[tokio::test]
async fn a_url_of_another_backend_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let builder = valid(&dir).database("default", DatabaseConfig::new(mysql_url()));
    let problem = config_error(builder, "default", "DatabaseConfig::new");
    assert_eq!(
        problem,
        "has scheme `mysql`, expected `postgres` or `postgresql`"
    );

    let builder = valid(&dir).database("other", DatabaseConfig::new(pg_url()));
    let problem = config_error(builder, "other", "DatabaseConfig::new");
    assert_eq!(
        problem,
        "has scheme `postgres`, expected `mysql` or `mariadb`"
    );

    let builder = valid(&dir).database("other", DatabaseConfig::new(mysql_url()).replica(pg_url()));
    let problem = config_error(builder, "other", "replica");
    assert_eq!(
        problem,
        "has scheme `postgres`, expected `mysql` or `mariadb`"
    );
}

/// SQLite takes file paths: a server URL is refused, naming its scheme.
#[tokio::test]
async fn a_server_url_for_a_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let builder = valid(&dir).database("files", DatabaseConfig::new(pg_url()));
    let problem = config_error(builder, "files", "DatabaseConfig::new");
    assert!(problem.starts_with("has scheme `postgres`"), "{problem}");
    assert!(problem.contains("declared `sqlite`"), "{problem}");
}

#[tokio::test]
async fn a_url_without_a_host_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let builder = valid(&dir).database("other", DatabaseConfig::new("mysql:///app"));
    let problem = config_error(builder, "other", "DatabaseConfig::new");
    assert!(
        problem.contains("no host") || problem.contains("not a valid URL"),
        "{problem}"
    );
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let builder = valid(&dir).database("files", DatabaseConfig::new("sqlite::memory:"));
    let problem = config_error(builder, "files", "DatabaseConfig::new");
    assert!(problem.starts_with("is an in-memory database"), "{problem}");
}

#[tokio::test]
async fn scheme_aliases_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let postgresql = pg_url().replace("postgres://", "postgresql://");
    let mariadb = mysql_url().replace("mysql://", "mariadb://");
    let file = dir.path().join("aliased.db");
    valid(&dir)
        .database("default", DatabaseConfig::new(postgresql))
        .database("other", DatabaseConfig::new(mariadb))
        .database(
            "files",
            DatabaseConfig::new(format!("sqlite://{}", file.display())),
        )
        .build()
        .unwrap();
    assert!(
        file.exists(),
        "the SQLite file is created when the router is built"
    );
}
