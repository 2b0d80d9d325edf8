//! The pool step alone: check a connection out and give it back, no query. deadpool (what
//! diesel-route is built on) against bb8, both through diesel-async's managers with no
//! check on checkout, and diesel-route's own checkout (a routed function with an empty body)
//! on the same deadpool, over PostgreSQL connections (the step itself sends nothing).
//!
//! `cargo bench -p diesel-route-benches --bench pool`

// `criterion_group!` generates an item without docs.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use diesel_async::AsyncPgConnection;
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router};
use diesel_route_benches::plain::{self, Check};
use diesel_route_benches::server::PgServer;
use diesel_route_benches::{POOL_SIZE, bench_calls};

diesel_route::databases! {
    default: postgres,
}

/// diesel-route's checkout and return, and nothing else.
#[route(read)]
async fn nothing(conn: &mut Reader) -> diesel_route::Result<()> {
    std::hint::black_box(&conn);
    Ok(())
}

fn benches(c: &mut Criterion) {
    diesel_route_benches::print_client();
    let server = PgServer::start_or_find();
    let rt = diesel_route_benches::runtime();
    let _guard = rt.enter();
    rt.block_on(server.prepare());
    let url = server.url();
    let deadpool = plain::deadpool::<AsyncPgConnection>(url, Check::None);
    let deadpool_timeouts = plain::deadpool_with_timeouts::<AsyncPgConnection>(url, Check::None);
    let bb8 = rt.block_on(plain::bb8::<AsyncPgConnection>(url, Check::None));
    let routed = Router::builder(Databases)
        .database("default", DatabaseConfig::new(url).max_size(POOL_SIZE))
        .build()
        .expect("a router");

    let mut group = c.benchmark_group("pool_step");
    bench_calls(&mut group, "deadpool", &rt, &deadpool, async |pool| {
        drop(pool.get().await.unwrap());
    });
    bench_calls(&mut group, "bb8", &rt, &bb8, async |pool| {
        drop(pool.get().await.unwrap());
    });
    bench_calls(
        &mut group,
        "deadpool_timeouts",
        &rt,
        &deadpool_timeouts,
        async |pool| {
            drop(pool.get().await.unwrap());
        },
    );
    bench_calls(&mut group, "routed", &rt, &routed, async |router| {
        nothing(router).await.unwrap();
    });
    group.finish();
}

criterion_group! {
    name = pool;
    config = diesel_route_benches::criterion();
    targets = benches
}
criterion_main!(pool);
