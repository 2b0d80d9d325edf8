//! Read your writes across requests, with every replica applying changes 2 s late
//! (PostgreSQL's `recovery_min_apply_delay`, MariaDB's `MASTER_DELAY`): a read given the
//! token of a write always sees it, through the same router handle, a new session, another
//! router given the token's text, and an axum app carrying it in a cookie or a header; a read
//! without it misses the write (so the delay is real); once the replicas have caught up, a
//! read with the token is served by one of them. Garbage, forged and future tokens never fail
//! a read nor make it wait; signed tokens are honoured, tampered ones ignored; a token read
//! tries a second replica, skips one known to be far behind, keeps off the primary when the
//! fallback policy says so, and is served without a primary.

use std::thread;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use diesel_route::axum::{RequestSession, SessionLayer, TOKEN_HEADER};
use diesel_route::{DatabaseConfig, DatabaseStats, Error, ReadFallback, Role, Router, Token};
use harness::{MariaDbCluster, PgCluster, Stop};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
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
    cluster.wait_caught_up();
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
    cluster.wait_caught_up();
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
    let app = app(router.clone());
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
    // The sessions' own tokens are known to be genuine: the primary is never asked.
    let database = stats_of(&router, "default");
    assert_eq!(database.token_positions_asked, 0, "{database:#?}");
}

/// The counters of database `key`.
fn stats_of(router: &Router, key: &str) -> DatabaseStats {
    router.stats().database(key).unwrap().clone()
}

/// Reads served by the primary's reader pool: in its read guard.
fn guarded_reads_on_primary(database: &DatabaseStats) -> u64 {
    let primary = database.server("primary").unwrap();
    let reader = primary.pools.iter().find(|pool| pool.role == Role::Reader);
    reader.map_or(0, |pool| pool.checkouts)
}

/// With a `read_your_writes_wait` this long, a read that waited for a replica shows.
const LONG_WAIT: Duration = Duration::from_secs(5);

/// Far below [`LONG_WAIT`]: the most a read given a forged token may take.
const NO_WAIT: Duration = Duration::from_millis(1250);

/// Tokens a client could forge, replay, cut or pad: none fails a read, none makes it wait
/// (each read takes far less than a `read_your_writes_wait` of 5 s), none sends it to the
/// primary; the primary is asked its position at most once per read, and once for many
/// reads that come together.
#[test]
fn pg_forged_tokens_cost_nothing() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    let runtime = runtime();
    let config = pg_config(&cluster).read_your_writes_wait(LONG_WAIT);
    let router = runtime.block_on(async { pg_router(config) }).unwrap();
    let mut writer = router.clone();
    runtime.block_on(pg_insert(&mut writer, 1, false)).unwrap();
    let real = writer.token().to_string();
    cluster.wait_caught_up();
    let read = |text: &str| {
        let mut handle = router.clone().with_token_text(text);
        let started = Instant::now();
        let read = runtime.block_on(pg_find(&mut handle, 1));
        (read, started.elapsed())
    };

    for text in [
        "garbage!",
        "default:",
        "default:zz.x",
        &"default:1.".repeat(500),
    ] {
        let (read, _) = read(text);
        assert!(read.unwrap().2, "`{text}` sent the read to the primary");
    }
    assert_eq!(router.stats().tokens_ignored, 4);
    let forged = ["default:ffffffffffffffff", "default:0-1-99999", "nosuch:12"];
    for text in forged {
        let (read, took) = read(text);
        let (_, _, in_recovery) = read.unwrap();
        assert!(in_recovery && took < NO_WAIT, "`{text}`: {took:?}");
    }

    let text = prop_oneof![
        any::<u64>().prop_map(|lsn| format!("default:{lsn:x}")),
        (0..real.len()).prop_map(|cut| real[..cut].to_owned()),
        (1..3000_usize).prop_map(|pad| format!("{real}{}", "0".repeat(pad))),
        Just(real.clone()),
        "\\PC{0,80}",
    ];
    runner(200)
        .run(&text, |text| {
            let (read, took) = read(&text);
            let read = read.map_err(|error| TestCaseError::fail(format!("`{text}`: {error}")))?;
            prop_assert!(read.2, "`{}` was read on the primary", text);
            prop_assert!(took < NO_WAIT, "`{}` took {:?}", text, took);
            Ok(())
        })
        .unwrap();
    let database = stats_of(&router, "default");
    assert_eq!(database.reads_on_primary_for_token, 0, "{database:#?}");
    assert_eq!(guarded_reads_on_primary(&database), 0, "{database:#?}");
    assert!(database.reads_token_not_honoured > 0, "{database:#?}");
    assert!(
        database.token_positions_asked <= database.reads_with_token,
        "{database:#?}"
    );

    // Reads that come together share one question to the primary.
    let asked_before = database.token_positions_asked;
    let reads = 64;
    let served = runtime.block_on(async {
        let reads = (0..reads).map(|n| {
            let text = format!("default:{:x}", u64::MAX - n);
            let mut handle = router.clone().with_token_text(&text);
            tokio::spawn(async move { pg_find(&mut handle, 1).await })
        });
        let mut served = 0;
        for read in reads.collect::<Vec<_>>() {
            served += usize::from(read.await.unwrap().unwrap().2);
        }
        served
    });
    assert_eq!(served, reads as usize, "every read on a replica");
    let database = stats_of(&router, "default");
    let asked = database.token_positions_asked - asked_before;
    assert!(
        (1..=reads / 2).contains(&asked),
        "asked {asked} times for {reads} reads"
    );
    assert_eq!(guarded_reads_on_primary(&database), 0, "{database:#?}");
}

