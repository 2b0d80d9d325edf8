//! What routing adds to a call, measured two ways that a noisy machine cannot blur:
//!
//! - `paired` (the default): plain and routed calls in alternating short blocks (plain
//!   first in even rounds, routed first in odd ones), so that a drift of the machine's speed
//!   hits both sides alike; the ratio of each round's pair, summarized over the rounds.
//! - `count CASE SIDE CALLS`: runs `CALLS` calls of one side of one case inside
//!   `measured_calls`, for valgrind's callgrind to count instructions in that function only
//!   (`--collect-atstart=no --toggle-collect='*measured_calls*'`); see `benches/run.sh`.
//!
//! `cargo bench -p diesel-route-benches --bench overhead`; `BENCH_ROUNDS_PAIRED` (default
//! 41) and `BENCH_BLOCK_MS` (default 10) change the set-up. With `--features metrics`, the
//! routed side records diesel-route's metrics into a Prometheus recorder.

use std::time::{Duration, Instant};

use diesel::sql_types::Integer;
use diesel_async::AsyncPgConnection;
use diesel_route::prelude::*;
use diesel_route::{DatabaseConfig, Router};
use diesel_route_benches::plain::{self, Check, Deadpool};
use diesel_route_benches::server::{PgServer, SqliteFile};
use diesel_route_benches::{POOL_SIZE, ROUTED_ROW};

diesel_route::databases! {
    default: postgres,
    lite: sqlite,
}

diesel::table! {
    /// The counter rows of the write cases, on PostgreSQL.
    diesel_route_bench_counter (id) {
        /// The row: one for plain, one for routed.
        id -> Integer,
        /// Bumped by every write.
        n -> BigInt,
    }
}
diesel::table! {
    /// The same table in the SQLite file.
    #[sql_name = "diesel_route_bench_counter"]
    lite_counter (id) {
        /// The row: one for plain, one for routed.
        id -> Integer,
        /// Bumped by every write.
        n -> BigInt,
    }
}
use self::diesel_route_bench_counter as counter;
diesel_route::tables!(default: diesel_route_bench_counter);
diesel_route::tables!(lite: lite_counter);

#[route(read)]
async fn one(conn: &mut Reader) -> diesel_route::Result<i32> {
    Ok(diesel::select(1.into_sql::<Integer>())
        .get_result(conn)
        .await?)
}

#[route(write)]
async fn bump(conn: &mut Writer) -> diesel_route::Result<usize> {
    Ok(diesel::update(counter::table.find(ROUTED_ROW))
        .set(counter::n.eq(counter::n + 1))
        .execute(conn)
        .await?)
}

#[route(read)]
async fn nothing(conn: &mut Reader) -> diesel_route::Result<()> {
    std::hint::black_box(&conn);
    Ok(())
}

#[route(read)]
async fn lite_one(conn: &mut Reader<lite>) -> diesel_route::Result<i32> {
    Ok(diesel::select(1.into_sql::<Integer>())
        .get_result(conn)
        .await?)
}

#[route(write)]
async fn lite_bump(conn: &mut Writer<lite>) -> diesel_route::Result<usize> {
    Ok(diesel::update(lite_counter::table.find(ROUTED_ROW))
        .set(lite_counter::n.eq(lite_counter::n + 1))
        .execute(conn)
        .await?)
}

/// The plain calls, as diesel-async users write them.
mod plain_calls {
    use diesel::prelude::*;
    use diesel::sql_types::Integer;
    use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    use diesel_route_benches::PLAIN_ROW;
    use diesel_route_benches::plain::Deadpool;
    use diesel_route_benches::plain::PlainError;

    use super::{counter, lite_counter};

    pub(crate) type Sqlite = SyncConnectionWrapper<SqliteConnection>;

    pub(crate) async fn one<C>(pool: &Deadpool<C>) -> Result<i32, PlainError>
    where
        C: AsyncConnection<Backend: diesel::backend::Backend> + 'static,
        diesel_async::pooled_connection::AsyncDieselConnectionManager<C>:
            deadpool::managed::Manager<Type = C, Error: std::fmt::Debug>,
        for<'a> diesel::dsl::select<diesel::dsl::AsExprOf<i32, Integer>>:
            diesel_async::methods::LoadQuery<'a, C, i32>,
    {
        let mut conn = pool.get().await?;
        Ok(diesel::select(1.into_sql::<Integer>())
            .get_result(&mut *conn)
            .await?)
    }

