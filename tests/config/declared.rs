//! Configuration and declaration must match: every declared database is configured, and
//! nothing else is.

use diesel_route::{DatabaseConfig, Router};

use crate::Databases;
use crate::support::{config_error, pg_url, valid};

#[tokio::test]
async fn a_declared_database_without_configuration_is_refused() {
    let builder = Router::builder(Databases).database("default", DatabaseConfig::new(pg_url()));
    let problem = config_error(builder, "other", "RouterBuilder");
    assert!(problem.contains("has no configuration"), "{problem}");
    assert!(
        problem.contains(".database(") && problem.contains(".with_env()"),
        "{problem}"
    );
}

#[tokio::test]
async fn an_undeclared_key_is_refused_naming_the_declared_ones() {
    let dir = tempfile::tempdir().unwrap();
    let builder = valid(&dir).database("analytics", DatabaseConfig::new(pg_url()));
    let problem = config_error(builder, "analytics", "RouterBuilder::database");
    assert!(problem.contains("not declared"), "{problem}");
    assert!(
        problem.contains("`default`, `other` or `files`"),
        "{problem}"
    );
}