/// The same on MariaDB: GTID positions no server wrote cost no wait and no read on the
/// primary.
#[test]
fn mariadb_forged_tokens_cost_nothing() {
    let Some(cluster) = harness::mariadb_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id BIGINT PRIMARY KEY)")
        .unwrap();
    let primary_id = primary.server_id.unwrap();
    let runtime = runtime();
    let config = maria_config(&cluster).read_your_writes_wait(LONG_WAIT);
    let router = runtime.block_on(async { maria_router(config) }).unwrap();
    let mut writer = router.clone();
    runtime
        .block_on(maria_insert(&mut writer, 1, false))
        .unwrap();
    let real = writer.token().to_string();
    cluster.wait_caught_up();
    let text = prop_oneof![
        (0..4_u32, any::<u32>(), any::<u64>())
            .prop_map(|(domain, server, seq)| format!("maria:{domain}-{server}-{seq}")),
        (0..real.len()).prop_map(|cut| real[..cut].to_owned()),
        Just(real.clone()),
        Just("maria:0-1-99999999_1-1-5".to_owned()),
    ];
    runner(60)
        .run(&text, |text| {
            let mut handle = router.clone().with_token_text(&text);
            let started = Instant::now();
            let read = runtime.block_on(maria_find(&mut handle, 1));
            let took = started.elapsed();
            let (_, server) = read.map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert!(server != primary_id, "`{}` was read on the primary", text);
            prop_assert!(took < NO_WAIT, "`{}` took {:?}", text, took);
            Ok(())
        })
        .unwrap();
    let database = stats_of(&router, "maria");
    assert_eq!(database.reads_on_primary_for_token, 0, "{database:#?}");
    assert_eq!(guarded_reads_on_primary(&database), 0, "{database:#?}");
}

fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]);
    TestRunner::new_with_rng(config, rng)
}

const KEY: &str = "the token key, thirty-two bytes!";
const NEW_KEY: &str = "the next token key, 32 bytes too";

/// A router whose `default` is `cluster`, signing tokens with `key` and accepting `old`.
fn pg_signing_router(cluster: &PgCluster, key: &str, old: Option<&str>) -> Router {
    let builder = Router::builder(crate::Databases)
        .database("default", pg_config(cluster))
        .database(
            "maria",
            DatabaseConfig::new("mysql://unused@127.0.0.1:9/unused"),
        )
        .token_key(key);
    let builder = match old {
        Some(old) => builder.accept_token_key(old),
        None => builder,
    };
    builder.build().unwrap()
}

