//! Servers that are down or busy: fast, clear errors that name the server and never the
//! password.

use crate::hung::unless_hung;
use std::time::{Duration, Instant};

use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Error, Role, Router};
use tokio::sync::oneshot;

use crate::net::{closed_port, silent_listener};
use crate::schema::{App, insert_item, url_as, whoami};
use crate::{Databases, Writer};

const PASSWORD: &str = "hunter2";

/// How long a call may take before it counts as hung.
const HUNG: Duration = Duration::from_secs(10);

fn router_to(port: u16, connect_timeout: Duration) -> Router {
    router_as("app", port, connect_timeout)
}

fn router_as(user: &str, port: u16, connect_timeout: Duration) -> Router {
    let config = DatabaseConfig::new(url_as(user, PASSWORD, port)).connect_timeout(connect_timeout);
    Router::builder(Databases)
        .database("default", config.clone())
        .database("other", config)
        .build()
        .unwrap()
}

/// A connect error that names the primary of `default` on `port`, without the password.
fn assert_connect_error(error: &Error, port: u16) {
    let Error::Connect { server, .. } = error else {
        panic!("expected a connect error, got {error:?}");
    };
    assert!(
        server.is_configured_primary() && server.database() == "default",
        "{server:?}"
    );
    assert_eq!(server.url().port(), Some(port));
    let (shown, debug) = (error.to_string(), format!("{error:?}"));
    assert!(
        shown.contains("the primary of database `default`"),
        "{shown}"
    );
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    assert!(
        !shown.contains(PASSWORD) && !debug.contains(PASSWORD),
        "{shown}\n{debug}"
    );
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_closed_port_gives_a_connect_error_at_once() {
    let port = closed_port();
    let mut router = router_to(port, Duration::from_secs(5));
    let started = Instant::now();
    let error = unless_hung(HUNG, insert_item(&mut router, "lost"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_connect_error(&error, port);
    // Reads (here on the primary: no replicas) too.
    let error = whoami(&mut router).await.unwrap_err();
    assert_connect_error(&error, port);
}

#[tokio::test]
async fn a_server_that_never_answers_gives_a_connect_error_after_the_connect_timeout() {
    let (_listener, port) = silent_listener();
    let timeout = Duration::from_millis(300);
    let mut router = router_to(port, timeout);
    let started = Instant::now();
    let error = unless_hung(HUNG, insert_item(&mut router, "lost"))
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= timeout && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_connect_error(&error, port);
    let report = harness::report(&error);
    assert!(report.contains("connect timeout"), "{report}");
}

/// A user the server does not know (PostgreSQL's harness trusts any password of a known
/// one).
#[tokio::test]
async fn bad_credentials_give_a_connect_error() {
    let Some(cluster) = App::shared_cluster() else {
        return;
    };
    let port = cluster.primary().port;
    let mut router = router_as("nobody", port, Duration::from_secs(5));
    let error = unless_hung(HUNG, insert_item(&mut router, "refused"))
        .await
        .unwrap_err();
    assert_connect_error(&error, port);
    let report = harness::report(&error);
    assert!(report.contains("nobody"), "{report}");
}

/// Holds the writer until `release` fires, after saying so on `held`.
#[route(write)]
async fn hold_writer(
    conn: &mut Writer,
    held: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
) -> diesel_route::Result<()> {
    conn.batch_execute("SELECT 1").await?;
    held.send(()).unwrap();
    release.await.unwrap();
    Ok(())
}

#[tokio::test]
async fn a_call_waiting_for_a_held_pool_gives_pool_timeout() {
    let timeout = Duration::from_millis(200);
    let configure = |config: DatabaseConfig| config.max_size(1).checkout_timeout(timeout);
    let Some(app) = App::start_with("pool_timeout", configure).await else {
        return;
    };
    let (held, is_held) = oneshot::channel();
    let (release, released) = oneshot::channel();
    let (mut holder, mut caller) = (app.router.clone(), app.router.clone());
    let calling = async {
        is_held.await.unwrap();
        let started = Instant::now();
        let result = unless_hung(HUNG, insert_item(&mut caller, "late")).await;
        let waited = started.elapsed();
        release.send(()).unwrap();
        (result, waited)
    };
    let (holding, (result, waited)) =
        tokio::join!(hold_writer(&mut holder, held, released), calling);
    holding.unwrap();

    let error = result.unwrap_err();
    let Error::PoolTimeout {
        server,
        role: Role::Writer,
        waited: reported,
    } = &error
    else {
        panic!("expected a writer's pool timeout, got {error:?}");
    };
    assert!(
        server.is_configured_primary() && server.database() == "default",
        "{server:?}"
    );
    assert_eq!(*reported, timeout);
    assert!(waited >= timeout && waited < timeout * 10, "{waited:?}");
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains(&format!(":{}", server.url().port().unwrap())),
        "{shown}"
    );
    // MariaDB's application user has a password; PostgreSQL's has none.
    assert!(!shown.contains(harness::MARIADB_APP_PASSWORD), "{shown}");
    let primary = app.cluster.primary();
    assert_eq!(app.sql(&primary, "SELECT count(*) FROM items"), "0");
    // Released, the pool serves again.
    insert_item(&mut caller, "in time").await.unwrap();
}

/// The driver's own reason travels in the error's chain: a refused port says so, and a host
/// that does not resolve says so, on every backend; and the pool counts each call it failed.
#[tokio::test]
async fn a_connect_error_keeps_its_cause_and_counts_as_a_failed_call() {
    let port = closed_port();
    let mut router = router_to(port, Duration::from_secs(5));
    for _ in 0..3 {
        let error = unless_hung(HUNG, insert_item(&mut router, "lost"))
            .await
            .unwrap_err();
        let report = harness::report(&error);
        assert!(report.contains("refused"), "{report}");
        assert!(
            !format!("{report} {error:?}").contains(PASSWORD),
            "{report}"
        );
    }
    let stats = router.stats();
    let default = &stats.databases[0];
    let writer = default.servers[0]
        .pools
        .iter()
        .find(|pool| pool.role == Role::Writer)
        .expect("the primary's writer pool");
    assert_eq!(
        (writer.errors.connect, writer.errors.failed_calls),
        (3, 3),
        "{writer:?}"
    );

    let url = url_as("app", PASSWORD, port).replace("127.0.0.1", "no-such-host.invalid");
    let config = DatabaseConfig::new(url);
    let mut router = Router::builder(Databases)
        .database("default", config.clone())
        .database("other", config)
        .build()
        .unwrap();
    let error = unless_hung(HUNG, insert_item(&mut router, "lost"))
        .await
        .unwrap_err();
    let report = harness::report(&error);
    assert!(
        report.contains("lookup") || report.contains("resolve") || report.contains("not known"),
        "{report}"
    );
}
