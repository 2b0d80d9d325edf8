//! SQLite (one file in WAL mode): a routed read and a routed write against plain
//! diesel-async on deadpool, in one run. diesel-async runs SQLite through
//! `SyncConnectionWrapper`, so every query hops to a tokio blocking thread, plain and routed
//! alike.
//!
//! `cargo bench -p diesel-route-benches --bench sqlite`; the file is in a temp dir on
//! `/dev/shm` where there is one.

// `criterion_group!` and `diesel::table!` generate items without docs.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use diesel::sql_types::Integer;
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router};
use diesel_route_benches::plain::{self, Check};
use diesel_route_benches::server::SqliteFile;
use diesel_route_benches::{POOL_SIZE, ROUTED_ROW, bench_calls};

diesel_route::databases! {
    default: sqlite,
}

diesel::table! {
    diesel_route_bench_counter (id) {
        id -> Integer,
        n -> BigInt,
    }
}
use self::diesel_route_bench_counter as counter;
diesel_route::tables!(default: diesel_route_bench_counter);

/// The routed read: checkout from the read-only (`mode=ro`) pool, `SELECT 1`, return.
#[route(read)]
async fn one(conn: &mut Reader) -> diesel_route::Result<i32> {
    Ok(diesel::select(1.into_sql::<Integer>())
        .get_result(conn)
        .await?)
}

/// The routed write: checkout of the single writer connection, an `UPDATE` of one row,
/// return.
#[route(write)]
async fn bump(conn: &mut Writer) -> diesel_route::Result<usize> {
    Ok(diesel::update(counter::table.find(ROUTED_ROW))
        .set(counter::n.eq(counter::n + 1))
        .execute(conn)
        .await?)
}

/// The same calls written with plain diesel-async, as its users write them.
mod plain_calls {
    use diesel::prelude::*;
    use diesel::sql_types::Integer;
    use diesel_async::RunQueryDsl;
    use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
    use diesel_route_benches::PLAIN_ROW;
    use diesel_route_benches::plain::{Deadpool, PlainError};

    use super::counter;

    pub(crate) type Sqlite = SyncConnectionWrapper<SqliteConnection>;

    /// Checkout, `SELECT 1`, return.
    pub(crate) async fn one(pool: &Deadpool<Sqlite>) -> Result<i32, PlainError> {
        let mut conn = pool.get().await?;
        Ok(diesel::select(1.into_sql::<Integer>())
            .get_result(&mut conn)
            .await?)
    }

    /// Checkout, an `UPDATE` of one row, return.
    pub(crate) async fn bump(pool: &Deadpool<Sqlite>) -> Result<usize, PlainError> {
        let mut conn = pool.get().await?;
        Ok(diesel::update(counter::table.find(PLAIN_ROW))
            .set(counter::n.eq(counter::n + 1))
            .execute(&mut conn)
            .await?)
    }
}

fn benches(c: &mut Criterion) {
    diesel_route_benches::print_client();
    let file = SqliteFile::new();
    file.prepare();
    let rt = diesel_route_benches::runtime();
    let _guard = rt.enter();
    let fast = plain::deadpool::<plain_calls::Sqlite>(&file.url(), Check::None);
    let routed = Router::builder(Databases)
        .database(
            "default",
            DatabaseConfig::new(file.url()).max_size(POOL_SIZE),
        )
        .build()
        .expect("a router");

    let mut group = c.benchmark_group("sqlite/read");
    bench_calls(&mut group, "plain", &rt, &fast, async |pool| {
        plain_calls::one(pool).await.unwrap()
    });
    bench_calls(&mut group, "routed", &rt, &routed, async |router| {
        one(router).await.unwrap()
    });
    group.finish();

    let mut group = c.benchmark_group("sqlite/write");
    bench_calls(&mut group, "plain", &rt, &fast, async |pool| {
        plain_calls::bump(pool).await.unwrap()
    });
    bench_calls(&mut group, "routed", &rt, &routed, async |router| {
        bump(router).await.unwrap()
    });
    group.finish();
}

criterion_group! {
    name = sqlite;
    config = diesel_route_benches::criterion();
    targets = benches
}
criterion_main!(sqlite);
