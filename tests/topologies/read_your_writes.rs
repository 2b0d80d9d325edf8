//! Read your writes across requests, with every replica applying changes 2 s late
//! (PostgreSQL's `recovery_min_apply_delay`, MariaDB's `MASTER_DELAY`): a read given the
//! token of a write always sees it, through the same router handle, a new session, another
//! router given the token's text, and an axum app carrying it in a cookie or a header; a read
//! without it misses the write (so the delay is real); once the replicas have caught up, a
//! read with the token is served by one of them. Garbage, forged and future tokens never fail
//! a read.

use std::thread;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use diesel_route::axum::{RequestSession, SessionLayer, TOKEN_HEADER};
use diesel_route::{DatabaseConfig, Error, Router, Token};
use harness::{MariaDbCluster, PgCluster};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tower::ServiceExt;

use crate::support::{
    maria_find, maria_insert, maria_router, pg_find, pg_insert, pg_router, runtime,
};

/// How late every replica applies changes.
const DELAY: Duration = Duration::from_secs(2);

fn pg_delayed_cluster() -> Option<PgCluster> {
    let cluster = harness::pg_cluster_or_skip(2)?;
    let primary = cluster.primary();
    let created = cluster.app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)");
    created.unwrap();
    cluster.wait_caught_up();
    for replica in cluster.replicas() {
        cluster.set_replication_delay(&replica, DELAY);
    }
    Some(cluster)
}

fn maria_delayed_cluster() -> Option<MariaDbCluster> {
    let cluster = harness::mariadb_cluster_or_skip(2)?;
    let primary = cluster.primary();
    let created = cluster.app_sql(&primary, "CREATE TABLE ledger (id BIGINT PRIMARY KEY)");
    created.unwrap();
    cluster.wait_caught_up();
    for replica in cluster.replicas() {
        cluster.set_replication_delay(&replica, DELAY);
    }
    Some(cluster)
}

fn pg_config(cluster: &PgCluster) -> DatabaseConfig {
    DatabaseConfig::new(cluster.primary_url()).replicas(cluster.replica_urls())
}

fn maria_config(cluster: &MariaDbCluster) -> DatabaseConfig {
    DatabaseConfig::new(cluster.primary_url()).replicas(cluster.replica_urls())
}

#[test]
fn pg_reads_given_the_token_see_the_write() {
    let Some(cluster) = pg_delayed_cluster() else {
        return;
    };
    let runtime = runtime();
    let (router, elsewhere) = runtime.block_on(async {
        let router = pg_router(pg_config(&cluster)).unwrap();
        // Another process, as far as tokens go: a router of its own.
        let elsewhere = pg_router(pg_config(&cluster)).unwrap();
        (router, elsewhere)
    });
    runtime.block_on(async {
        // Without the token, a read right after the write misses it: the replicas lag.
        let mut handle = router.clone();
        pg_insert(&mut handle, 1, false).await.unwrap();
        let (found, _, in_recovery) = pg_find(&mut router.clone(), 1).await.unwrap();
        assert!(!found && in_recovery, "the replicas do not lag");

        for id in 2..=21 {
            let mut handle = router.clone();
            pg_insert(&mut handle, id, id % 2 == 0).await.unwrap();
            let token = handle.token();
            assert!(!token.is_empty());
            // The same handle.
            assert!(
                pg_find(&mut handle, id).await.unwrap().0,
                "write {id}, same handle"
            );
            // A new session, given the token (the client's next request).
            let mut session = router.session().with_token(&token);
            assert!(
                pg_find(&mut session, id).await.unwrap().0,
                "write {id}, session"
            );
            session.commit().await.unwrap();
            // Another router, given the token's text (a job in another process).
            let mut other = elsewhere.clone().with_token_text(&token.to_string());
            assert!(
                pg_find(&mut other, id).await.unwrap().0,
                "write {id}, elsewhere"
            );
        }
    });
    let stats = router.stats();
    let database = stats.database("default").unwrap();
    assert!(database.reads_with_token >= 40, "{database:#?}");
    assert!(database.reads_on_primary_for_token > 0, "{database:#?}");

    // Once the replicas have the write, a read with its token goes to one of them.
    let mut handle = router.clone();
    runtime
        .block_on(pg_insert(&mut handle, 100, false))
        .unwrap();
    thread::sleep(DELAY + Duration::from_millis(500));
    let mut session = router.session().with_token(&handle.token());
    let (found, _, in_recovery) = runtime.block_on(pg_find(&mut session, 100)).unwrap();
    assert!(
        found && in_recovery,
        "found: {found}, on a replica: {in_recovery}"
    );
}