/// With a token key: the tokens handed out are signed and honoured by every router that
/// holds the key (or accepts it as an old one); a token tampered with, unsigned, or signed
/// with another key is ignored, at no cost: the read goes where one without a token goes.
#[test]
fn pg_signed_tokens_are_honoured_and_tampered_ones_ignored() {
    let Some(cluster) = pg_delayed_cluster() else {
        return;
    };
    let runtime = runtime();
    let (router, elsewhere, stranger, successor) = runtime.block_on(async {
        (
            pg_signing_router(&cluster, KEY, None),
            pg_signing_router(&cluster, KEY, None),
            pg_signing_router(&cluster, NEW_KEY, None),
            pg_signing_router(&cluster, NEW_KEY, Some(KEY)),
        )
    });
    let find = |router: &Router, text: &str, id: i64| {
        let mut handle = router.clone().with_token_text(text);
        runtime.block_on(pg_find(&mut handle, id)).unwrap()
    };
    for id in 1..=5 {
        let mut handle = router.clone();
        runtime.block_on(pg_insert(&mut handle, id, false)).unwrap();
        let text = handle.token().to_string();
        let (body, seal) = text.split_once('~').expect("a signed token");
        let tampered_seal = format!("{body}~{}", seal.replace(|c| c != '1', "A"));
        let lsn = u64::from_str_radix(body.trim_start_matches("default:"), 16).unwrap();
        let tampered_body = format!("default:{:x}~{seal}", lsn + 1);
        let other_key = stranger.clone().with_token(&Token::parse(body).unwrap());
        for (text, name) in [
            (&tampered_seal, "its MAC changed"),
            (&tampered_body, "its position changed"),
            (&body.to_owned(), "unsigned"),
        ] {
            let (found, _, in_recovery) = find(&elsewhere, text, id);
            assert!(
                !found && in_recovery,
                "write {id}: a token {name} was honoured"
            );
        }
        let (found, _, in_recovery) = find(&stranger, &text, id);
        assert!(
            !found && in_recovery,
            "write {id}: a token of another key was honoured"
        );
        assert!(other_key.token().is_empty());
        assert!(find(&elsewhere, &text, id).0, "write {id}: the same key");
        assert!(find(&successor, &text, id).0, "write {id}: the old key");
        let mut session = elsewhere.session().with_token_text(&text);
        assert!(runtime.block_on(pg_find(&mut session, id)).unwrap().0);
        assert_eq!(
            session.token().to_string(),
            text,
            "a session hands it on signed"
        );
    }
    assert_eq!(elsewhere.stats().tokens_ignored, 15);
    assert_eq!(stranger.stats().tokens_ignored, 10);
    let database = stats_of(&elsewhere, "default");
    assert_eq!(database.token_positions_asked, 0, "{database:#?}");
    // A signed token from another router is trusted: honoured at once, on the primary
    // (the replicas lag), without asking the primary's position first.
    assert!(database.reads_on_primary_for_token >= 5, "{database:#?}");

    // The axum layer signs what it sets and checks what it reads.
    let app = app(router);
    runtime.block_on(async {
        let body = axum::body::Body::empty;
        let posted = send(&app, request("POST", "/ledger/100").body(body()).unwrap()).await;
        let token = posted.headers()[TOKEN_HEADER].to_str().unwrap().to_owned();
        assert!(token.contains('~'), "{token}");
        let read = |token: String| {
            let app = app.clone();
            async move {
                let get = request("GET", "/ledger/100").header(TOKEN_HEADER, token);
                send(&app, get.body(body()).unwrap()).await.status()
            }
        };
        assert_eq!(read(token.clone()).await, StatusCode::OK);
        let unsigned = token.split('~').next().unwrap().to_owned();
        assert_eq!(read(unsigned).await, StatusCode::NOT_FOUND);
    });
}

/// A replica that does not replay a token's position in time (its replay paused, unknown
/// to the router: no health check since) is not the last word: the read asks the second
/// replica before the primary.
#[test]
fn pg_a_token_read_tries_a_second_replica() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    let [paused, fresh] = [cluster.replicas()[0].clone(), cluster.replicas()[1].clone()];
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let config = pg_config(&cluster).health_check_interval(Duration::from_secs(3600));
    let runtime = runtime();
    let router = runtime.block_on(async { pg_router(config) }).unwrap();
    cluster.pause_replay(&paused);
    for id in 1..=12 {
        let mut handle = router.clone();
        runtime.block_on(pg_insert(&mut handle, id, false)).unwrap();
        let (found, port, _) = runtime.block_on(pg_find(&mut handle, id)).unwrap();
        assert!(found, "write {id} missed");
        assert_eq!(port, i32::from(fresh.port), "write {id} read elsewhere");
    }
    cluster.resume_replay(&paused);
    let database = stats_of(&router, "default");
    assert_eq!(database.reads_on_primary_for_token, 0, "{database:#?}");
}

