//! Which replicas reads may go to: one bit per replica in one atomic word, so that picking
//! one at random is a load, a count and a few bit operations.

use std::sync::atomic::{AtomicU64, Ordering};

/// The most replicas a database can have: the bits of the rotation's word.
pub(crate) const MAX_REPLICAS: usize = 64;

/// The replicas in rotation, as bits (replica `i` is bit `i`).
#[derive(Debug)]
pub(crate) struct Rotation(AtomicU64);

impl Rotation {
    /// No server in rotation.
    pub(crate) fn none() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Every one of `replicas` in rotation.
    #[cfg(test)]
    pub(crate) fn all(replicas: usize) -> Self {
        let bits = match replicas {
            0 => 0,
            n => u64::MAX >> (MAX_REPLICAS - n.min(MAX_REPLICAS)),
        };
        Self(AtomicU64::new(bits))
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
        (before & bit != 0) != in_rotation
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
}
