//! Deadlines of calls, kept by one task per router instead of a timer per call.
//!
//! A frozen server answers nothing, so a call on it is never woken again: only a timer can
//! end it. One tokio timer per call costs about a thousand instructions (registering it,
//! firing or cancelling it, the timer wheel's work at every park), a few percent of a read
//! on loopback. Instead, the watchdog keeps a coarse clock (in ticks of a few milliseconds,
//! read from `Instant` once per tick) and the wakers of the calls that are waiting, and wakes
//! those whose deadline passed. A call registers only when it has to wait, pays a lock and a
//! vector slot for it, and reads the clock as an atomic load. A deadline is kept to within two
//! ticks.
//!
//! A waiting read on a replica also gives the replica's count of departures from the rotation
//! (see `rotation.rs`): when the replica leaves (a health check found it frozen, say), the
//! round that sees it wakes the read, which is then abandoned and runs again elsewhere,
//! instead of waiting out its deadline. Nothing notifies anyone: an ejection stays a bit
//! cleared and a counter bumped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use super::rotation::OnReplica;

/// The waiting calls of one router and the clock their deadlines are in.
#[derive(Debug)]
pub(crate) struct Watchdog {
    tick: Duration,
    /// Ticks since the watchdog started, as of its last round.
    now: AtomicU64,
    /// Whether its task runs: calls use a timer of their own when it does not (a router used
    /// on a runtime other than the one that started its tasks, which may be gone).
    alive: AtomicBool,
    /// Whether a task was spawned and has not marked itself alive yet.
    starting: AtomicBool,
    waiting: Mutex<Waiting>,
}

/// The calls that wait, in reusable slots.
#[derive(Debug, Default)]
struct Waiting {
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
}

#[derive(Debug)]
struct Slot {
    expires: u64,
    waker: Waker,
    woken: bool,
    /// The replica a read waits on, until it leaves the rotation and the read is woken.
    on_replica: Option<OnReplica>,
}

/// A call's place in the watchdog, while it waits.
#[derive(Debug)]
pub(crate) struct Registration {
    slot: usize,
    expires: u64,
}

impl Watchdog {
    /// A watchdog whose deadlines are at least `shortest`: it ticks often enough to keep it to
    /// a few percent, and never less often than every 25 ms.
    pub(crate) fn new(shortest: Duration) -> Self {
        let tick = (shortest / 64).clamp(Duration::from_millis(2), Duration::from_millis(25));
        Self {
            tick,
            now: AtomicU64::new(0),
            alive: AtomicBool::new(false),
            starting: AtomicBool::new(false),
            waiting: Mutex::default(),
        }
    }