/// A replica whose data was, at its last health check, older than the wait could make up
/// (its replay paused while the primary writes on) is not waited for: the read goes to
/// the primary at once.
#[test]
fn pg_a_token_read_does_not_wait_on_a_replica_known_to_be_far_behind() {
    let Some(cluster) = harness::pg_cluster_or_skip(2) else {
        return;
    };
    let primary = cluster.primary();
    cluster
        .app_sql(&primary, "CREATE TABLE ledger (id bigint PRIMARY KEY)")
        .unwrap();
    cluster.wait_caught_up();
    let wait = Duration::from_secs(3);
    let config = pg_config(&cluster)
        .read_your_writes_wait(wait)
        .health_check_interval(Duration::from_millis(200));
    let runtime = runtime();
    let router = runtime.block_on(async { pg_router(config) }).unwrap();
    for replica in cluster.replicas() {
        cluster.pause_replay(&replica);
    }
    // The primary writes on until the health checks have seen both replicas lag well
    // beyond the wait.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut id = 0;
    loop {
        id += 1;
        let mut writer = router.clone().with_token(&Token::default());
        runtime.block_on(pg_insert(&mut writer, id, false)).unwrap();
        let database = stats_of(&router, "default");
        let lags = database.servers[1..]
            .iter()
            .map(|server| server.lag_ms.unwrap_or(0.0));
        if lags.fold(f64::MAX, f64::min) > 4000.0 {
            break;
        }
        assert!(Instant::now() < deadline, "{database:#?}");
        // Time passing between two writes, for the lag to grow.
        thread::sleep(Duration::from_millis(100));
    }
    let mut handle = router.clone();
    runtime
        .block_on(pg_insert(&mut handle, id + 1, false))
        .unwrap();
    let started = Instant::now();
    let (found, _, in_recovery) = runtime.block_on(pg_find(&mut handle, id + 1)).unwrap();
    let took = started.elapsed();
    for replica in cluster.replicas() {
        cluster.resume_replay(&replica);
    }
    assert!(
        found && !in_recovery,
        "found: {found}, on a replica: {in_recovery}"
    );
    assert!(took < wait / 2, "waited: {took:?}");
    let database = stats_of(&router, "default");
    assert_eq!(database.reads_on_primary_for_token, 1, "{database:#?}");
}

/// `ReadFallback::Fail` keeps token reads off the primary too: a token no replica has
/// replayed is not honoured, and the read is served by a replica, not failed.
#[test]
fn pg_a_token_read_honours_read_fallback_fail() {
    let Some(cluster) = pg_delayed_cluster() else {
        return;
    };
    let runtime = runtime();
    let config = pg_config(&cluster).read_fallback(ReadFallback::Fail);
    let router = runtime.block_on(async { pg_router(config) }).unwrap();
    let mut handle = router.clone();
    runtime.block_on(pg_insert(&mut handle, 1, false)).unwrap();
    let (found, _, in_recovery) = runtime.block_on(pg_find(&mut handle, 1)).unwrap();
    assert!(
        !found && in_recovery,
        "found: {found}, on a replica: {in_recovery}"
    );
    let database = stats_of(&router, "default");
    assert_eq!(database.reads_on_primary_for_token, 0, "{database:#?}");
    assert_eq!(database.reads_token_not_honoured, 1, "{database:#?}");
    assert_eq!(guarded_reads_on_primary(&database), 0, "{database:#?}");
}

/// The same on MariaDB.
#[test]
fn mariadb_a_token_read_honours_read_fallback_fail() {
    let Some(cluster) = maria_delayed_cluster() else {
        return;
    };
    let primary_id = cluster.primary().server_id.unwrap();
    let runtime = runtime();
    let config = maria_config(&cluster).read_fallback(ReadFallback::Fail);
    let router = runtime.block_on(async { maria_router(config) }).unwrap();
    let mut handle = router.clone();
    runtime
        .block_on(maria_insert(&mut handle, 1, false))
        .unwrap();
    let (found, server) = runtime.block_on(maria_find(&mut handle, 1)).unwrap();
    assert!(
        !found && server != primary_id,
        "found: {found}, on {server}"
    );
    let database = stats_of(&router, "maria");
    assert_eq!(database.reads_on_primary_for_token, 0, "{database:#?}");
    assert_eq!(database.reads_token_not_honoured, 1, "{database:#?}");
}

/// With the primary gone, a token read is served by a replica, not failed: through the
/// handle that wrote, and through another router given the token's text (which cannot
/// check it against the primary).
#[test]
fn pg_a_token_read_without_a_primary_is_served() {
    let Some(cluster) = pg_delayed_cluster() else {
        return;
    };
    let runtime = runtime();
    let (router, elsewhere) = runtime.block_on(async {
        (
            pg_router(pg_config(&cluster)).unwrap(),
            pg_router(pg_config(&cluster)).unwrap(),
        )
    });
    let mut handle = router.clone();
    runtime.block_on(pg_insert(&mut handle, 1, false)).unwrap();
    let text = handle.token().to_string();
    cluster.stop(&cluster.primary(), Stop::Fast);
    let (_, _, in_recovery) = runtime.block_on(pg_find(&mut handle, 1)).unwrap();
    assert!(in_recovery);
    let mut other = elsewhere.clone().with_token_text(&text);
    let (_, _, in_recovery) = runtime.block_on(pg_find(&mut other, 1)).unwrap();
    assert!(in_recovery);
    for router in [&router, &elsewhere] {
        let database = stats_of(router, "default");
        assert_eq!(database.reads_token_not_honoured, 1, "{database:#?}");
    }
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