#[test]
fn mariadb_reads_given_the_token_see_the_write() {
    let Some(cluster) = maria_delayed_cluster() else {
        return;
    };
    let primary_id = cluster.primary().server_id.unwrap();
    let runtime = runtime();
    let (router, elsewhere) = runtime.block_on(async {
        let router = maria_router(maria_config(&cluster)).unwrap();
        let elsewhere = maria_router(maria_config(&cluster)).unwrap();
        (router, elsewhere)
    });
    runtime.block_on(async {
        let mut handle = router.clone();
        maria_insert(&mut handle, 1, false).await.unwrap();
        let (found, server) = maria_find(&mut router.clone(), 1).await.unwrap();
        assert!(!found && server != primary_id, "the replicas do not lag");

        for id in 2..=21 {
            let mut handle = router.clone();
            maria_insert(&mut handle, id, id % 2 == 0).await.unwrap();
            let token = handle.token();
            assert!(
                maria_find(&mut handle, id).await.unwrap().0,
                "write {id}, same handle"
            );
            let mut session = router.session().with_token(&token);
            assert!(
                maria_find(&mut session, id).await.unwrap().0,
                "write {id}, session"
            );
            session.commit().await.unwrap();
            let mut other = elsewhere.clone().with_token_text(&token.to_string());
            assert!(
                maria_find(&mut other, id).await.unwrap().0,
                "write {id}, elsewhere"
            );
        }
    });
    let stats = router.stats();
    let database = stats.database("maria").unwrap();
    assert!(database.reads_on_primary_for_token > 0, "{database:#?}");

    let mut handle = router.clone();
    runtime
        .block_on(maria_insert(&mut handle, 100, false))
        .unwrap();
    thread::sleep(DELAY + Duration::from_millis(1000));
    let mut session = router.session().with_token(&handle.token());
    let (found, server) = runtime.block_on(maria_find(&mut session, 100)).unwrap();
    assert!(
        found && server != primary_id,
        "found: {found}, on server {server}"
    );
}