    /// Whether its task runs.
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    /// Whether the caller is the one to spawn the task: none runs, and no other is starting.
    pub(crate) fn claim_start(&self) -> bool {
        !self.is_alive()
            && self
                .starting
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    /// Registers a call that must end within `limit` from now, woken through `waker`, and
    /// also when it is a read on a replica (`on_replica`) and the replica leaves the rotation.
    pub(crate) fn register(
        &self,
        limit: Duration,
        waker: &Waker,
        on_replica: Option<OnReplica>,
    ) -> Registration {
        // One tick more than the limit: the clock may be up to a tick behind.
        let ticks = limit.as_nanos().div_ceil(self.tick.as_nanos());
        let expires = self
            .now()
            .saturating_add(u64::try_from(ticks).unwrap_or(u64::MAX) + 1);
        let slot = Slot {
            expires,
            waker: waker.clone(),
            woken: false,
            on_replica,
        };
        let mut waiting = self.lock();
        let index = match waiting.free.pop() {
            Some(index) => {
                waiting.slots[index] = Some(slot);
                index
            }
            None => {
                waiting.slots.push(Some(slot));
                waiting.slots.len() - 1
            }
        };
        Registration {
            slot: index,
            expires,
        }
    }

    /// Whether the registered call's deadline passed.
    pub(crate) fn expired(&self, registration: &Registration) -> bool {
        self.now() >= registration.expires
    }

    /// Keeps the waker of a registered call up to date (a future may move between tasks).
    pub(crate) fn rewake(&self, registration: &Registration, waker: &Waker) {
        let mut waiting = self.lock();
        if let Some(Some(slot)) = waiting.slots.get_mut(registration.slot)
            && !slot.waker.will_wake(waker)
        {
            slot.waker = waker.clone();
        }
    }

    /// A registered call is a read on a replica now (it began waiting before its connection
    /// was checked out): woken too when the replica leaves the rotation.
    pub(crate) fn watch(&self, registration: &Registration, on_replica: OnReplica) {
        let mut waiting = self.lock();
        if let Some(Some(slot)) = waiting.slots.get_mut(registration.slot) {
            slot.on_replica = Some(on_replica);
        }
    }

    /// The call ended, or was dropped: its slot is free again.
    pub(crate) fn unregister(&self, registration: &Registration) {
        let mut waiting = self.lock();
        if let Some(slot) = waiting.slots.get_mut(registration.slot) {
            *slot = None;
            waiting.free.push(registration.slot);
        }
    }

    fn now(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Advances the clock to `ticks` and wakes the calls whose deadline passed, and the reads
    /// whose replica left the rotation (once: the read is abandoned, or waits on when it
    /// cannot run again).
    fn round(&self, ticks: u64) {
        self.now.store(ticks, Ordering::Relaxed);
        let mut due = Vec::new();
        for slot in self.lock().slots.iter_mut().flatten() {
            let left = slot.on_replica.take_if(|on| on.left()).is_some();
            if (slot.expires <= ticks && !slot.woken) || left {
                slot.woken |= slot.expires <= ticks;
                due.push(slot.waker.clone());
            }
        }
        due.into_iter().for_each(Waker::wake);
    }
}

/// The watchdog's task: a round every tick, until the router is dropped.
pub(crate) async fn keep(watchdog: Weak<Watchdog>) {
    let Some(tick) = watchdog.upgrade().map(|watchdog| watchdog.tick) else {
        return;
    };
    let start = Instant::now();
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let _alive = Alive::mark(&watchdog);
    loop {
        ticks.tick().await;
        let Some(watchdog) = watchdog.upgrade() else {
            return;
        };
        let elapsed = start.elapsed().as_nanos() / watchdog.tick.as_nanos();
        watchdog.round(u64::try_from(elapsed).unwrap_or(u64::MAX));
    }
}

/// Says the watchdog is alive while its task is, dropped with the task (its runtime shut
/// down, or the router dropped).
struct Alive(Weak<Watchdog>);

impl Alive {
    fn mark(watchdog: &Weak<Watchdog>) -> Self {
        if let Some(watchdog) = watchdog.upgrade() {
            watchdog.alive.store(true, Ordering::Relaxed);
            watchdog.starting.store(false, Ordering::Relaxed);
        }
        Self(Weak::clone(watchdog))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        if let Some(watchdog) = self.0.upgrade() {
            watchdog.alive.store(false, Ordering::Relaxed);
            watchdog.starting.store(false, Ordering::Relaxed);
            // Calls still waiting fall back to timers of their own when polled again.
            let wakers: Vec<Waker> = watchdog
                .lock()
                .slots
                .iter()
                .flatten()
                .map(|slot| slot.waker.clone())
                .collect();
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// A call's deadline: how long it may take, and the watchdog that keeps it.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Deadline {
    pub(crate) limit: Duration,
    pub(crate) watchdog: Arc<Watchdog>,
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    use super::*;
    use crate::topology::Rotation;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wakes_each_waiting_call_once_when_its_deadline_passes_and_reuses_slots() {
        let watchdog = Watchdog::new(Duration::from_millis(640));
        assert_eq!(watchdog.tick, Duration::from_millis(10));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let short = watchdog.register(Duration::from_millis(25), &waker, None);
        let long = watchdog.register(Duration::from_millis(500), &waker, None);
        // 25 ms is 3 ticks, plus one for a clock that may be a tick behind.
        watchdog.round(3);
        assert!(!watchdog.expired(&short));
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        watchdog.round(4);
        assert!(watchdog.expired(&short) && !watchdog.expired(&long));
        watchdog.round(5);
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once");
        watchdog.unregister(&short);
        let again = watchdog.register(Duration::from_millis(1), &waker, None);
        assert_eq!(again.slot, short.slot, "a freed slot is reused");
        watchdog.unregister(&again);
        watchdog.unregister(&long);
        watchdog.round(1000);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "unregistered calls are not woken"
        );
    }

    #[test]
    fn wakes_a_read_once_when_its_replica_leaves_the_rotation() {
        let watchdog = Watchdog::new(Duration::from_millis(640));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let rotation = Arc::new(Rotation::all(2));
        let on = |replica| OnReplica {
            rotation: Arc::clone(&rotation),
            replica,
            departures: rotation.departures(replica),
        };
        let early = watchdog.register(Duration::from_secs(30), &waker, Some(on(0)));
        let late = watchdog.register(Duration::from_secs(30), &waker, None);
        watchdog.watch(&late, on(1));
        watchdog.round(1);
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "nothing left yet");
        rotation.set(0, false);
        watchdog.round(2);
        watchdog.round(3);
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once");
        rotation.set(1, false);
        watchdog.round(4);
        assert_eq!(count.0.load(Ordering::SeqCst), 2, "watched once it began");
        assert!(!watchdog.expired(&early) && !watchdog.expired(&late));
        watchdog.unregister(&early);
        watchdog.unregister(&late);
    }
}
