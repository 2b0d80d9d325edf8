//! A valid configuration of every database, for tests to spoil one setting of, and the
//! checks every configuration error must pass.

use diesel_route::{DatabaseConfig, Error, Router, RouterBuilder};
use tempfile::TempDir;

use crate::Databases;

/// The password in every URL: no message may show it.
pub(crate) const PASSWORD: &str = "hunter2";

pub(crate) fn pg_url() -> String {
    format!("postgres://app:{PASSWORD}@db.internal:5432/app")
}

pub(crate) fn mysql_url() -> String {
    format!("mysql://app:{PASSWORD}@db.internal:3306/app")
}

/// A builder with a valid configuration for each database. No server is contacted:
/// connections open on first use. The SQLite file is created in `dir`.
pub(crate) fn valid(dir: &TempDir) -> RouterBuilder {
    let file = dir.path().join("files.db");
    Router::builder(Databases)
        .database("default", DatabaseConfig::new(pg_url()))
        .database("other", DatabaseConfig::new(mysql_url()))
        .database("files", DatabaseConfig::new(file.to_str().unwrap()))
}

/// Builds the router, expecting a configuration error of `database`'s `setting`; returns
/// its problem, having checked that no password shows.
pub(crate) fn config_error(builder: RouterBuilder, database: &str, setting: &str) -> String {
    let error = builder.build().expect_err("an invalid configuration");
    assert_no_password(&error.to_string());
    assert_no_password(&format!("{error:?}"));
    let Error::Config {
        database: named_database,
        setting: named_setting,
        problem,
    } = error
    else {
        panic!("expected a configuration error, got {error:?}");
    };
    assert_eq!(
        (named_database.as_str(), named_setting.as_str()),
        (database, setting)
    );
    problem
}

pub(crate) fn assert_no_password(shown: &str) {
    assert!(!shown.contains(PASSWORD), "the password shows: {shown}");
}

#[tokio::test]
async fn the_valid_configuration_builds() {
    let dir = tempfile::tempdir().unwrap();
    valid(&dir).build().unwrap();
}
