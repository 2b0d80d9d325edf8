// A read function that reaches a router the macro cannot see (here a global) and calls a
// write function through it: the write is refused when it starts, before any SQL is sent,
// with an error naming both functions. Outside a read, the same write runs.
use std::error::Error as _;
use std::sync::OnceLock;

use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Error, Router};

diesel_route::databases! {
    default: sqlite,
}

diesel::table! {
    notes (id) {
        id -> Integer,
        body -> Text,
    }
}
diesel_route::tables!(default: notes);

static ROUTER: OnceLock<Router> = OnceLock::new();

#[route(write)]
async fn create_schema(conn: &mut Writer) -> diesel_route::Result<()> {
    Ok(conn
        .batch_execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .await?)
}

#[route(write)]
async fn add_note(conn: &mut Writer, body: String) -> diesel_route::Result<usize> {
    Ok(diesel::insert_into(notes::table)
        .values(notes::body.eq(body))
        .execute(conn)
        .await?)
}

#[route(read)]
async fn note_count(conn: &mut Reader) -> diesel_route::Result<i64> {
    Ok(notes::table.count().get_result(conn).await?)
}

#[route(read)]
async fn count_and_log(conn: &mut Reader) -> diesel_route::Result<i64> {
    let mut router = ROUTER.get().expect("set in main").clone();
    add_note(&mut router, "read".to_owned()).await?;
    Ok(notes::table.count().get_result(conn).await?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let path = std::env::temp_dir().join(format!("diesel-route-ui-{}.db", std::process::id()));
    let url = path.to_str().expect("a UTF-8 temp path").to_owned();
    let mut router = Router::builder(Databases)
        .database("default", DatabaseConfig::new(url))
        .build()
        .expect("a router");
    ROUTER.set(router.clone()).ok();
    create_schema(&mut router).await.expect("the schema");

    let error = count_and_log(&mut router).await.expect_err("the write is refused");
    assert!(matches!(error, Error::ReadOnly(_)), "{error:?}");
    let why = error.source().expect("the refusal").to_string();
    assert!(why.contains("`add_note`") && why.contains("`count_and_log`"), "{why}");
    assert_eq!(note_count(&mut router).await.expect("a count"), 0);

    add_note(&mut router, "write".to_owned()).await.expect("a write outside a read");
    assert_eq!(note_count(&mut router).await.expect("a count"), 1);
    drop(router);
    let _ = std::fs::remove_file(&path);
}