    pub(crate) async fn bump(
        pool: &Deadpool<diesel_async::AsyncPgConnection>,
    ) -> Result<usize, PlainError> {
        let mut conn = pool.get().await?;
        Ok(diesel::update(counter::table.find(PLAIN_ROW))
            .set(counter::n.eq(counter::n + 1))
            .execute(&mut conn)
            .await?)
    }

    pub(crate) async fn lite_bump(pool: &Deadpool<Sqlite>) -> Result<usize, PlainError> {
        let mut conn = pool.get().await?;
        Ok(diesel::update(lite_counter::table.find(PLAIN_ROW))
            .set(lite_counter::n.eq(lite_counter::n + 1))
            .execute(&mut conn)
            .await?)
    }
}

/// What is compared: one plain call and its routed equivalent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    /// PostgreSQL `SELECT 1` on the standby: plain `Fast` against routed with the default
    /// bypass window and deadline.
    PgRead,
    /// PostgreSQL `SELECT 1` on the primary: plain `Fast` against a routed read with no
    /// replica, which runs in the read guard's read-only transaction (what keeping a reader
    /// from writing on the primary costs).
    PgReadOnPrimary,
    /// PostgreSQL `UPDATE` of one row: plain against routed with `read_your_writes` off.
    PgWrite,
    /// What taking the primary's position after a write costs (`read_your_writes`, on by
    /// default): "plain" is a routed write without it, "routed" one with it.
    PgWriteTakingPosition,
    /// PostgreSQL `SELECT 1` on the standby given a token it has replayed: plain against a
    /// routed handle holding the token.
    PgReadWithToken,
    /// PostgreSQL `SELECT 1` with a check on every checkout: plain `Verified` against routed
    /// `ping_after(0)`.
    PgCheckEvery,
    /// The pool step alone: plain deadpool checkout and return, against a routed function
    /// with an empty body.
    PoolStep,
    /// The pool step alone: plain deadpool with diesel-route's timeouts, against routed.
    PoolStepTimeouts,
    /// SQLite `SELECT 1`.
    SqliteRead,
    /// SQLite `UPDATE` of one row.
    SqliteWrite,
    /// Not routing: two ways to check a connection on every checkout, both on plain
    /// deadpool. "plain" is diesel-async's `Verified` (a prepared `SELECT 1`), "routed" is a
    /// `batch_execute("SELECT 1")` (the simple protocol, as diesel-route's PostgreSQL probe).
    ProbeSimpleSelect,
    /// Not routing: "plain" is `Verified`, "routed" is `batch_execute("")` (an empty
    /// query: one round trip, nothing to parse or plan).
    ProbeEmptyQuery,
}

