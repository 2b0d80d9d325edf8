//! The contention test: many tasks share a small pool for a fixed time; how many calls get
//! through, how long each waited for its connection, and whether any task starved.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One way of making a call: plain diesel-async on a pool, or diesel-route.
pub trait Caller: Send + 'static {
    /// Checks out a connection, runs one query, returns the connection; the result is the
    /// moment the connection was in hand (the end of the wait), or `None` when the call
    /// failed (the pool's wait timed out).
    fn call(&mut self) -> impl Future<Output = Option<Instant>> + Send;
}

/// How one contention run is set up.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// Tasks calling at once.
    pub tasks: usize,
    /// Calls before this long are not counted: connections open, caches warm.
    pub warm_up: Duration,
    /// How long calls are counted.
    pub measure: Duration,
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Calls completed per second.
    pub throughput: f64,
    /// Waits for a connection: median, 99th percentile, longest.
    pub wait: Percentiles,
    /// Whole calls (wait, query, return).
    pub call: Percentiles,
    /// Fewest and most calls one task completed.
    pub task_calls: (usize, usize),
    /// Tasks that completed fewer than half the mean number of calls.
    pub starved: usize,
    /// Calls that failed (timed out waiting for a connection).
    pub failed: usize,
}

/// Median, 99th percentile and maximum of a set of durations.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    /// 50th percentile.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// The longest.
    pub max: Duration,
}

impl Percentiles {
    fn of(mut durations: Vec<Duration>) -> Self {
        if durations.is_empty() {
            return Self::default();
        }
        durations.sort_unstable();
        let at = |quantile: f64| {
            // Nearest rank.
            let rank = (quantile * durations.len() as f64).ceil() as usize;
            durations[rank.clamp(1, durations.len()) - 1]
        };
        Self {
            p50: at(0.50),
            p99: at(0.99),
            max: durations[durations.len() - 1],
        }
    }
}

/// One call: how long it waited for its connection (up to its failure, for a call that
/// failed), how long it took, and whether it completed inside the measured window.
#[derive(Clone, Copy)]
struct Sample {
    wait: Duration,
    call: Duration,
    counted: bool,
    failed: bool,
}

/// Runs `setup.tasks` tasks, each with its own caller from `make`, on the current runtime.
///
/// Every call that overlaps the measured window gives a wait, also one that started before
/// it or ends after it (a starved task's long wait must count); throughput counts the calls
/// that both start and end inside it.
pub async fn run<C: Caller>(setup: Setup, make: impl Fn() -> C) -> Outcome {
    let counted_from = Instant::now() + setup.warm_up;
    let until = counted_from + setup.measure;
    let start = Arc::new(tokio::sync::Barrier::new(setup.tasks));
    let tasks: Vec<_> = (0..setup.tasks)
        .map(|_| {
            let mut caller = make();
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                let mut samples = Vec::new();
                loop {
                    let asked = Instant::now();
                    if asked >= until {
                        break samples;
                    }
                    let in_hand = caller.call().await;
                    let done = Instant::now();
                    if done >= counted_from {
                        samples.push(Sample {
                            wait: in_hand.unwrap_or(done) - asked,
                            call: done - asked,
                            counted: in_hand.is_some() && asked >= counted_from && done <= until,
                            failed: in_hand.is_none(),
                        });
                    }
                }
            })
        })
        .collect();
    let mut per_task = Vec::with_capacity(tasks.len());
    for task in tasks {
        per_task.push(task.await.expect("a contention task panicked"));
    }
    summarize(&per_task, setup.measure)
}

fn summarize(per_task: &[Vec<Sample>], measured: Duration) -> Outcome {
    let counts: Vec<usize> = per_task
        .iter()
        .map(|samples| samples.iter().filter(|sample| sample.counted).count())
        .collect();
    let total: usize = counts.iter().sum();
    let mean = total as f64 / counts.len().max(1) as f64;
    let all = per_task.iter().flatten();
    Outcome {
        throughput: total as f64 / measured.as_secs_f64(),
        wait: Percentiles::of(all.clone().map(|sample| sample.wait).collect()),
        call: Percentiles::of(all.clone().map(|sample| sample.call).collect()),
        task_calls: (
            counts.iter().copied().min().unwrap_or(0),
            counts.iter().copied().max().unwrap_or(0),
        ),
        starved: counts
            .iter()
            .filter(|&&count| (count as f64) < mean / 2.0)
            .count(),
        failed: all.filter(|sample| sample.failed).count(),
    }
}

/// `12.3 µs`, `4.56 ms`: durations as a table shows them.
pub fn human(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    match micros {
        m if m < 1_000.0 => format!("{m:.1} µs"),
        m if m < 1_000_000.0 => format!("{:.2} ms", m / 1e3),
        m => format!("{:.2} s", m / 1e6),
    }
}
