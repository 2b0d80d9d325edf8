//! Write transactions: a write function that lends its writer to read functions has them
//! run on the primary, in its transaction, seeing its uncommitted rows, which no other
//! connection sees before the commit; a cancelled one is undone.

use diesel_route::DatabaseConfig;
use diesel_route::prelude::*;
use tokio::sync::oneshot;

use crate::Writer;
use crate::schema::{App, Ran, insert_item, item_names, whoami};

/// What the write saw of its own row before committing, and what another session saw.
#[derive(Debug)]
struct Seen {
    own_read: Vec<String>,
    own_read_ran: Ran,
    other_session_count: String,
    replica_read: Vec<String>,
}

#[route(write, transaction)]
async fn insert_and_look(
    conn: &mut Writer,
    app: &App,
    router: &mut diesel_route::Router,
) -> diesel_route::Result<Seen> {
    insert_item(conn, "uncommitted").await?;
    Ok(Seen {
        own_read: item_names(conn).await?,
        own_read_ran: whoami(conn).await?,
        other_session_count: app.sql(&app.cluster.primary(), "SELECT count(*) FROM items"),
        replica_read: item_names(router).await?,
    })
}

#[tokio::test]
async fn a_writer_lent_to_a_read_function_reads_its_own_uncommitted_write() {
    let Some(app) = App::start("read_your_writes").await else {
        return;
    };
    let mut router = app.router.clone();
    let mut other_router = app.router.clone();
    let seen = insert_and_look(&mut router, &app, &mut other_router)
        .await
        .unwrap();
    assert_eq!(seen.own_read, ["uncommitted"], "{seen:?}");
    assert!(seen.own_read_ran.server(app.cluster).is_primary, "{seen:?}");
    assert_eq!(seen.other_session_count, "0", "{seen:?}");
    assert_eq!(seen.replica_read, Vec::<String>::new(), "{seen:?}");

    let primary = app.cluster.primary();
    assert_eq!(app.sql(&primary, "SELECT count(*) FROM items"), "1");
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
/// neither its row nor an open transaction on a pooled connection: the next write, on the
/// pool's only connection slot, commits.
#[tokio::test]
async fn a_cancelled_write_transaction_is_rolled_back() {
    let configure = |config: DatabaseConfig| config.max_size(1);
    let Some(mut app) = App::start_with("cancelled_write", configure).await else {
        return;
    };
    let (inserted, is_inserted) = oneshot::channel();
    let mut router = app.router.clone();
    tokio::select! {
        _ = insert_and_hang(&mut router, inserted) => unreachable!("it never finishes"),
        _ = is_inserted => {}
    }
    insert_item(&mut app.router, "next").await.unwrap();
    let primary = app.cluster.primary();
    assert_eq!(app.sql(&primary, "SELECT name FROM items"), "next");
}