const CASES: [(Case, &str); 12] = [
    (Case::PgRead, "pg_read"),
    (Case::PgReadWithToken, "pg_read_with_token"),
    (Case::PgReadOnPrimary, "pg_read_on_primary_guarded"),
    (Case::PgWrite, "pg_write"),
    (
        Case::PgWriteTakingPosition,
        "pg_write_taking_position_vs_routed",
    ),
    (Case::PgCheckEvery, "pg_check_every_checkout"),
    (Case::PoolStep, "pool_step"),
    (Case::PoolStepTimeouts, "pool_step_vs_timeouts"),
    (Case::SqliteRead, "sqlite_read"),
    (Case::SqliteWrite, "sqlite_write"),
    (Case::ProbeSimpleSelect, "probe_simple_select_1_vs_verified"),
    (Case::ProbeEmptyQuery, "probe_empty_query_vs_verified"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Plain,
    Routed,
}

/// Every pool and router the cases use, and the servers under them.
struct Targets {
    pg_fast: Deadpool<AsyncPgConnection>,
    pg_standby_fast: Deadpool<AsyncPgConnection>,
    pg_fast_timeouts: Deadpool<AsyncPgConnection>,
    pg_verified: Deadpool<AsyncPgConnection>,
    pg_probe_select: Deadpool<AsyncPgConnection>,
    pg_probe_empty: Deadpool<AsyncPgConnection>,
    sqlite_fast: Deadpool<plain_calls::Sqlite>,
    routed: Router,
    routed_without_positions: Router,
    routed_with_token: Router,
    routed_ping: Router,
    routed_primary_reads: Router,
    _pg: PgServer,
    _sqlite: SqliteFile,
}

impl Targets {
    async fn new() -> Self {
        diesel_route_benches::install_metrics();
        let pg = PgServer::start_or_find();
        pg.prepare().await;
        let sqlite = SqliteFile::new();
        sqlite.prepare();
        let router_with = |ping_after: Duration, standby: Option<&str>, positions: bool| {
            Router::builder(Databases)
                .database(
                    "default",
                    DatabaseConfig::new(pg.url())
                        .replicas(standby)
                        .max_size(POOL_SIZE)
                        .ping_after(ping_after)
                        .read_your_writes(positions),
                )
                .database(
                    "lite",
                    DatabaseConfig::new(sqlite.url())
                        .max_size(POOL_SIZE)
                        .ping_after(ping_after),
                )
                .build()
                .expect("a router")
        };
        let router = |ping_after, standby| router_with(ping_after, standby, true);
        // A handle holding the token of a write, which the standby has replayed (the first
        // read waits for it, and the standby is known to have it from then on).
        let mut routed_with_token = router(Duration::from_secs(1), pg.standby_url());
        bump(&mut routed_with_token).await.expect("a write");
        one(&mut routed_with_token).await.expect("a read");
        assert!(!routed_with_token.token().is_empty());
        Self {
            pg_fast: plain::deadpool(pg.url(), Check::None),
            pg_standby_fast: plain::deadpool(pg.read_url(), Check::None),
            pg_fast_timeouts: plain::deadpool_with_timeouts(pg.url(), Check::None),
            pg_verified: plain::deadpool(pg.read_url(), Check::EveryCheckout),
            pg_probe_select: plain::deadpool_probing(pg.url(), "SELECT 1"),
            pg_probe_empty: plain::deadpool_probing(pg.url(), ""),
            sqlite_fast: plain::deadpool(&sqlite.url(), Check::None),
            // 1 s is the default `ping_after`.
            routed: router(Duration::from_secs(1), pg.standby_url()),
            routed_without_positions: router_with(Duration::from_secs(1), pg.standby_url(), false),
            routed_with_token,
            routed_ping: router(Duration::ZERO, pg.standby_url()),
            routed_primary_reads: router(Duration::from_secs(1), None),
            _pg: pg,
            _sqlite: sqlite,
        }
    }

    async fn call(&mut self, case: Case, side: Side) {
        let done = match (case, side) {
            (Case::PgRead, Side::Plain) => plain_calls::one(&self.pg_standby_fast).await.is_ok(),
            (Case::PgRead, Side::Routed) => one(&mut self.routed).await.is_ok(),
            (Case::PgReadOnPrimary, Side::Plain) => plain_calls::one(&self.pg_fast).await.is_ok(),
            (Case::PgReadOnPrimary, Side::Routed) => {
                one(&mut self.routed_primary_reads).await.is_ok()
            }
            (Case::PgWrite, Side::Plain) => plain_calls::bump(&self.pg_fast).await.is_ok(),
            (Case::PgWrite, Side::Routed) => bump(&mut self.routed_without_positions).await.is_ok(),
            (Case::PgWriteTakingPosition, Side::Plain) => {
                bump(&mut self.routed_without_positions).await.is_ok()
            }
            (Case::PgWriteTakingPosition, Side::Routed) => bump(&mut self.routed).await.is_ok(),
            (Case::PgReadWithToken, Side::Plain) => {
                plain_calls::one(&self.pg_standby_fast).await.is_ok()
            }
            (Case::PgReadWithToken, Side::Routed) => one(&mut self.routed_with_token).await.is_ok(),
            (Case::PgCheckEvery, Side::Plain) => plain_calls::one(&self.pg_verified).await.is_ok(),
            (Case::PgCheckEvery, Side::Routed) => one(&mut self.routed_ping).await.is_ok(),
            (Case::PoolStep, Side::Plain) => self.pg_fast.get().await.is_ok(),
            (Case::PoolStepTimeouts, Side::Plain) => self.pg_fast_timeouts.get().await.is_ok(),
            (Case::PoolStep | Case::PoolStepTimeouts, Side::Routed) => {
                nothing(&mut self.routed).await.is_ok()
            }
            (Case::SqliteRead, Side::Plain) => plain_calls::one(&self.sqlite_fast).await.is_ok(),
            (Case::SqliteRead, Side::Routed) => lite_one(&mut self.routed).await.is_ok(),
            (Case::SqliteWrite, Side::Plain) => {
                plain_calls::lite_bump(&self.sqlite_fast).await.is_ok()
            }
            (Case::SqliteWrite, Side::Routed) => lite_bump(&mut self.routed).await.is_ok(),
            (Case::ProbeSimpleSelect | Case::ProbeEmptyQuery, Side::Plain) => {
                plain_calls::one(&self.pg_verified).await.is_ok()
            }
            (Case::ProbeSimpleSelect, Side::Routed) => {
                plain_calls::one(&self.pg_probe_select).await.is_ok()
            }
            (Case::ProbeEmptyQuery, Side::Routed) => {
                plain_calls::one(&self.pg_probe_empty).await.is_ok()
            }
        };
        assert!(done, "a {side:?} call of {case:?} failed");
    }

    async fn block(&mut self, case: Case, side: Side, calls: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..calls {
            self.call(case, side).await;
        }
        start.elapsed()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["count", case, side, calls] => count(case, side, calls.parse().expect("CALLS")),
        _ => paired(),
    }
}

fn paired() {
    diesel_route_benches::print_client();
    let rounds: usize = std::env::var("BENCH_ROUNDS_PAIRED")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(41);
    let block = diesel_route_benches::secs_from_env("BENCH_BLOCK_MS", 10.0) / 1000;
    let rt = diesel_route_benches::runtime();
    rt.block_on(async {
        let mut targets = Targets::new().await;
        println!(
            "\nrouted / plain in alternating blocks of about {} ms, {rounds} rounds\n",
            block.as_millis()
        );
        println!(
            "| case | plain per call | routed per call | routed - plain | ratio min | ratio median | ratio max |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (case, name) in CASES {
            // Warm up both sides (connections open, statements prepared), then size the
            // blocks.
            targets.block(case, Side::Plain, 200).await;
            targets.block(case, Side::Routed, 200).await;
            let probe = targets.block(case, Side::Plain, 200).await / 200;
            let calls = (block.as_nanos() / probe.as_nanos().max(1)).max(10) as u64;
            let mut ratios = Vec::with_capacity(rounds);
            let (mut plain_total, mut routed_total) = (Duration::ZERO, Duration::ZERO);
            for round in 0..rounds {
                let (plain, routed) = if round % 2 == 0 {
                    let plain = targets.block(case, Side::Plain, calls).await;
                    (plain, targets.block(case, Side::Routed, calls).await)
                } else {
                    let routed = targets.block(case, Side::Routed, calls).await;
                    (targets.block(case, Side::Plain, calls).await, routed)
                };
                ratios.push(routed.as_secs_f64() / plain.as_secs_f64());
                plain_total += plain;
                routed_total += routed;
            }
            ratios.sort_by(f64::total_cmp);
            let per_call = |total: Duration| total.as_secs_f64() * 1e9 / (calls as f64 * rounds as f64);
            let (plain, routed) = (per_call(plain_total), per_call(routed_total));
            println!(
                "| {name} | {} | {} | {:+.0} ns | {:.4} | {:.4} | {:.4} |",
                nanos(plain),
                nanos(routed),
                routed - plain,
                ratios[0],
                ratios[ratios.len() / 2],
                ratios[ratios.len() - 1],
            );
        }
    });
}

fn nanos(nanos: f64) -> String {
    match nanos {
        n if n < 1e3 => format!("{n:.0} ns"),
        n => format!("{:.2} µs", n / 1e3),
    }
}

fn count(case: &str, side: &str, calls: u64) {
    let case = CASES
        .iter()
        .find(|(_, name)| *name == case)
        .unwrap_or_else(|| panic!("CASE is one of {:?}", CASES.map(|(_, name)| name)))
        .0;
    let side = match side {
        "plain" => Side::Plain,
        "routed" => Side::Routed,
        other => panic!("SIDE is `plain` or `routed`, not `{other}`"),
    };
    let rt = diesel_route_benches::runtime();
    let mut targets = rt.block_on(async {
        let mut targets = Targets::new().await;
        targets.block(case, side, 1000).await;
        targets
    });
    measured_calls(&rt, &mut targets, case, side, calls);
    eprintln!("counted {calls} calls of {case:?}, {side:?}");
}

/// The only function callgrind counts in (`--toggle-collect`).
#[inline(never)]
fn measured_calls(
    rt: &tokio::runtime::Runtime,
    targets: &mut Targets,
    case: Case,
    side: Side,
    calls: u64,
) {
    rt.block_on(targets.block(case, side, calls));
}
