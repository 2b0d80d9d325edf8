//! Passwords never show, however the URL around them is mistyped: every malformed form a
//! person could write (one slash, none, three, a password with `@`, `?`, `#`, `/` or `%`
//! unescaped, the host forgotten, the password in the query or in libpq's `key=value` form),
//! as the primary's or a replica's URL, in code or in the environment, for every backend. A
//! property test covers the forms no list does: URL-like text assembled at random around a
//! password, a fixed number of cases, the same every run.

use diesel_route::{DatabaseConfig, Router};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::Databases;

/// The mistyped forms the project was shown to leak once, and their kin.
const FORMS: &[&str] = &[
    "{scheme}:/app:{pw}@db.internal/app",
    "{scheme}:app:{pw}@db.internal/app",
    "{scheme}:///app:{pw}@db.internal/app",
    "{scheme}//app:{pw}@db.internal/app",
    "{scheme}://app:{pw}@db.internal:port/app",
    "{scheme}://app:{pw}@:5432/app",
    "{scheme}://app:{pw}/app",
    "{scheme}://app:{pw}@db.internal/app?sslmode=require",
    "{scheme}://app@db.internal/app?password={pw}",
    "{scheme}://db.internal/app?user=app&password={pw}",
    "{scheme}://app:{pw}@db.internal:5432:5432/app",
    "{scheme}://app:{pw}@db internal/app",
    "host=db.internal user=app password={pw} dbname=app",
    "{scheme}:/app:{pw}@db.internal/app:again",
];

const SCHEMES: &[&str] = &["postgres", "postgresql", "mysql", "mariadb", "sqlite", "pg"];

/// Passwords with the characters that break URLs when left unescaped.
const PASSWORDS: &[&str] = &[
    "Hunter2secret",
    "p@ss@word7",
    "pa?ss#word8",
    "pa/ss:word9",
    "pa%40ss%word",
    "pa ss word10",
];

#[test]
fn no_mistyped_form_shows_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let before = files_here();
    for form in FORMS {
        for scheme in SCHEMES {
            for password in PASSWORDS {
                let url = form.replace("{scheme}", scheme).replace("{pw}", password);
                assert_hidden(&dir, &url, password, true);
            }
        }
    }
    // A mistyped server URL given as SQLite's is refused, not opened as a file named after
    // a piece of it (`sqlite://app:pa?ss...` once made a file `app:pa`).
    assert_eq!(files_here(), before, "a mistyped URL made a file");
}

fn files_here() -> std::collections::BTreeSet<std::path::PathBuf> {
    let entries = std::fs::read_dir(".").unwrap();
    entries.map(|entry| entry.unwrap().path()).collect()
}

#[test]
fn no_url_assembled_at_random_shows_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed seed: the same cases every run, so that CI is repeatable and bounded.
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    runner
        .run(&(url_around_a_password()), |(url, password)| {
            // Not as SQLite's path: a random path could name a file anywhere, which the
            // test would then create.
            assert_hidden(&dir, &url, &password, false);
            Ok(())
        })
        .unwrap();
}

