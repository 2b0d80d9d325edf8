//! Configuration from the environment: `DATABASE_URL` for `default`, `<KEY>_DATABASE_URL`
//! and friends for the others.
//!
//! The environment is the process's: each test runs again in a child process of this test
//! binary, with the variables it needs and none of the caller's `*DATABASE*` variables.

use std::process::Command;

use diesel_route::{DatabaseConfig, Router};

use crate::Databases;
use crate::support::{config_error, mysql_url, pg_url};

/// Set in the child process.
const CHILD: &str = "DIESEL_ROUTE_TESTS_ENV_CHILD";

/// In the parent: runs test `name` of this module in a child process whose environment has
/// `vars` and no other `*DATABASE*` variable, checks that it passed, and returns `false`.
/// In the child: returns `true`, and the test goes on.
fn in_child_with(name: &str, vars: &[(&str, String)]) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let module = module_path!()
        .split_once("::")
        .expect("a module of the crate")
        .1;
    let test = format!("{module}::{name}");
    let mut child = Command::new(std::env::current_exe().expect("the test binary"));
    child.args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"]);
    for (variable, _) in std::env::vars_os() {
        if variable.to_string_lossy().contains("DATABASE") {
            child.env_remove(variable);
        }
    }
    child
        .envs(vars.iter().map(|(name, value)| (name, value)))
        .env(CHILD, "1");
    let output = child.output().expect("the test binary runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "`{test}` failed in its child process:\n{stdout}\n{stderr}"
    );
    false
}

/// Valid variables for every database, the SQLite file at `files`.
fn all_set(files: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", pg_url()),
        (
            "DATABASE_REPLICA_URLS",
            format!("{},{}", pg_url(), pg_url()),
        ),
        ("OTHER_DATABASE_URL", mysql_url()),
        ("FILES_DATABASE_URL", files.display().to_string()),
    ]
}

fn without(vars: Vec<(&'static str, String)>, name: &str) -> Vec<(&'static str, String)> {
    vars.into_iter().filter(|(var, _)| *var != name).collect()
}

fn with(
    mut vars: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    vars.retain(|(var, _)| *var != name);
    vars.push((name, value.to_owned()));
    vars
}

#[tokio::test]
async fn every_database_can_be_configured_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let vars = all_set(&dir.path().join("files.db"));
    if !in_child_with(
        "every_database_can_be_configured_from_the_environment",
        &vars,
    ) {
        return;
    }
    Router::from_env(Databases).unwrap();
    Router::builder(Databases).with_env().build().unwrap();
}

#[tokio::test]
async fn a_declared_database_without_its_url_variable_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let vars = without(all_set(&dir.path().join("files.db")), "OTHER_DATABASE_URL");
    if !in_child_with(
        "a_declared_database_without_its_url_variable_is_refused_naming_it",
        &vars,
    ) {
        return;
    }
    let builder = Router::builder(Databases).with_env();
    let problem = config_error(builder, "other", "OTHER_DATABASE_URL");
    assert!(problem.contains("is not set"), "{problem}");
}

#[tokio::test]
async fn a_missing_default_url_names_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let vars = without(all_set(&dir.path().join("files.db")), "DATABASE_URL");
    if !in_child_with("a_missing_default_url_names_database_url", &vars) {
        return;
    }
    let error = Router::from_env(Databases).unwrap_err();
    let diesel_route::Error::Config {
        database, setting, ..
    } = error
    else {
        panic!("expected a configuration error, got {error:?}");
    };
    assert_eq!(
        (database.as_str(), setting.as_str()),
        ("default", "DATABASE_URL")
    );
}

#[tokio::test]
async fn configuration_in_code_wins_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let vars = with(
        all_set(&dir.path().join("files.db")),
        "DATABASE_URL",
        "not a url",
    );
    if !in_child_with("configuration_in_code_wins_over_the_environment", &vars) {
        return;
    }
    let builder = Router::builder(Databases).with_env();
    let problem = config_error(builder, "default", "DATABASE_URL");
    assert!(problem.starts_with("is not a valid URL"), "{problem}");

    Router::builder(Databases)
        .database("default", DatabaseConfig::new(pg_url()))
        .with_env()
        .build()
        .unwrap();
}

#[tokio::test]
async fn bad_values_in_the_environment_name_their_variable() {
    let dir = tempfile::tempdir().unwrap();
    let vars = with(
        all_set(&dir.path().join("files.db")),
        "OTHER_DATABASE_POOL_MAX_SIZE",
        "0",
    );
    let vars = with(
        vars,
        "DATABASE_REPLICA_URLS",
        &format!("{},{}", pg_url(), mysql_url()),
    );
    if !in_child_with("bad_values_in_the_environment_name_their_variable", &vars) {
        return;
    }
    // The first database in declaration order fails first.
    let problem = config_error(
        Router::builder(Databases).with_env(),
        "default",
        "DATABASE_REPLICA_URLS",
    );
    assert_eq!(
        problem,
        "has scheme `mysql`, expected `postgres` or `postgresql`"
    );
    let builder = Router::builder(Databases)
        .database("default", DatabaseConfig::new(pg_url()))
        .with_env();
    let problem = config_error(builder, "other", "OTHER_DATABASE_POOL_MAX_SIZE");
    assert_eq!(problem, "must be at least 1");
}

/// `DATABASE_TOKEN_KEYS`: keys separated by commas, the first signing; a key too short is
/// refused naming the variable, never printing the key.
#[tokio::test]
async fn token_keys_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let short = "shortkey";
    let vars = with(
        all_set(&dir.path().join("files.db")),
        "DATABASE_TOKEN_KEYS",
        &format!("a token key of 32 bytes, or so.., {short}"),
    );
    if !in_child_with("token_keys_come_from_the_environment", &vars) {
        return;
    }
    let builder = Router::builder(Databases).with_env();
    let problem = config_error(builder, "every database", "DATABASE_TOKEN_KEYS");
    assert!(problem.contains("shorter than 16 bytes"), "{problem}");
    assert!(!problem.contains(short), "{problem}");
    // Keys in code win over the variable; with keys, an unsigned token is ignored.
    let router = Router::builder(Databases)
        .with_env()
        .token_key("a token key given in code, 32 B")
        .build()
        .unwrap()
        .with_token_text("default:16b374d848");
    assert!(router.token().is_empty());
    assert_eq!(router.stats().tokens_ignored, 1);
}
