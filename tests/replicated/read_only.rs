//! The second line of defence: what slips past the types onto a reader (raw SQL marked
//! `raw_read`, a side-effecting function inside a `SELECT`) fails with `Error::ReadOnly` and
//! writes nothing, on a replica and on the primary when reads fall back to it (through the
//! read-only session alone).

use diesel::sql_types::BigInt;
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Error, Router, raw_read};

use crate::backend;
use crate::schema::{App, whoami};
use crate::{Databases, Reader};

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
