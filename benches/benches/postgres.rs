//! PostgreSQL over loopback: a routed read and a routed write against plain diesel-async on
//! deadpool, and the liveness policies (no check, a check on every checkout, diesel-route's
//! bypass window), all in one run.
//!
//! `cargo bench -p diesel-route-benches --bench postgres`; the server is the one at
//! `BENCH_POSTGRES_URL`, else one the bench starts (see `PgServer::start_or_find`).

// `criterion_group!` and `diesel::table!` generate items without docs.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use diesel::sql_types::Integer;
use diesel_async::AsyncPgConnection;
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router};
use diesel_route_benches::plain::{self, Check};
use diesel_route_benches::server::PgServer;
use diesel_route_benches::{POOL_SIZE, ROUTED_ROW, bench_calls};

diesel_route::databases! {
    default: postgres,
}

diesel::table! {
    diesel_route_bench_counter (id) {
        id -> Integer,
        n -> BigInt,
    }
}
use self::diesel_route_bench_counter as counter;
diesel_route::tables!(default: diesel_route_bench_counter);

/// The routed read: checkout from the standby's pool,
/// `SELECT 1`, return.
#[route(read)]
async fn one(conn: &mut Reader) -> diesel_route::Result<i32> {
    Ok(diesel::select(1.into_sql::<Integer>())
        .get_result(conn)
        .await?)
}

/// The routed write: checkout from the primary's pool, an `UPDATE` of one row, return.
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
    use diesel_async::{AsyncPgConnection, RunQueryDsl};
    use diesel_route_benches::PLAIN_ROW;
    use diesel_route_benches::plain::{Deadpool, PlainError};

    use super::counter;

    /// Checkout, `SELECT 1`, return.
    pub(crate) async fn one(pool: &Deadpool<AsyncPgConnection>) -> Result<i32, PlainError> {
        let mut conn = pool.get().await?;
        Ok(diesel::select(1.into_sql::<Integer>())
            .get_result(&mut conn)
            .await?)
    }

    /// Checkout, an `UPDATE` of one row, return.
    pub(crate) async fn bump(pool: &Deadpool<AsyncPgConnection>) -> Result<usize, PlainError> {
        let mut conn = pool.get().await?;
        Ok(diesel::update(counter::table.find(PLAIN_ROW))
            .set(counter::n.eq(counter::n + 1))
            .execute(&mut conn)
            .await?)
    }
}

fn router(url: &str, standby: Option<&str>, ping_after: Option<Duration>) -> Router {
    let mut config = DatabaseConfig::new(url)
        .replicas(standby)
        .max_size(POOL_SIZE);
    if let Some(idle) = ping_after {
        config = config.ping_after(idle);
    }
    Router::builder(Databases)
        .database("default", config)
        .build()
        .expect("a router")
}

fn benches(c: &mut Criterion) {
    diesel_route_benches::print_client();
    let server = PgServer::start_or_find();
    let rt = diesel_route_benches::runtime();
    let _guard = rt.enter();
    rt.block_on(server.prepare());
    let url = server.url();
    // Reads go to the standby on both sides; writes to the primary.
    let fast = plain::deadpool::<AsyncPgConnection>(url, Check::None);
    let reads = plain::deadpool::<AsyncPgConnection>(server.read_url(), Check::None);
    let verified = plain::deadpool::<AsyncPgConnection>(server.read_url(), Check::EveryCheckout);
    // Default `ping_after` (1 s): a connection used within the last second is not pinged.
    let routed = router(url, server.standby_url(), None);
    let routed_ping = router(url, server.standby_url(), Some(Duration::ZERO));

    let mut group = c.benchmark_group("postgres/read");
    bench_calls(&mut group, "plain", &rt, &reads, async |pool| {
        plain_calls::one(pool).await.unwrap()
    });
    bench_calls(&mut group, "routed", &rt, &routed, async |router| {
        one(router).await.unwrap()
    });
    group.finish();

    let mut group = c.benchmark_group("postgres/write");
    bench_calls(&mut group, "plain", &rt, &fast, async |pool| {
        plain_calls::bump(pool).await.unwrap()
    });
    bench_calls(&mut group, "routed", &rt, &routed, async |router| {
        bump(router).await.unwrap()
    });
    group.finish();

    // The read again under each liveness policy, on a hot connection (used microseconds ago).
    let mut group = c.benchmark_group("postgres/liveness");
    bench_calls(&mut group, "plain_no_check", &rt, &reads, async |pool| {
        plain_calls::one(pool).await.unwrap()
    });
    bench_calls(&mut group, "plain_verified", &rt, &verified, async |pool| {
        plain_calls::one(pool).await.unwrap()
    });
    bench_calls(
        &mut group,
        "routed_ping_every_checkout",
        &rt,
        &routed_ping,
        async |router| one(router).await.unwrap(),
    );
    bench_calls(
        &mut group,
        "routed_bypass_window",
        &rt,
        &routed,
        async |router| one(router).await.unwrap(),
    );
    group.finish();
}

criterion_group! {
    name = postgres;
    config = diesel_route_benches::criterion();
    targets = benches
}

criterion_main!(postgres);
