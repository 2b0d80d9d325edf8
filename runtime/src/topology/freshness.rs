//! How fresh each replica's data is: its position, how far behind the primary, and how old.
//!
//! The lag is not `now() - pg_last_xact_replay_timestamp()` nor `Seconds_Behind_Master`:
//! both make a replica of an idle primary look stale, and a replica whose replication
//! stopped look fresh. It is measured against the primary's own positions, sampled with
//! their times (at each health check, before each replica's, and after each write that
//! takes its position): a replica's lag is how long before it was seen the primary last had
//! no more than it has. A replica that has all the primary had at the last sample lags 0,
//! however long ago the last write was; one that stopped replaying lags more at each check.
//! The measure errs long, by at most the time between the two kept samples around the
//! replica's position: the time between two samples for recent data (samples closer than
//! 10 ms are coalesced), and a few percent of the lag for older data (a full history drops
//! the samples whose loss matters least for their age). Positions of concurrent writes
//! arrive out of order: one older than the last known adds nothing. The history starts
//! over when another server becomes the primary.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::PoolOptions;
use crate::token::Position;

/// Samples kept: when the history is full, older samples are thinned, so that its span keeps
/// growing while its precision degrades in proportion to age.
const KEPT: usize = 512;

/// Samples closer together than this are coalesced: a high write rate does not shrink the
/// history's span.
const GRAIN: Duration = Duration::from_millis(10);

/// The primary's positions, with when they were seen, oldest first.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// The server whose positions these are: another one's start a history of their own.
    primary: Option<usize>,
    samples: VecDeque<(Instant, Position)>,
}

impl History {
    /// The primary is the server in `slot` from now on: when that is another server than
    /// the one whose positions the history holds, it starts over (another server's
    /// positions do not continue this one's).
    pub(crate) fn follow(&mut self, slot: usize) {
        if self
            .primary
            .replace(slot)
            .is_some_and(|before| before != slot)
        {
            self.samples.clear();
        }
    }

    /// Whether the history holds the positions of the server in `slot` (or of none yet).
    pub(crate) fn follows(&self, slot: usize) -> bool {
        self.primary.is_none_or(|primary| primary == slot)
    }

    /// The primary was at `position` at `at`, or further: positions taken by concurrent
    /// calls arrive out of order, and one older than the last known adds nothing.
    pub(crate) fn record(&mut self, at: Instant, position: &Position) {
        let Some((seen, last)) = self.samples.back_mut() else {
            self.samples.push_back((at, position.clone()));
            return;
        };
        if at < *seen {
            return;
        }
        if last == position {
            // Still there: the replicas that have it are current until now.
            *seen = at;
            return;
        }
        // The primary's positions only grow: it has at least both (domain by domain).
        let mut newest = last.clone();
        newest.merge(position);
        if newest != *last {
            self.push(at, newest);
        }
    }

    /// Adds a sample: in place of the newest when that one is less than a grain after the
    /// one before (the lag then errs by less than a grain), and thinning the history when
    /// it is full.
    fn push(&mut self, at: Instant, position: Position) {
        let len = self.samples.len();
        if len >= 2 && at.duration_since(self.samples[len - 2].0) < GRAIN {
            self.samples.pop_back();
        }
        self.samples.push_back((at, position));
        if self.samples.len() > KEPT {
            self.thin(at);
        }
    }

    /// Drops the sample whose loss widens a gap the least for its age, keeping the oldest
    /// and the newest: samples end up spaced in proportion to their age, so the span grows
    /// without end while a lag stays known to within a small fraction of itself.
    fn thin(&mut self, now: Instant) {
        let relative_gap = |index: usize| {
            let (before, after) = (self.samples[index - 1].0, self.samples[index + 1].0);
            let age = now
                .duration_since(before)
                .as_secs_f64()
                .max(f64::MIN_POSITIVE);
            after.duration_since(before).as_secs_f64() / age
        };
        let cheapest = (1..self.samples.len() - 1)
            .min_by(|a, b| relative_gap(*a).total_cmp(&relative_gap(*b)));
        if let Some(index) = cheapest {
            self.samples.remove(index);
        }
    }

    /// The primary's last known position.
    pub(crate) fn newest(&self) -> Option<&Position> {
        self.samples.back().map(|(_, position)| position)
    }

