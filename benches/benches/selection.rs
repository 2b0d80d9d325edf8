//! The replica selection step alone (`Router::pick_reader`, hidden): which server a read goes
//! to, with 0, 2 and 8 replicas configured. No connection is opened: pools connect lazily,
//! so the URLs need not be reachable.
//!
//! `cargo bench -p diesel-route-benches --bench selection`

// `criterion_group!` generates an item without docs.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use diesel_route::{DatabaseConfig, Router};

diesel_route::databases! {
    default: postgres,
}

/// A router whose database has `replicas` replicas, none of them reachable.
fn router(replicas: usize) -> Router {
    let config = DatabaseConfig::new("postgres://app@127.0.0.1:9/app")
        .replicas((0..replicas).map(|n| format!("postgres://app@127.0.0.{}:9/app", n + 2)));
    Router::builder(Databases)
        .database("default", config)
        .build()
        .expect("a router")
}

fn benches(c: &mut Criterion) {
    let rt = diesel_route_benches::runtime();
    let _guard = rt.enter();
    let mut group = c.benchmark_group("selection");
    for replicas in [0, 2, 8] {
        let router = router(replicas);
        group.bench_function(format!("{replicas}_replicas"), |b| {
            b.iter(|| {
                black_box(&router)
                    .pick_reader::<default>()
                    .map(std::ptr::from_ref)
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = selection;
    config = diesel_route_benches::criterion();
    targets = benches
}
criterion_main!(selection);
