//! How fresh each replica's data is: its position, how far behind the primary, and how old.
//!
//! The lag is not `now() - pg_last_xact_replay_timestamp()` nor `Seconds_Behind_Master`:
//! both make a replica of an idle primary look stale, and a replica whose replication
//! stopped look fresh. It is measured against the primary's own positions, sampled with
//! their times (at each health check, before each replica's, and after each write that
//! takes its position): a replica's lag is how long before it was seen the primary last had
//! no more than it has. A replica that has all the primary had at the last sample lags 0,
//! however long ago the last write was; one that stopped replaying lags more at each check.
//! The measure errs long, by at most the time between two samples.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::PoolOptions;
use crate::token::Position;

/// Samples kept: enough for a lag of several minutes at one sample per health check.
const KEPT: usize = 512;

/// The primary's positions, with when they were seen, oldest first.
#[derive(Debug, Default)]
pub(crate) struct History {
    samples: VecDeque<(Instant, Position)>,
}

impl History {
    /// The primary was at `position` at `at`.
    pub(crate) fn record(&mut self, at: Instant, position: &Position) {
        if let Some((seen, last)) = self.samples.back_mut() {
            if at < *seen {
                return;
            }
            if last == position {
                // Still there: the replicas that have it are current until now.
                *seen = at;
                return;
            }
            if !position.covers(last) {
                // Behind its last position: another server is the primary now, on another
                // timeline. Its history starts over.
                self.samples.clear();
            }
        }
        self.samples.push_back((at, position.clone()));
        if self.samples.len() > KEPT {
            self.samples.pop_front();
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
    fn a_new_timeline_starts_the_history_over() {
        let base = Instant::now();
        let mut history = History::default();
        history.record(at(base, 0), &Position::Lsn(500));
        history.record(at(base, 1000), &Position::Lsn(300));
        assert_eq!(history.newest(), Some(&Position::Lsn(300)));
        assert_eq!(
            history.lag(&Position::Lsn(300), at(base, 1000)),
            Some(Duration::ZERO)
        );
    }
}