    /// When the primary was last seen without `position` (it reached it after that); `None`
    /// when every sample has it.
    pub(crate) fn last_without(&self, position: &Position) -> Option<Instant> {
        let mut samples = self.samples.iter().rev();
        let (at, _) = samples.find(|(_, sample)| !sample.covers(position))?;
        Some(*at)
    }

    /// How old the data of a replica at `position`, seen at `seen`, is: how long before
    /// `seen` the primary last had no more than it. `None` before any sample.
    pub(crate) fn lag(&self, position: &Position, seen: Instant) -> Option<Duration> {
        let (_, newest) = self.samples.back()?;
        if position.covers(newest) {
            return Some(Duration::ZERO);
        }
        let (since, _) = self
            .samples
            .iter()
            .rev()
            .find(|(_, sample)| position.covers(sample))
            // Behind every sample kept: at least as old as the oldest.
            .unwrap_or(&self.samples[0]);
        Some(seen.saturating_duration_since(*since))
    }
}

/// What is known of a replica's data.
#[derive(Debug, Default, Clone)]
pub(crate) struct Freshness {
    /// Its replayed position, from its last health check or a wait that reached further.
    pub(crate) position: Option<Position>,
    /// How old its data was at its last health check.
    pub(crate) lag: Option<Duration>,
    /// How far behind the primary's last known position: WAL bytes, or transactions.
    pub(crate) behind: Option<u64>,
    /// Beyond the database's maximum lag: out of the rotation until within half of it.
    pub(crate) stale: bool,
}

impl Freshness {
    /// A health check saw the replica at `position` at `seen`: its lag and distance from
    /// `history`, and whether that makes it stale, with hysteresis (out beyond the limit,
    /// back within half of it).
    pub(crate) fn judge(
        &mut self,
        position: Option<Position>,
        seen: Instant,
        history: &History,
        options: &PoolOptions,
    ) {
        self.position = position;
        let Some(position) = &self.position else {
            // Nothing to measure with (a backend without positions): never stale.
            *self = Self::default();
            return;
        };
        self.lag = history.lag(position, seen);
        self.behind = history.newest().map(|newest| position.behind(newest));
        let over = |value: Option<u64>, limit: Option<u64>, divisor: u64| matches!((value, limit), (Some(value), Some(limit)) if value > limit / divisor);
        let lag_ms = self.lag.map(|lag| lag.as_millis() as u64);
        let max_lag_ms = options.max_replica_lag.map(|lag| lag.as_millis() as u64);
        let behind = options.max_replica_behind;
        self.stale = match self.stale {
            false => over(lag_ms, max_lag_ms, 1) || over(self.behind, behind, 1),
            true => over(lag_ms, max_lag_ms, 2) || over(self.behind, behind, 2),
        };
    }

    /// A wait on the replica reached `position`.
    pub(crate) fn reached(&mut self, position: &Position) {
        match &mut self.position {
            Some(known) => known.merge(position),
            None => self.position = Some(position.clone()),
        }
    }

