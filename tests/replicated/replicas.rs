//! Reads go to the standbys, picked at random per call; writes go to the primary.

use std::collections::HashMap;

use diesel_route::prelude::*;

use crate::Reader;
use crate::schema::{App, Ran, insert_item, item_names, items, whoami};

#[tokio::test]
async fn every_read_runs_on_a_replica_and_every_write_on_the_primary() {
    let Some(mut app) = App::start("reads_on_replicas").await else {
        return;
    };
    for n in 0..20 {
        let write = insert_item(&mut app.router, &format!("item {n}"))
            .await
            .unwrap();
        assert!(write.server(app.cluster).is_primary, "{write:?}");
        let read = whoami(&mut app.router).await.unwrap();
        assert!(!read.server(app.cluster).is_primary, "{read:?}");
        assert_eq!(read.identity.database, app.db);
    }
    let primary = app.cluster.primary();
    assert_eq!(app.sql(&primary, "SELECT count(*) FROM items"), "20");
    app.cluster.wait_caught_up();
    assert_eq!(item_names(&mut app.router).await.unwrap().len(), 20);
}

#[tokio::test]
async fn random_choice_spreads_reads_over_both_replicas() {
    let Some(mut app) = App::start("reads_spread").await else {
        return;
    };
    let mut per_server: HashMap<String, usize> = HashMap::new();
    for _ in 0..1000 {
        let read = whoami(&mut app.router).await.unwrap();
        *per_server.entry(read.server(app.cluster).name).or_default() += 1;
    }
    assert_eq!(per_server.len(), 2, "{per_server:?}");
    for replica in app.cluster.replicas() {
        let share = per_server.get(&replica.name).copied().unwrap_or_default();
        assert!((350..=650).contains(&share), "{per_server:?}");
    }
}

/// Runs several queries, and another read function on the same connection.
#[route(read)]
async fn several_queries(conn: &mut Reader) -> diesel_route::Result<Vec<Ran>> {
    let mut ran = Vec::new();
    for _ in 0..5 {
        ran.push(whoami(conn).await?);
        let _: Vec<String> = items::table.select(items::name).load(conn).await?;
    }
    Ok(ran)
}

#[tokio::test]
async fn one_read_call_stays_on_one_replica() {
    let Some(mut app) = App::start("read_call_pinned").await else {
        return;
    };
    let mut seen = HashMap::new();
    for _ in 0..40 {
        let ran = several_queries(&mut app.router).await.unwrap();
        let first = ran[0].server(app.cluster);
        assert!(!first.is_primary);
        assert!(
            ran.iter().all(|each| each.server(app.cluster) == first),
            "{ran:?}"
        );
        *seen.entry(first.name).or_insert(0) += 1;
    }
    // Calls do move between replicas: the pinning is per call, not per router.
    assert_eq!(seen.len(), 2, "{seen:?}");
}
