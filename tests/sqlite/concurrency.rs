//! Reads while a write transaction is open: WAL and the read-only pool let them through
//! at once, on the last committed state, instead of failing with `SQLITE_BUSY`. And the
//! write transaction itself: its own reads see its rows, and a cancelled one is undone.

use std::time::Duration;

use diesel_route::prelude::*;
use tokio::sync::oneshot;

use crate::Writer;
use crate::schema::{App, count_in_file, insert_item, item_names};

const READERS: usize = 16;

/// Inserts a row in a transaction, says so on `inserted`, and commits once `commit` fires.
#[route(write, transaction)]
async fn insert_and_wait(
    conn: &mut Writer,
    inserted: oneshot::Sender<()>,
    commit: oneshot::Receiver<()>,
) -> diesel_route::Result<()> {
    insert_item(conn, "uncommitted").await?;
    inserted.send(()).unwrap();
    commit.await.unwrap();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_during_an_open_write_transaction_succeed_without_its_rows() {
    let app = App::with(|config| config.max_size(READERS)).await;
    let (inserted, is_inserted) = oneshot::channel();
    let (commit, committing) = oneshot::channel();
    let mut router = app.router.clone();
    let writer =
        tokio::spawn(async move { insert_and_wait(&mut router, inserted, committing).await });
    is_inserted.await.unwrap();

    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let mut router = app.router.clone();
            tokio::spawn(async move { item_names(&mut router).await })
        })
        .collect();
    for reader in readers {
        // The writer still holds its transaction: a read that waited for it would hang here.
        let names = tokio::time::timeout(Duration::from_secs(3), reader)
            .await
            .expect("a read waited for the write transaction")
            .unwrap();
        assert_eq!(
            names.unwrap(),
            Vec::<String>::new(),
            "a read saw an uncommitted row"
        );
    }

    commit.send(()).unwrap();
    writer.await.unwrap().unwrap();
    let mut router = app.router.clone();
    assert_eq!(item_names(&mut router).await.unwrap(), ["uncommitted"]);
}

#[route(write, transaction)]
async fn insert_and_read_back(conn: &mut Writer) -> diesel_route::Result<Vec<String>> {
    insert_item(conn, "mine").await?;
    item_names(conn).await
}

/// A writer lent to a read function serves it on the same connection, so the read sees the
/// write's uncommitted row.
#[tokio::test]
async fn a_writer_lent_to_a_read_function_sees_its_uncommitted_rows() {
    let mut app = App::new().await;
    assert_eq!(
        insert_and_read_back(&mut app.router).await.unwrap(),
        ["mine"]
    );
}

/// Inserts a row in a transaction, says so on `inserted`, and never finishes.
#[route(write, transaction)]
async fn insert_and_hang(
    conn: &mut Writer,
    inserted: oneshot::Sender<()>,
) -> diesel_route::Result<()> {
    insert_item(conn, "abandoned").await?;
    inserted.send(()).unwrap();
    std::future::pending::<()>().await;
    Ok(())
}

/// A write call dropped mid-transaction (a client went away, a timeout fired) leaves
/// neither its row nor an open transaction behind on SQLite's only writer connection.
#[tokio::test]
async fn a_cancelled_write_transaction_is_rolled_back_and_frees_the_writer() {
    let mut app = App::with(|config| config.checkout_timeout(Duration::from_secs(2))).await;
    let (inserted, is_inserted) = oneshot::channel();
    let mut router = app.router.clone();
    tokio::select! {
        _ = insert_and_hang(&mut router, inserted) => unreachable!("it never finishes"),
        _ = is_inserted => {}
    }
    insert_item(&mut app.router, "next").await.unwrap();
    assert_eq!(item_names(&mut app.router).await.unwrap(), ["next"]);
    assert_eq!(count_in_file(&app.app_db, "items"), 1);
}