/// An axum app whose `POST /ledger/{id}` writes and `GET /ledger/{id}` answers 200 when the
/// read sees the row, 404 when it does not.
fn app(router: Router) -> axum::Router {
    async fn write(Path(id): Path<i64>, mut session: RequestSession) -> StatusCode {
        match pg_insert(&mut session, id, false).await {
            Ok(_) => StatusCode::CREATED,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    async fn read(Path(id): Path<i64>, mut session: RequestSession) -> StatusCode {
        match pg_find(&mut session, id).await {
            Ok((true, _, _)) => StatusCode::OK,
            Ok((false, _, _)) => StatusCode::NOT_FOUND,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    axum::Router::new()
        .route("/ledger/{id}", post(write))
        .route("/ledger/{id}", get(read))
        .layer(SessionLayer::new(router).commit_on_success())
}

async fn send(app: &axum::Router, request: Request<axum::body::Body>) -> axum::response::Response {
    app.clone().oneshot(request).await.unwrap()
}

fn request(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(path)
}

#[test]
fn pg_the_axum_layer_carries_the_token_in_a_cookie_and_a_header() {
    let Some(cluster) = pg_delayed_cluster() else {
        return;
    };
    let runtime = runtime();
    let router = runtime
        .block_on(async { pg_router(pg_config(&cluster)) })
        .unwrap();
    let app = app(router);
    runtime.block_on(async {
        for id in 1..=10 {
            let body = || axum::body::Body::empty();
            let posted = send(
                &app,
                request("POST", &format!("/ledger/{id}"))
                    .body(body())
                    .unwrap(),
            );
            let posted = posted.await;
            assert_eq!(posted.status(), StatusCode::CREATED);
            let cookie = posted.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                cookie.contains("Max-Age=30") && cookie.contains("HttpOnly"),
                "{cookie}"
            );
            let cookie = cookie.split(';').next().unwrap().to_owned();
            let token = posted.headers()[TOKEN_HEADER].to_str().unwrap().to_owned();
            assert!(Token::parse(&token).is_some_and(|token| !token.is_empty()));

            let path = format!("/ledger/{id}");
            let plain = send(&app, request("GET", &path).body(body()).unwrap()).await;
            assert_eq!(
                plain.status(),
                StatusCode::NOT_FOUND,
                "the replicas do not lag"
            );
            let with_cookie = request("GET", &path).header(header::COOKIE, &cookie);
            let with_cookie = send(&app, with_cookie.body(body()).unwrap()).await;
            assert_eq!(
                with_cookie.status(),
                StatusCode::OK,
                "write {id}, with {cookie}"
            );
            let with_header = request("GET", &path).header(TOKEN_HEADER, &token);
            let with_header = send(&app, with_header.body(body()).unwrap()).await;
            assert_eq!(
                with_header.status(),
                StatusCode::OK,
                "write {id}, with {token}"
            );
            // A request that wrote nothing sets no token.
            assert!(with_cookie.headers().get(header::SET_COOKIE).is_none());
        }
        // A mangled cookie is ignored: the read goes on.
        let mangled = request("GET", "/ledger/1").header(header::COOKIE, "diesel_route_token=%%%");
        let mangled = send(&app, mangled.body(axum::body::Body::empty()).unwrap()).await;
        assert_ne!(mangled.status(), StatusCode::INTERNAL_SERVER_ERROR);
    });
}

/// Tokens a client could send: garbage, a position far in the future, one of another
/// backend's kind, one of an unknown database. None fails a read; the future one sends it
/// to the primary, at once or after the wait, and the garbage is counted.
#[test]
fn pg_forged_tokens_are_harmless() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let runtime = runtime();
    let router = runtime
        .block_on(async { pg_router(pg_config(&cluster)) })
        .unwrap();
    let wait = Duration::from_millis(200);
    runtime.block_on(async {
        for text in [
            "garbage!",
            "default:",
            "default:zz.x",
            &"default:1.".repeat(500),
        ] {
            let mut handle = router.clone().with_token_text(text);
            assert!(handle.token().is_empty());
            let (_, _, in_recovery) = pg_find(&mut handle, 1).await.unwrap();
            assert!(in_recovery, "`{text}` sent the read to the primary");
        }
        assert_eq!(router.stats().tokens_ignored, 4);

        for text in ["default:ffffffffffffffff", "default:0-1-99999", "nosuch:12"] {
            let mut handle = router.clone().with_token_text(text);
            let started = Instant::now();
            let (_, _, in_recovery) = pg_find(&mut handle, 1).await.unwrap();
            let took = started.elapsed();
            assert!(
                took < wait + Duration::from_secs(1),
                "`{text}` took {took:?}"
            );
            let to_the_primary = text.starts_with("default");
            assert_eq!(!in_recovery, to_the_primary, "`{text}`");
        }
    });

    // Any text at all: the read goes on.
    let config = Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let text = prop_oneof![
        "\\PC{0,80}",
        "(default|maria|x):[0-9a-f_-]{0,24}(\\.[a-z]{1,8}:[0-9a-f]{0,20}){0,3}",
    ];
    runner
        .run(&text, |text| {
            let mut handle = router.clone().with_token_text(&text);
            let read = runtime.block_on(pg_find(&mut handle, 1));
            prop_assert!(read.is_ok(), "`{}`: {:?}", text, read);
            Ok(())
        })
        .unwrap();
}

/// The worst moment for taking a write's position: after its commit. The primary's answer
/// is held (its `pg_current_wal_lsn()` shadowed, for the application's role, by one that
/// sleeps) past the write's deadline: the write, committed, fails with a timeout that says
/// it may have been committed, alone or in a transaction of its own, never "not committed".
#[test]
fn pg_a_deadline_while_the_position_is_taken_reports_the_write_maybe_committed() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.sql(
        &primary,
        "CREATE SCHEMA hook; GRANT USAGE ON SCHEMA hook TO app;\n\
         CREATE FUNCTION hook.pg_current_wal_lsn() RETURNS pg_lsn LANGUAGE sql AS \
         'SELECT pg_sleep(5); SELECT pg_catalog.pg_current_wal_lsn()';\n\
         ALTER ROLE app SET search_path = hook, pg_catalog, public;",
    );
    let deadline = Duration::from_secs(1);
    let runtime = runtime();
    for (id, in_transaction) in [(1, false), (2, true)] {
        // A router each: after a write's deadline the next one first asks every server
        // which is the primary, and the hook would hold that answer too.
        let config = pg_config(&cluster).write_timeout(Some(deadline));
        let mut router = runtime.block_on(async { pg_router(config) }).unwrap();
        let started = Instant::now();
        let error = runtime
            .block_on(pg_insert(&mut router, id, in_transaction))
            .expect_err("the position was held past the deadline");
        let took = started.elapsed();
        let Error::Timeout { commit_unknown, .. } = &error else {
            panic!("write {id}: expected a timeout, got {error:?}");
        };
        assert!(
            *commit_unknown,
            "write {id} reported not committed: {error}"
        );
        assert!(took < deadline + Duration::from_secs(2), "took {took:?}");
        let stored = cluster.app_sql(
            &primary,
            &format!("SELECT count(*) FROM ledger WHERE id = {id}"),
        );
        assert_eq!(stored.unwrap(), "1", "write {id} is committed");
    }
}

/// A read given a token, on a replica frozen (`SIGSTOP`) while it is asked to wait for the
/// position: the wait gives up within its budget plus the health check's timeout, and the
/// read is served by the primary, with the write.
#[test]
fn pg_a_token_read_on_a_frozen_replica_goes_to_the_primary() {
    let Some(cluster) = harness::pg_cluster_or_skip(1) else {
        return;
    };
    let (primary, replica) = (cluster.primary(), cluster.replicas()[0].clone());
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let check = Duration::from_millis(500);
    let config = pg_config(&cluster).health_check_timeout(check);
    let runtime = runtime();
    let router = runtime.block_on(async { pg_router(config) }).unwrap();
    // The replica's reader is open and used within the last second: handed out unpinged.
    runtime.block_on(pg_find(&mut router.clone(), 0)).unwrap();
    let mut handle = router.clone();
    runtime.block_on(pg_insert(&mut handle, 1, false)).unwrap();
    cluster.freeze(&replica);
    let started = Instant::now();
    let read = runtime.block_on(pg_find(&mut handle, 1));
    let took = started.elapsed();
    cluster.thaw(&replica);
    let (found, port, in_recovery) = read.unwrap();
    assert!(found, "the read misses the write");
    assert_eq!((port, in_recovery), (i32::from(primary.port), false));
    let limit = Duration::from_millis(200) + check + Duration::from_secs(1);
    assert!(took < limit, "took {took:?}");
    let stats = router.stats();
    let database = stats.database("default").unwrap();
    assert_eq!(database.reads_on_primary_for_token, 1, "{database:#?}");
    eprintln!("served by the primary after {took:?}");
}