    /// Why the replica is out of the rotation, when it is for its lag.
    pub(crate) fn why_stale(&self, options: &PoolOptions) -> String {
        let lag = self.lag.unwrap_or_default();
        match (options.max_replica_lag, options.max_replica_behind) {
            (Some(limit), _) if lag > limit => format!(
                "its data is {:.1} s behind the primary's (limit {:.1} s)",
                lag.as_secs_f64(),
                limit.as_secs_f64()
            ),
            (_, Some(limit)) => format!(
                "it is {} behind the primary (limit {limit})",
                self.behind.unwrap_or_default()
            ),
            _ => "it lags behind the primary".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn an_idle_primary_does_not_make_a_replica_stale() {
        let base = Instant::now();
        let mut history = History::default();
        history.record(at(base, 0), &Position::Lsn(100));
        history.record(at(base, 60_000), &Position::Lsn(100));
        assert_eq!(
            history.lag(&Position::Lsn(100), at(base, 60_000)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_replica_that_stopped_replaying_lags_more_at_each_check() {
        let base = Instant::now();
        let mut history = History::default();
        for (ms, lsn) in [(0, 100), (1000, 200), (2000, 300), (3000, 400)] {
            history.record(at(base, ms), &Position::Lsn(lsn));
        }
        // It has what the primary had at 1 s: 2 s old at 3 s.
        let replica = Position::Lsn(250);
        assert_eq!(
            history.lag(&replica, at(base, 3000)),
            Some(Duration::from_secs(2))
        );
        history.record(at(base, 4000), &Position::Lsn(500));
        assert_eq!(
            history.lag(&replica, at(base, 4000)),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn staleness_has_hysteresis() {
        let base = Instant::now();
        let mut history = History::default();
        let options = PoolOptions {
            max_replica_lag: Some(Duration::from_secs(1)),
            ..PoolOptions::default()
        };
        for s in 0..=10 {
            history.record(at(base, s * 1000), &Position::Lsn(s * 100));
        }
        let mut freshness = Freshness::default();
        let judge = |freshness: &mut Freshness, lsn: u64| {
            freshness.judge(
                Some(Position::Lsn(lsn)),
                at(base, 10_000),
                &history,
                &options,
            );
            freshness.stale
        };
        assert!(!judge(&mut freshness, 1000));
        assert!(judge(&mut freshness, 800), "2 s behind");
        assert!(
            judge(&mut freshness, 900),
            "1 s behind: not back until within 0.5 s"
        );
        assert!(!judge(&mut freshness, 1000));
    }

    #[test]
    fn a_new_primary_starts_the_history_over() {
        let base = Instant::now();
        let mut history = History::default();
        history.follow(0);
        history.record(at(base, 0), &Position::Lsn(500));
        history.follow(0);
        assert_eq!(history.newest(), Some(&Position::Lsn(500)));
        history.follow(1);
        history.record(at(base, 1000), &Position::Lsn(300));
        assert_eq!(history.newest(), Some(&Position::Lsn(300)));
        assert_eq!(
            history.lag(&Position::Lsn(300), at(base, 1000)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_position_arriving_late_keeps_the_history() {
        let base = Instant::now();
        let mut history = History::default();
        history.record(at(base, 0), &Position::Lsn(100));
        history.record(at(base, 1000), &Position::Lsn(300));
        // A write that committed before the last one reports its position after it.
        history.record(at(base, 1001), &Position::Lsn(200));
        assert_eq!(history.newest(), Some(&Position::Lsn(300)));
        assert_eq!(
            history.lag(&Position::Lsn(150), at(base, 2000)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            history.lag(&Position::Lsn(300), at(base, 2000)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn gtid_positions_arriving_late_merge_domain_by_domain() {
        let gtids = |text: &str| Position::parse_gtid(text).unwrap();
        let base = Instant::now();
        let mut history = History::default();
        history.record(at(base, 0), &gtids("0-1-5,1-1-3"));
        history.record(at(base, 100), &gtids("0-1-4,1-1-7"));
        assert_eq!(history.newest(), Some(&gtids("0-1-5,1-1-7")));
        history.record(at(base, 200), &gtids("0-1-5,1-1-6"));
        assert_eq!(history.newest(), Some(&gtids("0-1-5,1-1-7")));
        assert_eq!(
            history.lag(&gtids("0-1-5,1-1-3"), at(base, 1000)),
            Some(Duration::from_secs(1))
        );
    }

    /// Several writers at a high rate, their positions arriving out of order, while a replica
    /// stopped replaying 20 s ago: its lag is 20 s, erring long by little.
    #[test]
    fn a_high_write_rate_keeps_a_long_history() {
        let base = Instant::now();
        let mut history = History::default();
        let stopped_at = 40_000;
        let mut replica = None;
        for ms in 0..60_000u64 {
            for writer in 0..4u64 {
                // Each writer reports a position taken a few milliseconds earlier.
                let lsn = (ms * 4 + writer).saturating_sub(writer * 12);
                history.record(at(base, ms), &Position::Lsn(lsn));
            }
            if ms == stopped_at {
                replica = history.newest().cloned();
            }
        }
        assert!(history.samples.len() <= KEPT);
        let lag = history.lag(&replica.unwrap(), at(base, 60_000)).unwrap();
        let real = Duration::from_millis(60_000 - stopped_at);
        assert!(lag >= real && lag < real + real / 20, "lag {lag:?}");
        let recent = Position::Lsn(59_000 * 4);
        let lag = history.lag(&recent, at(base, 60_000)).unwrap();
        let real = Duration::from_secs(1);
        assert!(lag >= real && lag <= real + GRAIN, "lag {lag:?}");
    }
}
