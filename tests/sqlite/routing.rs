//! Reads go to the read-only reader pool, writes to the writer pool, and what a write wrote
//! is read back.

use diesel_route::prelude::*;
use diesel_route::{Error, raw_read, raw_write};

use crate::schema::{App, count_in_file, insert_item, item_names, router_in};
use crate::{Reader, Writer};

#[tokio::test]
async fn reads_return_what_writes_wrote() {
    let mut app = App::new().await;
    assert_eq!(
        item_names(&mut app.router).await.unwrap(),
        Vec::<String>::new()
    );
    insert_item(&mut app.router, "first").await.unwrap();
    insert_item(&mut app.router, "second").await.unwrap();
    assert_eq!(
        item_names(&mut app.router).await.unwrap(),
        ["first", "second"]
    );
    assert_eq!(count_in_file(&app.app_db, "items"), 2);
}

/// Where a call ran, and what a raw `INSERT` did there.
#[derive(Debug)]
struct Ran {
    server: String,
    database: &'static str,
    backend: &'static str,
    insert: diesel_route::Result<usize>,
}

fn insert_sql(name: &str) -> diesel::query_builder::SqlQuery {
    diesel::sql_query(format!("INSERT INTO items (name) VALUES ('{name}')"))
}

#[route(read)]
async fn insert_on_reader(conn: &mut Reader) -> diesel_route::Result<Ran> {
    let insert = raw_read(insert_sql("by reader")).execute(conn).await;
    let server = conn.server();
    Ok(Ran {
        server: server.name(),
        database: server.database(),
        backend: server.backend(),
        insert: insert.map_err(Error::from),
    })
}

#[route(write)]
async fn insert_on_writer(conn: &mut Writer) -> diesel_route::Result<Ran> {
    let insert = raw_write(insert_sql("by writer")).execute(conn).await;
    let server = conn.server();
    Ok(Ran {
        server: server.name(),
        database: server.database(),
        backend: server.backend(),
        insert: insert.map_err(Error::from),
    })
}

/// SQLite has one server per database: reads and writes both name the primary, but reads
/// get a connection of the read-only pool, which refuses the `INSERT` the writer runs.
#[tokio::test]
async fn reads_run_on_the_read_only_pool_and_writes_on_the_writer() {
    let mut app = App::new().await;
    let read = insert_on_reader(&mut app.router).await.unwrap();
    assert_eq!(
        (read.server.as_str(), read.database, read.backend),
        ("primary", "default", "sqlite")
    );
    assert!(matches!(read.insert, Err(Error::ReadOnly(_))), "{read:?}");

    let write = insert_on_writer(&mut app.router).await.unwrap();
    assert_eq!(
        (write.server.as_str(), write.database, write.backend),
        ("primary", "default", "sqlite")
    );
    assert_eq!(write.insert.unwrap(), 1);
    assert_eq!(item_names(&mut app.router).await.unwrap(), ["by writer"]);
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = diesel::sql_types::Text)]
    journal_mode: String,
}

#[route(read)]
async fn journal_mode(conn: &mut Reader) -> diesel_route::Result<String> {
    let mode: JournalMode = raw_read(diesel::sql_query("PRAGMA journal_mode"))
        .get_result(conn)
        .await?;
    Ok(mode.journal_mode)
}

/// WAL is what lets readers read while the writer writes; a fresh file can be read before
/// anything was ever written through the router.
#[tokio::test]
async fn a_fresh_file_is_in_wal_mode_and_readable_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut router = router_in(dir.path(), |config| config);
    assert_eq!(journal_mode(&mut router).await.unwrap(), "wal");
}

#[route(write, transaction)]
async fn insert_then_fail(conn: &mut Writer, name: &str) -> diesel_route::Result<()> {
    insert_item(conn, name).await?;
    assert_eq!(item_names(conn).await?, [name]);
    Err(Error::Query(diesel::result::Error::NotFound))
}

#[route(write)]
async fn insert_then_fail_outside_a_transaction(
    conn: &mut Writer,
    name: &str,
) -> diesel_route::Result<()> {
    insert_item(conn, name).await?;
    Err(Error::Query(diesel::result::Error::NotFound))
}

#[tokio::test]
async fn a_transaction_rolls_back_when_the_function_fails() {
    let mut app = App::new().await;
    let failed = insert_then_fail(&mut app.router, "rolled back").await;
    assert!(matches!(
        failed,
        Err(Error::Query(diesel::result::Error::NotFound))
    ));
    assert_eq!(count_in_file(&app.app_db, "items"), 0);

    let failed = insert_then_fail_outside_a_transaction(&mut app.router, "kept").await;
    assert!(failed.is_err());
    assert_eq!(item_names(&mut app.router).await.unwrap(), ["kept"]);
}
