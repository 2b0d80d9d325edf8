//! Shared set-up of the benchmarks: the servers they run against, the plain diesel-async
//! pools the routed path is compared with, and the contention test.
//!
//! Every bench compares diesel-route with plain diesel-async on the same pool library
//! (deadpool) in the same run. See `BENCHMARKS.md` at the root of the repository for the
//! figures and `benches/run.sh` for the command that reproduces them.

pub mod contention;
pub mod plain;
pub mod server;

use std::time::{Duration, Instant};

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;

/// The schema of the write benchmarks: one counter row per contender, so that the plain and
/// the routed writes never touch the same row.
pub const COUNTER_TABLE: &str = "diesel_route_bench_counter";

/// The row the plain writes update.
pub const PLAIN_ROW: i32 = 1;

/// The row the routed writes update.
pub const ROUTED_ROW: i32 = 2;

/// Most connections each pool holds, plain and routed alike.
pub const POOL_SIZE: usize = 8;

/// The single-threaded runtime every bench runs on: client and server share one core (see
/// `benches/run.sh`), so a second worker thread would only add scheduling noise.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// With the feature `metrics`: installs a Prometheus recorder (its upkeep run every second on
/// a thread of its own, as an exporter would), so that routed calls record their metrics
/// into it. Call it before building routers, whose pools register their metrics when built.
/// Says on stderr whether metrics are recorded.
pub fn install_metrics() {
    #[cfg(feature = "metrics")]
    {
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_recommended_naming(true)
            .install_recorder()
            .expect("no other recorder");
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                handle.run_upkeep();
            }
        });
    }
    eprintln!(
        "metrics: {}",
        if cfg!(feature = "metrics") {
            "recorded (Prometheus recorder)"
        } else {
            "off"
        }
    );
}

/// Benches `call` as `name` in `group`: each sample runs the calls back to back on `rt`,
/// on its own clone of `state` (a router or a pool: cloning it is not part of the call).
pub fn bench_calls<S, R>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    rt: &tokio::runtime::Runtime,
    state: &S,
    call: impl AsyncFnMut(&mut S) -> R + Clone,
) where
    S: Clone,
{
    group.bench_function(name, |b| {
        b.to_async(rt).iter_custom(|iters| {
            let mut state = state.clone();
            let mut call = call.clone();
            async move {
                let start = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(call(&mut state).await);
                }
                start.elapsed()
            }
        });
    });
}

/// Criterion's settings for the benches of this crate: shorter than its defaults, since a
/// full run repeats every bench (see `benches/run.sh`), with the environment overriding
/// them (`BENCH_WARM_UP_SECS`, `BENCH_MEASURE_SECS`).
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(secs_from_env("BENCH_WARM_UP_SECS", 1.0))
        .measurement_time(secs_from_env("BENCH_MEASURE_SECS", 4.0))
        .sample_size(60)
        .noise_threshold(0.01)
        .configure_from_args()
}

/// A duration in seconds from the environment variable `name`, else `default`.
pub fn secs_from_env(name: &str, default: f64) -> Duration {
    let secs = std::env::var(name)
        .ok()
        .and_then(|value| value.parse::<f64>().ok())
        .unwrap_or(default);
    Duration::from_secs_f64(secs)
}

/// The CPUs this process may run on, as the kernel prints them (`1`, `0-1`): the bench
/// prints it so that a run shows whether it was pinned.
pub fn cpus_allowed(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .map_or_else(|| "unknown".to_owned(), |cpus| cpus.trim().to_owned())
}

/// One line on stderr saying where this process runs.
pub fn print_client() {
    let pid = std::process::id();
    eprintln!(
        "client: pid {pid} on CPUs {} (this machine's CPUs: {})",
        cpus_allowed(pid),
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .map_or_else(|_| "unknown".to_owned(), |cpus| cpus.trim().to_owned())
    );
}
