//! Which replicas reads may go to: one bit per replica in one atomic word, so that picking
//! one at random is a load, a count and a few bit operations. Each replica also counts the
//! times it left: a read that waits on a replica compares the count it began with, so that
//! it learns its replica left without anything to register or notify.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The most replicas a database can have: the bits of the rotation's word.
pub(crate) const MAX_REPLICAS: usize = 64;

/// The replicas in rotation, as bits (replica `i` is bit `i`), and the times each left it.
#[derive(Debug)]
pub(crate) struct Rotation(AtomicU64, [AtomicU32; MAX_REPLICAS]);

impl Rotation {
    /// No server in rotation.
    pub(crate) fn none() -> Self {
        Self::with(0)
    }

    fn with(bits: u64) -> Self {
        Self(
            AtomicU64::new(bits),
            std::array::from_fn(|_| AtomicU32::new(0)),
        )
    }

    /// Every one of `replicas` in rotation.
    #[cfg(test)]
    pub(crate) fn all(replicas: usize) -> Self {
        let bits = match replicas {
            0 => 0,
            n => u64::MAX >> (MAX_REPLICAS - n.min(MAX_REPLICAS)),
        };
        Self::with(bits)
    }

    /// Whether no replica is in rotation.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 0
    }

    pub(crate) fn contains(&self, replica: usize) -> bool {
        self.0.load(Ordering::Relaxed) & (1 << replica) != 0
    }

    /// Puts `replica` in or out; whether that changed anything.
    pub(crate) fn set(&self, replica: usize, in_rotation: bool) -> bool {
        let bit = 1 << replica;
        let before = match in_rotation {
            true => self.0.fetch_or(bit, Ordering::Relaxed),
            false => self.0.fetch_and(!bit, Ordering::Relaxed),
        };
        let changed = (before & bit != 0) != in_rotation;
        if changed && !in_rotation {
            self.1[replica].fetch_add(1, Ordering::Release);
        }
        changed
    }

    /// The times `replica` left the rotation so far, or one less while it is out of it: a
    /// read that begins on a replica already out compares unequal at once.
    pub(crate) fn departures(&self, replica: usize) -> u32 {
        let left = self.1[replica].load(Ordering::Acquire);
        match self.contains(replica) {
            true => left,
            false => left.wrapping_sub(1),
        }
    }

    /// Whether `replica` left the rotation since [`departures`](Self::departures) said
    /// `before`.
    pub(crate) fn left_since(&self, replica: usize, before: u32) -> bool {
        self.1[replica].load(Ordering::Acquire) != before
    }

    /// A replica in rotation, uniformly at random.
    pub(crate) fn pick(&self) -> Option<usize> {
        self.pick_among(u64::MAX)
    }

    /// A replica in rotation and among `candidates` (bits), uniformly at random.
    pub(crate) fn pick_among(&self, candidates: u64) -> Option<usize> {
        let mut bits = self.0.load(Ordering::Relaxed) & candidates;
        let count = bits.count_ones();
        if count == 0 {
            return None;
        }
        for _ in 0..fastrand::u32(..count) {
            bits &= bits - 1;
        }
        Some(bits.trailing_zeros() as usize)
    }
}

/// A replica a read runs on, and the times it had left the rotation when the read began.
#[derive(Debug, Clone)]
pub(crate) struct OnReplica {
    pub(crate) rotation: Arc<Rotation>,
    pub(crate) replica: usize,
    pub(crate) departures: u32,
}

impl OnReplica {
    /// Whether the replica left the rotation since the read began.
    pub(crate) fn left(&self) -> bool {
        self.rotation.left_since(self.replica, self.departures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_only_replicas_in_rotation_and_all_of_them() {
        let rotation = Rotation::all(3);
        assert!(rotation.set(1, false));
        assert!(!rotation.set(1, false));
        let mut seen = [0; 3];
        for _ in 0..1000 {
            seen[rotation.pick().unwrap()] += 1;
        }
        assert_eq!(seen[1], 0);
        assert!(seen[0] > 400 && seen[2] > 400, "{seen:?}");
        rotation.set(0, false);
        rotation.set(2, false);
        assert_eq!(rotation.pick(), None);
        assert!(rotation.set(2, true));
        assert_eq!(rotation.pick(), Some(2));
        assert_eq!(Rotation::all(0).pick(), None);
        assert!(Rotation::all(64).contains(63));
    }

    #[test]
    fn tells_a_read_that_its_replica_left_since_it_began() {
        let rotation = Rotation::all(2);
        let began = rotation.departures(0);
        assert!(!rotation.left_since(0, began));
        rotation.set(1, false);
        assert!(!rotation.left_since(0, began), "another replica left");
        rotation.set(0, false);
        assert!(rotation.left_since(0, began));
        let out = rotation.departures(0);
        assert!(rotation.left_since(0, out), "began while it was out");
        rotation.set(0, true);
        let back = rotation.departures(0);
        assert!(!rotation.left_since(0, back));
    }
}
