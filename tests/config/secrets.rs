//! Passwords never show: not in configurations, builders or errors, in whatever place of
//! the URL they stand, also when the URL is malformed.

use diesel_route::{DatabaseConfig, Error};

use crate::support::{PASSWORD, assert_no_password, config_error, mysql_url, pg_url, valid};

#[tokio::test]
async fn configurations_and_builders_never_print_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let config = DatabaseConfig::new(pg_url())
        .replica(pg_url().replace("db.internal", "replica1"))
        .replica(format!("postgres://app@replica2/app?password={PASSWORD}"));
    let shown = format!("{config:?}");
    assert_no_password(&shown);
    assert!(
        shown.contains("replica1") && shown.contains("replica2"),
        "{shown}"
    );
    assert_no_password(&format!("{:?}", valid(&dir).database("default", config)));
}

#[tokio::test]
async fn a_malformed_url_with_a_password_parameter_does_not_print_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://db.internal:port/app?user=app&password={PASSWORD}");
    assert_no_password(&config_and_error(&dir, DatabaseConfig::new(url)));
}

/// tokio-postgres also takes libpq's `key=value` strings; diesel-route wants a URL, and
/// must not print the password while saying so.
#[tokio::test]
async fn a_key_value_connection_string_does_not_print_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let conninfo = format!("host=db.internal user=app password={PASSWORD} dbname=app");
    assert_no_password(&config_and_error(&dir, DatabaseConfig::new(conninfo)));
}

/// `config` (of `default`) printed with `Debug`, and the error building it gives, printed
/// with `Display` and `Debug`.
fn config_and_error(dir: &tempfile::TempDir, config: DatabaseConfig) -> String {
    let shown = format!("{config:?}");
    let error = valid(dir).database("default", config).build().unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    format!("config: {shown}\nerror: {error}\nerror: {error:?}")
}

#[tokio::test]
async fn a_password_with_an_at_sign_does_not_leak_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let url = mysql_url().replace(PASSWORD, &format!("x@{PASSWORD}"));
    let malformed = url.replace(":3306", ":port");
    assert_no_password(&format!("{:?}", DatabaseConfig::new(&url)));
    assert_no_password(&format!("{:?}", DatabaseConfig::new(&malformed)));
    let builder = valid(&dir).database("other", DatabaseConfig::new(malformed));
    config_error(builder, "other", "DatabaseConfig::new");
}

#[tokio::test]
async fn token_keys_never_show() {
    let dir = tempfile::tempdir().unwrap();
    let key = "a token key that must never show";
    let builder = valid(&dir).token_key(key).accept_token_key(key);
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains(key) && shown.contains("2 redacted"),
        "{shown}"
    );
    let problem = config_error(
        valid(&dir).token_key("tiny-key"),
        "every database",
        "RouterBuilder::token_key",
    );
    assert!(
        !problem.contains("tiny-key") && problem.contains("16 bytes"),
        "{problem}"
    );
}
