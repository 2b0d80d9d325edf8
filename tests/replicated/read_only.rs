//! The second line of defence: what slips past the types onto a reader (raw SQL marked
//! `raw_read`, a side-effecting function inside a `SELECT`) fails with `Error::ReadOnly` and
//! writes nothing, on a replica and on the primary when reads fall back to it. A reader
//! cannot make its session writable either: not in the call that tries, and not for the
//! calls that get the same pooled connection after it.

use diesel::sql_types::{BigInt, Text};
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Error, ReadSource, Router, raw_read};

use crate::backend;
use crate::schema::{App, whoami};
use crate::{Databases, Reader, default};

#[route(read)]
async fn sneak_in(conn: &mut Reader, name: &str) -> diesel_route::Result<usize> {
    let insert = diesel::sql_query(backend::INSERT_ITEM).bind::<diesel::sql_types::Text, _>(name);
    Ok(raw_read(insert).execute(conn).await?)
}

/// Taking a sequence's next value writes the sequence: the types see only a `SELECT`.
#[route(read)]
async fn advance_sequence(conn: &mut Reader) -> diesel_route::Result<i64> {
    let next = diesel::dsl::sql::<BigInt>(backend::NEXT_VALUE);
    Ok(diesel::select(next).get_result(conn).await?)
}

/// Checks that nothing was written, on every server.
fn assert_nothing_written(app: &App) {
    app.cluster.wait_caught_up();
    for server in app.cluster.servers() {
        assert_eq!(
            app.sql(&server, "SELECT count(*) FROM items"),
            "0",
            "{server:?}"
        );
        let (query, unmoved) = backend::SEQUENCE_UNMOVED;
        assert_eq!(
            app.sql(&server, query),
            unmoved,
            "the sequence moved on {server:?}"
        );
    }
}

#[tokio::test]
async fn a_write_slipped_onto_a_replica_fails_with_read_only_and_writes_nothing() {
    let Some(mut app) = App::start("read_only_replica").await else {
        return;
    };
    for _ in 0..4 {
        let error = sneak_in(&mut app.router, "sneaky").await.unwrap_err();
        assert!(matches!(error, Error::ReadOnly(_)), "{error:?}");
        let error = advance_sequence(&mut app.router).await.unwrap_err();
        assert!(matches!(error, Error::ReadOnly(_)), "{error:?}");
    }
    assert_nothing_written(&app);
}

#[tokio::test]
async fn a_write_slipped_onto_the_primary_through_a_reader_fails_too() {
    let Some(app) = App::start("read_only_primary").await else {
        return;
    };
    // No replicas: reads run on the primary, in read-only sessions.
    let mut router = Router::builder(Databases)
        .database("default", DatabaseConfig::new(&app.urls.0))
        .database("other", DatabaseConfig::new(&app.other_urls.0))
        .build()
        .unwrap();
    let read = whoami(&mut router).await.unwrap();
    assert!(read.server(app.cluster).is_primary, "{read:?}");

    for _ in 0..2 {
        let error = sneak_in(&mut router, "sneaky").await.unwrap_err();
        assert!(matches!(error, Error::ReadOnly(_)), "{error:?}");
        assert!(error.to_string().contains("read-only"), "{error}");
        let error = advance_sequence(&mut router).await.unwrap_err();
        assert!(matches!(error, Error::ReadOnly(_)), "{error:?}");
    }
    assert_nothing_written(&app);
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs `flip`, then tries to write: what each did.
#[route(read)]
async fn flip_then_write(
    conn: &mut Reader,
    flip: &str,
) -> diesel_route::Result<(Result<usize, Error>, Result<usize, Error>)> {
    let flipped = raw_read(diesel::sql_query(flip)).execute(conn).await;
    let insert = diesel::sql_query(backend::INSERT_ITEM).bind::<Text, _>("flipped");
    let wrote = raw_read(insert).execute(conn).await;
    Ok((flipped.map_err(Error::from), wrote.map_err(Error::from)))
}

#[route(read)]
async fn run_raw(conn: &mut Reader, sql: &str) -> diesel_route::Result<usize> {
    Ok(raw_read(diesel::sql_query(sql)).execute(conn).await?)
}

#[route(read)]
async fn session_is_read_only(conn: &mut Reader) -> diesel_route::Result<bool> {
    let answer: Number = raw_read(diesel::sql_query(backend::SESSION_IS_READ_ONLY))
        .get_result(conn)
        .await?;
    Ok(answer.n == 1)
}

/// Every flip fails, or its write does, or the call does; nothing is written; and the calls
/// after it, on the same connection (a pool of one, or a request session's reader), find a
/// read-only session.
async fn flips_write_nothing(app: &App, source: &mut (dyn ReadSource<default> + Send)) {
    for flip in backend::SESSION_FLIPS {
        match flip_then_write(source, flip).await {
            Ok((_, wrote)) => {
                let error = wrote.expect_err(flip);
                assert!(matches!(error, Error::ReadOnly(_)), "{flip}: {error:?}");
            }
            Err(error) => assert!(matches!(error, Error::ReadOnly(_)), "{flip}: {error:?}"),
        }
        for _ in 0..2 {
            let error = sneak_in(source, "after").await.unwrap_err();
            assert!(
                matches!(error, Error::ReadOnly(_)),
                "after {flip}: {error:?}"
            );
            assert!(
                session_is_read_only(source).await.unwrap(),
                "after {flip}: the session is writable"
            );
        }
    }
    for select in backend::WRITING_SELECTS {
        let error = run_raw(source, select).await.unwrap_err();
        assert!(matches!(error, Error::ReadOnly(_)), "{select}: {error:?}");
    }
    assert_nothing_written(app);
    app.cluster.wait_caught_up();
    for server in app.cluster.servers() {
        for (query, nothing) in backend::NOTHING_ELSE_WRITTEN {
            assert_eq!(app.sql(&server, query), *nothing, "{query} on {server:?}");
        }
    }
}

#[tokio::test]
async fn a_reader_on_the_primary_cannot_make_its_session_writable_nor_write_after() {
    let Some(app) = App::start("read_only_flips_primary").await else {
        return;
    };
    let config = |url: &String| DatabaseConfig::new(url).max_size(1);
    let mut router = Router::builder(Databases)
        .database("default", config(&app.urls.0))
        .database("other", config(&app.other_urls.0))
        .build()
        .unwrap();
    let read = whoami(&mut router).await.unwrap();
    assert!(read.server(app.cluster).is_primary, "{read:?}");
    // Through the router: each call checks the pool's one connection out and gives it back.
    flips_write_nothing(&app, &mut router).await;

    // Through a request session, whose reader stays checked out for every call.
    let mut session = router.session();
    flips_write_nothing(&app, &mut session).await;
    let held = session.servers();
    assert!(
        matches!(held.as_slice(), [(diesel_route::Role::Reader, server)] if server.name() == "primary"),
        "the session holds {held:?}"
    );
    session.rollback().await.unwrap();
}

#[tokio::test]
async fn a_reader_on_a_replica_cannot_make_its_session_writable_nor_write_after() {
    let Some(app) = App::start_with("read_only_flips_replicas", |config| config.max_size(1)).await
    else {
        return;
    };
    let mut router = app.router.clone();
    flips_write_nothing(&app, &mut router).await;
    let mut session = router.session();
    flips_write_nothing(&app, &mut session).await;
    session.rollback().await.unwrap();
}
