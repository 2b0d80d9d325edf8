//! What the cases share: routed calls that say whether their connection is encrypted, and
//! routers to one backend with the other pointed nowhere.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Text, Unsigned};
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router, WriteSource, raw_read, raw_write};

use crate::{Databases, Reader, Writer, default, maria};

/// A URL nothing listens on, for the database a case does not use: a router needs every
/// declared database configured, and no connection to it is ever opened.
const NOWHERE_PG: &str = "postgres://unused@127.0.0.1:9/unused";
const NOWHERE_MARIA: &str = "mysql://unused@127.0.0.1:9/unused";

/// A router whose `default` (PostgreSQL) is `config`.
pub(crate) fn pg_router(config: DatabaseConfig) -> Result<Router, diesel_route::Error> {
    Router::builder(Databases)
        .database("default", config)
        .database("maria", DatabaseConfig::new(NOWHERE_MARIA))
        .build()
}

/// A router whose `maria` (MariaDB) is `config`.
pub(crate) fn maria_router(config: DatabaseConfig) -> Result<Router, diesel_route::Error> {
    Router::builder(Databases)
        .database("default", DatabaseConfig::new(NOWHERE_PG))
        .database("maria", config)
        .build()
}

#[derive(QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

#[derive(QueryableByName)]
struct Status {
    #[diesel(sql_type = Text, column_name = "Value")]
    value: String,
}

const PG_ENCRYPTED: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
const MARIA_CIPHER: &str = "SHOW SESSION STATUS LIKE 'Ssl_cipher'";

/// Whether a reader's connection to PostgreSQL is encrypted, as the server sees it.
#[route(read)]
pub(crate) async fn pg_reader_encrypted(conn: &mut Reader) -> diesel_route::Result<bool> {
    let row: Encrypted = raw_read(diesel::sql_query(PG_ENCRYPTED))
        .get_result(conn)
        .await?;
    Ok(row.ssl)
}

/// Whether a writer's connection to PostgreSQL is encrypted.
#[route(write)]
pub(crate) async fn pg_writer_encrypted(conn: &mut Writer) -> diesel_route::Result<bool> {
    let row: Encrypted = diesel::sql_query(PG_ENCRYPTED).get_result(conn).await?;
    Ok(row.ssl)
}

/// Whether a reader's connection to MariaDB is encrypted (its cipher is not empty).
#[route(read)]
pub(crate) async fn maria_reader_encrypted(conn: &mut Reader<maria>) -> diesel_route::Result<bool> {
    let row: Status = raw_read(diesel::sql_query(MARIA_CIPHER))
        .get_result(conn)
        .await?;
    Ok(!row.value.is_empty())
}

/// Whether a writer's connection to MariaDB is encrypted.
#[route(write)]
pub(crate) async fn maria_writer_encrypted(conn: &mut Writer<maria>) -> diesel_route::Result<bool> {
    let row: Status = diesel::sql_query(MARIA_CIPHER).get_result(conn).await?;
    Ok(!row.value.is_empty())
}

#[derive(QueryableByName)]
struct Port {
    #[diesel(sql_type = Integer)]
    port: i32,
}

#[derive(QueryableByName)]
struct PgServer {
    #[diesel(sql_type = Integer)]
    port: i32,
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
}

#[derive(QueryableByName)]
struct ServerId {
    #[diesel(sql_type = Unsigned<Integer>)]
    server_id: u32,
}

#[derive(QueryableByName)]
struct MariaServer {
    #[diesel(sql_type = Unsigned<Integer>)]
    server_id: u32,
    #[diesel(sql_type = Bool)]
    read_only: bool,
}

const PG_INSERT: &str = "INSERT INTO ledger (id) VALUES ($1) RETURNING inet_server_port() AS port";
const MARIA_INSERT: &str = "INSERT INTO ledger (id) VALUES (?) \
    RETURNING CAST(@@server_id AS UNSIGNED) AS server_id";

/// Inserts `id` into `ledger` on PostgreSQL, in a transaction of its own or alone; returns
/// the port of the server that took it.
pub(crate) async fn pg_insert(
    source: &mut dyn WriteSource<default>,
    id: i64,
    in_transaction: bool,
) -> diesel_route::Result<i64> {
    match in_transaction {
        true => pg_insert_in_transaction(source, id).await,
        false => pg_insert_alone(source, id).await,
    }
}

#[route(write)]
async fn pg_insert_alone(conn: &mut Writer, id: i64) -> diesel_route::Result<i64> {
    let insert = diesel::sql_query(PG_INSERT).bind::<BigInt, _>(id);
    let row: Port = raw_write(insert).get_result(conn).await?;
    Ok(row.port.into())
}

