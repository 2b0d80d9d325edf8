//! Pool options out of range.

use std::time::Duration;

use diesel_route::DatabaseConfig;

use crate::support::{config_error, mysql_url, pg_url, valid};

#[tokio::test]
async fn a_pool_of_zero_connections_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let builder = valid(&dir).database("default", DatabaseConfig::new(pg_url()).max_size(0));
    assert_eq!(
        config_error(builder, "default", "max_size"),
        "must be at least 1"
    );

    let builder = valid(&dir).database("other", DatabaseConfig::new(mysql_url()).max_size(0));
    assert_eq!(
        config_error(builder, "other", "max_size"),
        "must be at least 1"
    );

    let file = dir.path().join("zero.db");
    let sqlite = DatabaseConfig::new(file.to_str().unwrap()).max_size(0);
    let builder = valid(&dir).database("files", sqlite);
    assert_eq!(
        config_error(builder, "files", "max_size"),
        "must be at least 1"
    );
}

#[tokio::test]
async fn more_idle_connections_than_the_pool_holds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = DatabaseConfig::new(pg_url()).max_size(2).min_idle(3);
    let builder = valid(&dir).database("default", config);
    let problem = config_error(builder, "default", "min_idle");
    assert_eq!(problem, "must not exceed the pool's max size");
}

#[tokio::test]
async fn zero_timeouts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = DatabaseConfig::new(pg_url()).checkout_timeout(Duration::ZERO);
    let builder = valid(&dir).database("default", config);
    let problem = config_error(builder, "default", "checkout_timeout");
    assert_eq!(problem, "must be longer than zero");

    let config = DatabaseConfig::new(mysql_url()).connect_timeout(Duration::ZERO);
    let builder = valid(&dir).database("other", config);
    let problem = config_error(builder, "other", "connect_timeout");
    assert_eq!(problem, "must be longer than zero");
}
