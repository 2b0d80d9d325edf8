//! Contention: 64 tasks share a pool of 8 for a fixed time, each calling `SELECT 1` in a
//! loop. Throughput, and the wait for a connection at p50 / p99 / max, for diesel-route
//! against plain diesel-async on deadpool, and plain diesel-async on bb8 (why diesel-route
//! uses deadpool). Each round runs every contender, in a rotated order; the table at the end
//! gives each figure's median over the rounds and the spread of routed / plain.
//!
//! `cargo bench -p diesel-route-benches --bench contention`; `BENCH_ROUNDS` (default 3),
//! `BENCH_CONTENTION_SECS` (default 3) and `BENCH_TASKS` (default 64) change the set-up.

use std::time::{Duration, Instant};

use diesel::sql_types::Integer;
use diesel_async::AsyncPgConnection;
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router};
use diesel_route_benches::contention::{self, Caller, Outcome, Setup, human};
use diesel_route_benches::plain::{self, Bb8, Check, Deadpool};
use diesel_route_benches::server::PgServer;
use diesel_route_benches::{POOL_SIZE, secs_from_env};

diesel_route::databases! {
    default: postgres,
}

/// The routed read; notes when its connection is in hand (the body starts).
#[route(read)]
async fn one(conn: &mut Reader, in_hand: &mut Option<Instant>) -> diesel_route::Result<i32> {
    *in_hand = Some(Instant::now());
    Ok(diesel::select(1.into_sql::<Integer>())
        .get_result(conn)
        .await?)
}

struct Routed(Router);

impl Caller for Routed {
    async fn call(&mut self) -> Option<Instant> {
        let mut in_hand = None;
        match one(&mut self.0, &mut in_hand).await {
            Ok(_) => in_hand,
            Err(diesel_route::Error::PoolTimeout { .. }) => None,
            Err(error) => panic!("a routed read failed: {error}"),
        }
    }
}

/// The plain calls, as diesel-async users write them.
mod plain_calls {
    use std::time::Instant;

    use diesel::prelude::*;
    use diesel::sql_types::Integer;
    use diesel_async::{AsyncPgConnection, RunQueryDsl};
    use diesel_route_benches::contention::Caller;
    use diesel_route_benches::plain::{Bb8, Deadpool};

    pub(crate) struct PlainDeadpool(pub(crate) Deadpool<AsyncPgConnection>);

    impl Caller for PlainDeadpool {
        async fn call(&mut self) -> Option<Instant> {
            // A timed-out wait is the failure the test looks for; any other is a bug.
            let mut conn = match self.0.get().await {
                Ok(conn) => conn,
                Err(deadpool::managed::PoolError::Timeout(_)) => return None,
                Err(error) => panic!("a deadpool checkout failed: {error:?}"),
            };
            let in_hand = Instant::now();
            diesel::select(1.into_sql::<Integer>())
                .get_result::<i32>(&mut conn)
                .await
                .expect("a plain read");
            Some(in_hand)
        }
    }

    pub(crate) struct PlainBb8(pub(crate) Bb8<AsyncPgConnection>);

    impl Caller for PlainBb8 {
        async fn call(&mut self) -> Option<Instant> {
            // A timed-out wait is the failure the test looks for; any other is a bug.
            let mut conn = match self.0.get().await {
                Ok(conn) => conn,
                Err(bb8::RunError::TimedOut) => return None,
                Err(error) => panic!("a bb8 checkout failed: {error:?}"),
            };
            let in_hand = Instant::now();
            diesel::select(1.into_sql::<Integer>())
                .get_result::<i32>(&mut conn)
                .await
                .expect("a plain read");
            Some(in_hand)
        }
    }
}

use plain_calls::{PlainBb8, PlainDeadpool};

const CONTENDERS: [&str; 3] = ["plain deadpool", "routed (deadpool)", "plain bb8"];

struct Pools {
    deadpool: Deadpool<AsyncPgConnection>,
    router: Router,
    bb8: Bb8<AsyncPgConnection>,
}

impl Pools {
    async fn run(&self, contender: usize, setup: Setup) -> Outcome {
        match contender {
            0 => contention::run(setup, || PlainDeadpool(self.deadpool.clone())).await,
            1 => contention::run(setup, || Routed(self.router.clone())).await,
            _ => contention::run(setup, || PlainBb8(self.bb8.clone())).await,
        }
    }
}

