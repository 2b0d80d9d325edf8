//! `GET /debug/db` in a real browser: headless Chromium loads the page from the web example
//! (on a PostgreSQL primary with two standbys with `postgres`, SQLite files otherwise), and
//! the test reads the DOM it rendered: every server with its place in the rotation (a
//! stopped standby out of it, with the reason), a bar per pool whose numbers are the pool's,
//! the errors, and the connections of the requests made. Clients that ask for JSON still get
//! `Router::stats()`.
//!
//! Needs Debian's `chromium`; without it the test says so loudly, and fails under `CI=true`.
//! `DEBUG_PAGE_SCREENSHOT=path.png` also saves a screenshot of the page.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use self::common::App;

/// The browser, or `None` after saying loudly that it is missing (a failure under CI).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        let message = "chromium is not installed (`apt-get install chromium`): the debug page \
                       was NOT checked in a browser";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("SKIPPED: {message}");
    }
    found
}

/// Runs headless Chromium on `url` with `args` (`--dump-dom`, `--screenshot=...`), in a
/// profile of its own; what it prints.
fn browse(chromium: &PathBuf, url: &str, args: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("a profile dir");
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1400",
            "--timeout=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The attributes of the element whose opening tag contains `marker`.
fn attributes<'d>(dom: &'d str, marker: &str) -> Vec<(&'d str, &'d str)> {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("no `{marker}` in the page"));
    let start = dom[..at].rfind('<').expect("a tag");
    let end = at + dom[at..].find('>').expect("the tag's end");
    let tag = &dom[start..end];
    tag.split("\" ")
        .filter_map(|pair| pair.split_once("=\""))
        .map(|(name, value)| {
            let name = name.rsplit(' ').next().unwrap_or(name);
            (name, value.trim_end_matches('"'))
        })
        .collect()
}

fn attribute<'d>(attributes: &[(&'d str, &'d str)], name: &str) -> &'d str {
    let found = attributes.iter().find(|(each, _)| *each == name);
    found
        .unwrap_or_else(|| panic!("no `{name}` in {attributes:?}"))
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_shows_the_topology_the_pools_and_the_requests() {
    let Some(app) = App::start().await else {
        return;
    };
    let Some(chromium) = chromium() else {
        return;
    };
    let (status, post) = app
        .post("/posts", json!({"title": "seen in a browser"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    app.backing.wait_caught_up();
    for _ in 0..3 {
        assert_eq!(app.get("/posts").await.0, StatusCode::OK);
    }
    assert_eq!(app.get("/posts/999999").await.0, StatusCode::NOT_FOUND);
    let stopped = app.backing.stop("replica2");
    if stopped {
        // The health check takes it out of the rotation within an interval and a timeout.
        let started = Instant::now();
        let in_rotation = |stats: diesel_route::Stats| {
            let mut databases = stats.databases.into_iter();
            databases.any(|database| database.servers[2].in_rotation)
        };
        while in_rotation(app.stats()) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "replica2 still in rotation"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    let url = format!("http://{}/debug/db", app.address);
    let dom = tokio::task::block_in_place(|| browse(&chromium, &url, &["--dump-dom"]));
    let stats = app.stats();
    assert!(dom.contains("<h1>Databases</h1>"), "{dom}");
    assert!(
        dom.contains("id=\"ready\">ready</span>"),
        "not ready: {dom}"
    );

    for database in &stats.databases {
        let section = format!("data-database=\"{}\"", database.database);
        assert!(
            dom.contains(&section),
            "no section for {}",
            database.database
        );
        for server in &database.servers {
            let row = attributes(&dom, &format!("data-server=\"{}\"", server.server));
            let in_rotation = attribute(&row, "data-in-rotation");
            assert_eq!(
                in_rotation,
                server.in_rotation.to_string(),
                "{}",
                server.server
            );
            for pool in &server.pools {
                let name = format!("{}/{}/{}", database.database, server.server, pool.role);
                let bar = attributes(&dom, &format!("class=\"pool\" data-pool=\"{name}\""));
                assert_eq!(
                    attribute(&bar, "data-max"),
                    pool.max_size.to_string(),
                    "{name}"
                );
                assert_eq!(attribute(&bar, "data-in-use"), "0", "{name}");
                assert_eq!(
                    attribute(&bar, "data-idle"),
                    pool.idle.to_string(),
                    "{name}"
                );
            }
        }
    }
    // Each request's connections, the failed one's error counted in red.
    assert!(dom.contains("<code>POST /posts</code>"), "{dom}");
    assert!(dom.contains("default writer on <b>primary</b>"), "{dom}");
    assert!(dom.contains("analytics writer on <b>primary</b>"), "{dom}");
    let reads_on = if app.backing.has_replicas() {
        "replica"
    } else {
        "primary"
    };
    assert!(
        dom.contains(&format!("default reader on <b>{reads_on}")),
        "{dom}"
    );
    assert!(
        dom.contains("class=\"nonzero\">1</td>"),
        "the failed read: {dom}"
    );
    if stopped {
        let row = attributes(&dom, "data-server=\"replica2\"");
        assert_eq!(attribute(&row, "data-in-rotation"), "false");
        let out = dom
            .find("out of rotation</span><div class=\"why\">")
            .expect("why");
        let why = &dom[out..][..dom[out..].find("</div>").expect("its end")];
        assert!(
            why.len() > "out of rotation</span><div class=\"why\">".len() + 5,
            "{why}"
        );
        assert!(
            dom.contains("1 of 2 replicas in the read rotation"),
            "{dom}"
        );
    }
    if let Some(path) = std::env::var_os("DEBUG_PAGE_SCREENSHOT") {
        let shot = format!("--screenshot={}", PathBuf::from(path).display());
        tokio::task::block_in_place(|| browse(&chromium, &url, &[&shot]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_html_for_browsers_and_json_for_the_rest() {
    let Some(app) = App::start().await else {
        return;
    };
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let (status, content_type, body) = app.get_accepting("/debug/db", browser).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.starts_with("<!doctype html>"));
    assert!(
        !body.contains("src=\"http") && !body.contains("href=\"http"),
        "external assets"
    );
    for accept in ["application/json", "*/*"] {
        let (status, content_type, body) = app.get_accepting("/debug/db", accept).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/json", "for {accept}");
        let stats: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(stats["databases"].as_array().map(Vec::len), Some(2));
    }
}