#[route(write, transaction)]
async fn pg_insert_in_transaction(conn: &mut Writer, id: i64) -> diesel_route::Result<i64> {
    let insert = diesel::sql_query(PG_INSERT).bind::<BigInt, _>(id);
    let row: Port = raw_write(insert).get_result(conn).await?;
    Ok(row.port.into())
}

/// The port of the PostgreSQL server a read went to, and whether it is in recovery.
#[route(read)]
pub(crate) async fn pg_read_server(conn: &mut Reader) -> diesel_route::Result<(i32, bool)> {
    let query = "SELECT inet_server_port() AS port, pg_is_in_recovery() AS in_recovery";
    let row: PgServer = raw_read(diesel::sql_query(query)).get_result(conn).await?;
    Ok((row.port, row.in_recovery))
}

/// Inserts `id` into `ledger` on MariaDB; returns the `@@server_id` of the server that took
/// it.
pub(crate) async fn maria_insert(
    source: &mut dyn WriteSource<maria>,
    id: i64,
    in_transaction: bool,
) -> diesel_route::Result<i64> {
    match in_transaction {
        true => maria_insert_in_transaction(source, id).await,
        false => maria_insert_alone(source, id).await,
    }
}

#[route(write)]
async fn maria_insert_alone(conn: &mut Writer<maria>, id: i64) -> diesel_route::Result<i64> {
    let insert = diesel::sql_query(MARIA_INSERT).bind::<BigInt, _>(id);
    let row: ServerId = raw_write(insert).get_result(conn).await?;
    Ok(row.server_id.into())
}

#[route(write, transaction)]
async fn maria_insert_in_transaction(
    conn: &mut Writer<maria>,
    id: i64,
) -> diesel_route::Result<i64> {
    let insert = diesel::sql_query(MARIA_INSERT).bind::<BigInt, _>(id);
    let row: ServerId = raw_write(insert).get_result(conn).await?;
    Ok(row.server_id.into())
}

/// The `@@server_id` of the MariaDB server a read went to, and whether it is read-only.
#[route(read)]
pub(crate) async fn maria_read_server(
    conn: &mut Reader<maria>,
) -> diesel_route::Result<(u32, bool)> {
    let query = "SELECT CAST(@@server_id AS UNSIGNED) AS server_id, \
        @@global.read_only = 1 AS read_only";
    let row: MariaServer = raw_read(diesel::sql_query(query)).get_result(conn).await?;
    Ok((row.server_id, row.read_only))
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    default_transaction_read_only: String,
}

/// Whether a reader's PostgreSQL session is read-only: `on` or `off`.
#[route(read)]
pub(crate) async fn pg_reader_read_only(conn: &mut Reader) -> diesel_route::Result<String> {
    let query = raw_read(diesel::sql_query("SHOW default_transaction_read_only"));
    let row: Setting = query.get_result(conn).await?;
    Ok(row.default_transaction_read_only)
}

#[derive(QueryableByName)]
struct PgFound {
    #[diesel(sql_type = BigInt)]
    found: i64,
    #[diesel(sql_type = Integer)]
    port: i32,
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
}

/// Whether a read sees the row `id` of `ledger`, and on which PostgreSQL server: its port
/// and whether it is in recovery.
#[route(read)]
pub(crate) async fn pg_find(conn: &mut Reader, id: i64) -> diesel_route::Result<(bool, i32, bool)> {
    let query = diesel::sql_query(
        "SELECT (SELECT count(*) FROM ledger WHERE id = $1) AS found, \
         inet_server_port() AS port, pg_is_in_recovery() AS in_recovery",
    )
    .bind::<BigInt, _>(id);
    let row: PgFound = raw_read(query).get_result(conn).await?;
    Ok((row.found == 1, row.port, row.in_recovery))
}

#[derive(QueryableByName)]
struct MariaFound {
    #[diesel(sql_type = BigInt)]
    found: i64,
    #[diesel(sql_type = Unsigned<Integer>)]
    server_id: u32,
}

/// Whether a read sees the row `id` of `ledger`, and on which MariaDB server.
#[route(read)]
pub(crate) async fn maria_find(
    conn: &mut Reader<maria>,
    id: i64,
) -> diesel_route::Result<(bool, u32)> {
    let query = diesel::sql_query(
        "SELECT (SELECT count(*) FROM ledger WHERE id = ?) AS found, \
         CAST(@@server_id AS UNSIGNED) AS server_id",
    )
    .bind::<BigInt, _>(id);
    let row: MariaFound = raw_read(query).get_result(conn).await?;
    Ok((row.found == 1, row.server_id))
}

/// A runtime of two workers, for the cases that drive calls from plain threads.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}