fn main() {
    diesel_route_benches::print_client();
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(3_usize);
    let setup = Setup {
        tasks: std::env::var("BENCH_TASKS")
            .ok()
            .and_then(|tasks| tasks.parse().ok())
            .unwrap_or(64),
        warm_up: Duration::from_millis(500),
        measure: secs_from_env("BENCH_CONTENTION_SECS", 3.0),
    };
    let server = PgServer::start_or_find();
    let rt = diesel_route_benches::runtime();
    rt.block_on(async {
        server.prepare().await;
        let url = server.url();
        let pools = Pools {
            deadpool: plain::deadpool(url, Check::None),
            router: Router::builder(Databases)
                .database("default", DatabaseConfig::new(url).max_size(POOL_SIZE))
                .build()
                .expect("a router"),
            bb8: plain::bb8(url, Check::None).await,
        };
        println!(
            "\n{} tasks on a pool of {POOL_SIZE}, {} s per contender and round, {rounds} rounds\n",
            setup.tasks,
            setup.measure.as_secs_f64()
        );
        println!(
            "| round | contender | calls/s | wait p50 | wait p99 | wait max | p99/p50 | calls per task (min-max) | starved tasks | timed out |"
        );
        println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
        let mut outcomes = vec![Vec::new(); CONTENDERS.len()];
        for round in 0..rounds {
            for step in 0..CONTENDERS.len() {
                let contender = (round + step) % CONTENDERS.len();
                let outcome = pools.run(contender, setup).await;
                print_row(&format!("{}", round + 1), CONTENDERS[contender], &outcome);
                outcomes[contender].push(outcome);
            }
        }
        summarize(&outcomes);
    });
}

fn print_row(round: &str, contender: &str, outcome: &Outcome) {
    let wait = outcome.wait;
    println!(
        "| {round} | {contender} | {:.0} | {} | {} | {} | {:.2} | {}-{} | {} | {} |",
        outcome.throughput,
        human(wait.p50),
        human(wait.p99),
        human(wait.max),
        wait.p99.as_secs_f64() / wait.p50.as_secs_f64(),
        outcome.task_calls.0,
        outcome.task_calls.1,
        outcome.starved,
        outcome.failed,
    );
}

fn summarize(outcomes: &[Vec<Outcome>]) {
    println!("\nMedians over the rounds:\n");
    println!(
        "| contender | calls/s | wait p50 | wait p99 | wait max (worst round) | p99/p50 | starved tasks (worst round) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (contender, runs) in CONTENDERS.iter().zip(outcomes) {
        let median = |values: Vec<f64>| spread(&values).1;
        let secs = |f: fn(&Outcome) -> Duration| {
            Duration::from_secs_f64(median(runs.iter().map(|o| f(o).as_secs_f64()).collect()))
        };
        println!(
            "| {contender} | {:.0} | {} | {} | {} | {:.2} | {} |",
            median(runs.iter().map(|o| o.throughput).collect()),
            human(secs(|o| o.wait.p50)),
            human(secs(|o| o.wait.p99)),
            human(runs.iter().map(|o| o.wait.max).max().unwrap_or_default()),
            median(
                runs.iter()
                    .map(|o| o.wait.p99.as_secs_f64() / o.wait.p50.as_secs_f64())
                    .collect()
            ),
            runs.iter().map(|o| o.starved).max().unwrap_or_default(),
        );
    }
    let ratios = |other: usize| -> Vec<f64> {
        outcomes[other]
            .iter()
            .zip(&outcomes[0])
            .map(|(o, plain)| o.throughput / plain.throughput)
            .collect()
    };
    for (other, name) in [(1, "routed / plain deadpool"), (2, "bb8 / plain deadpool")] {
        let (min, median, max) = spread(&ratios(other));
        println!("\nthroughput {name}, per round: min {min:.3}, median {median:.3}, max {max:.3}");
    }
}

/// Min, median and max.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => (f64::NAN, f64::NAN, f64::NAN),
        n if n % 2 == 0 => (
            sorted[0],
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
            sorted[n - 1],
        ),
        n => (sorted[0], sorted[n / 2], sorted[n - 1]),
    }
}
