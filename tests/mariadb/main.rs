//! diesel-route on MariaDB: a primary and two GTID replicas started by the harness (with
//! `read_only`, which binds the application user: it lacks `READ_ONLY ADMIN`), shared by
//! every test; each test works in databases of its own.
//!
//! The modules in `../replicated/` run on PostgreSQL too: `schema` gives them the same
//! application on each backend, with `backend` for what differs.

mod backend;
#[path = "../replicated/binds.rs"]
mod binds;
#[path = "../replicated/failures.rs"]
mod failures;
#[path = "../shared/hung.rs"]
mod hung;
#[path = "../replicated/net.rs"]
mod net;
#[path = "../replicated/read_only.rs"]
mod read_only;
#[path = "../replicated/replicas.rs"]
mod replicas;
#[path = "../replicated/schema.rs"]
mod schema;
#[path = "../replicated/transactions.rs"]
mod transactions;

diesel_route::databases! {
    /// `items`, in the test's database.
    default: mysql,
    /// `events`, bound with `#[bind("other")]`, in a second database of the test.
    other: mysql,
}

/// A TCP URL authenticates over TCP: mysql_async would otherwise reconnect a connection to a
/// loopback server over its Unix socket, as `app@localhost`, another account with its own
/// grants.
#[tokio::test]
async fn a_tcp_url_connects_over_tcp_as_the_account_it_names() {
    use diesel_route::prelude::*;

    #[derive(diesel::QueryableByName)]
    struct Account {
        #[diesel(sql_type = diesel::sql_types::Text)]
        account: String,
    }

    #[route(read)]
    async fn account(conn: &mut Reader) -> diesel_route::Result<String> {
        let query = diesel::sql_query("SELECT USER() AS account");
        let account: Account = diesel_route::raw_read(query).get_result(conn).await?;
        Ok(account.account)
    }

    #[route(write)]
    async fn writer_account(conn: &mut Writer) -> diesel_route::Result<String> {
        let query = diesel::sql_query("SELECT USER() AS account");
        let account: Account = query.get_result(conn).await?;
        Ok(account.account)
    }

    let Some(app) = schema::App::start("tcp_account").await else {
        return;
    };
    let mut router = app.router.clone();
    assert_eq!(account(&mut router).await.unwrap(), "app@127.0.0.1");
    assert_eq!(writer_account(&mut router).await.unwrap(), "app@127.0.0.1");
}
