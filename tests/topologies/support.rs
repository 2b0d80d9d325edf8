//! What the cases share: routed calls that say whether their connection is encrypted, and
//! routers to one backend with the other pointed nowhere.

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router, raw_read};

use crate::{Databases, Reader, Writer, maria};

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