/// A URL-like text with a password somewhere a person would put one, and that password.
fn url_around_a_password() -> impl Strategy<Value = (String, String)> {
    let scheme = prop::sample::select(vec![
        "postgres",
        "postgresql",
        "mysql",
        "mariadb",
        "sqlite",
        "",
        "x",
    ]);
    let separator = prop::sample::select(vec!["://", ":/", ":", ":///", "//", ":////", "", "::"]);
    let user = prop::sample::select(vec!["app", "", "a-b", "app.user", "%61pp"]);
    // Long enough to be told from the rest of the text, with any of the characters that
    // break URLs.
    let password = "[a-zA-Z0-9]{6}[a-zA-Z0-9@:/?#%&=!+ ]{0,8}[a-zA-Z0-9]{2}";
    let at = prop::sample::select(vec!["@", "@@", "", "#@", "?@", "/@"]);
    let host = prop::sample::select(vec!["db.internal", "127.0.0.1", "", "[::1]", "db_internal"]);
    let port = prop::sample::select(vec!["", ":5432", ":port", ":", ":99999", ":5432:1"]);
    let path = prop::sample::select(vec!["/app", "", "/", "/app/more", "/a:b"]);
    let query = prop::sample::select(vec!["", "?sslmode=require", "?a=1&b=2", "?", "#frag"]);
    let placement = 0..4_u8;
    (
        scheme, separator, user, password, at, host, port, path, query, placement,
    )
        .prop_map(
            |(scheme, separator, user, password, at, host, port, path, query, placement)| {
                let url = match placement {
                    // In the user info, where it belongs.
                    0 => {
                        format!("{scheme}{separator}{user}:{password}{at}{host}{port}{path}{query}")
                    }
                    // As a query parameter.
                    1 => format!(
                        "{scheme}{separator}{user}{at}{host}{port}{path}?password={password}"
                    ),
                    // As libpq's key=value.
                    2 => format!("host={host} user={user} password={password}"),
                    // After a forgotten host.
                    _ => format!("{scheme}{separator}{user}:{password}{path}{query}"),
                };
                (url, password)
            },
        )
}

/// Builds a router with `url` as each server database's primary, and then as its replica
/// (and as SQLite's file, `with_sqlite`): neither the configuration's `Debug` nor the error's
/// `Display`, `Debug` or chain shows `password`, nor any long enough piece of it.
fn assert_hidden(dir: &tempfile::TempDir, url: &str, password: &str, with_sqlite: bool) {
    let file = dir.path().join("files.db");
    let file = file.to_str().unwrap();
    let pg = "postgres://app@db.internal/app";
    let mysql = "mysql://app@db.internal/app";
    let mut configs = vec![
        (
            DatabaseConfig::new(url),
            DatabaseConfig::new(mysql),
            DatabaseConfig::new(file),
        ),
        (
            DatabaseConfig::new(pg),
            DatabaseConfig::new(url),
            DatabaseConfig::new(file),
        ),
        (
            DatabaseConfig::new(pg).replica(url),
            DatabaseConfig::new(mysql),
            DatabaseConfig::new(file),
        ),
        (
            DatabaseConfig::new(pg),
            DatabaseConfig::new(mysql).replica(url),
            DatabaseConfig::new(file),
        ),
    ];
    if with_sqlite {
        let as_file = (
            DatabaseConfig::new(pg),
            DatabaseConfig::new(mysql),
            DatabaseConfig::new(url),
        );
        configs.push(as_file);
    }
    for (default, other, files) in configs {
        assert_hidden_in(default, other, files, url, password);
    }
}

fn assert_hidden_in(
    default: DatabaseConfig,
    other: DatabaseConfig,
    files: DatabaseConfig,
    url: &str,
    password: &str,
) {
    {
        let mut shown = format!("{default:?} {other:?} {files:?}");
        let built = Router::builder(Databases)
            .database("default", default)
            .database("other", other)
            .database("files", files)
            .build();
        if let Err(error) = built {
            shown.push_str(&format!(
                "\n{error}\n{error:?}\n{}",
                harness::report(&error)
            ));
        }
        if let Some(piece) = leaked_piece(&shown, password) {
            panic!("`{piece}` of the password `{password}` shows for `{url}`:\n{shown}");
        }
    }
}

/// A piece of `password` of at least six characters that `shown` contains.
fn leaked_piece<'a>(shown: &str, password: &'a str) -> Option<&'a str> {
    const PIECE: usize = 6;
    let chars: Vec<(usize, char)> = password.char_indices().collect();
    if chars.len() < PIECE {
        return shown.contains(password).then_some(password);
    }
    (0..=chars.len() - PIECE).find_map(|start| {
        let from = chars[start].0;
        let to = chars
            .get(start + PIECE)
            .map_or(password.len(), |(at, _)| *at);
        let piece = &password[from..to];
        shown.contains(piece).then_some(piece)
    })
}
