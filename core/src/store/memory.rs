//! The embedded memory store: sessions spread over shards by a keyed hash
//! of their id, each shard behind its own lock.

use std::hash::BuildHasher;

use crate::sync::{Mutex, MutexGuard};
use foldhash::fast::RandomState;

use crate::id::SessionId;
use crate::store::shard::Shard;
use crate::store::users::UserIndex;

/// Live sessions per shard: a store bounded to fewer live sessions than
/// this has one shard, so that small bounds are kept exactly.
const SESSIONS_PER_SHARD: usize = 2048;
// 256 rather than 64: on two threads, fewer threads meet on a shard's lock
// line (measured: W1 on two threads +7%, one thread unchanged; 1,024
// shards cost one thread 4%).
const MAX_SHARDS: usize = 256;

/// A shard on a cache line of its own, so that two threads working on
/// neighbouring shards do not slow each other down.
#[repr(align(128))]
struct Padded(Mutex<Shard>);

pub(crate) struct MemoryStore {
    shards: Box<[Padded]>,
    // Independent of the maps' own hasher: routing by the same hash would
    // leave each shard's table with clustered buckets.
    route: RandomState,
    /// Users of live sessions.
    pub users: UserIndex,
    /// Users of dormant records, for `end_user` and `forget_user`.
    pub dormant_users: UserIndex,
}

/// How many shards a store has: from the live bound alone, so that no
/// shard holds more than its share of live sessions. (The smaller of both
/// bounds once decided: a small `max_dormant` made a million-session store
/// one shard, and a mass expiry held its lock for a second.)
fn shard_count(max_sessions: usize) -> usize {
    (max_sessions / SESSIONS_PER_SHARD)
        .max(1)
        .next_power_of_two()
        .min(MAX_SHARDS)
}

impl MemoryStore {
    pub fn new(max_sessions: usize, max_dormant: usize) -> Self {
        let n = shard_count(max_sessions);
        let share = |total: usize, i: usize| total / n + usize::from(i < total % n);
        // Every shard remembers at least one departure when any is to be
        // remembered: with fewer than one a shard, no shard is left out.
        let dormant = |i| match max_dormant {
            0 => 0,
            _ => share(max_dormant, i).max(1),
        };
        MemoryStore {
            shards: (0..n)
                .map(|i| Padded(Mutex::new(Shard::new(share(max_sessions, i), dormant(i)))))
                .collect(),
            route: RandomState::default(),
            users: UserIndex::new(n),
            dormant_users: UserIndex::new(n),
        }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub fn shard(&self, id: SessionId) -> MutexGuard<'_, Shard> {
        self.shard_at(self.shard_index(id))
    }

    /// Which shard holds `id`: equal indexes, the same shard.
    pub fn shard_index(&self, id: SessionId) -> usize {
        let h = self.route.hash_one(id.as_u128()) as usize;
        h & (self.shards.len() - 1)
    }

    /// The shard at an index from [`MemoryStore::shard_index`].
    pub fn shard_at(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards[index].0.lock()
    }

    pub fn shards(&self) -> impl Iterator<Item = MutexGuard<'_, Shard>> {
        self.shards.iter().map(|s| s.0.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_follow_the_live_bound() {
        assert_eq!(MemoryStore::new(100, 100).shards.len(), 1);
        assert_eq!(MemoryStore::new(2_047, 1).shards.len(), 1);
        assert_eq!(MemoryStore::new(1_000_000, 0).shards.len(), 256);
        // A small dormant bound no longer makes a large store one shard.
        assert_eq!(MemoryStore::new(1_000_000, 1).shards.len(), 256);
        assert_eq!(MemoryStore::new(10_000, 1_000_000).shards.len(), 4);
    }

    #[test]
    fn every_shard_may_remember_a_departure() {
        for max_dormant in [256, 257, 1_000, 1_000_000] {
            let store = MemoryStore::new(1_000_000, max_dormant);
            let shares: Vec<usize> = store.shards().map(|s| s.max_dormant()).collect();
            assert!(shares.iter().all(|&n| n >= 1), "{max_dormant}: {shares:?}");
            assert_eq!(shares.iter().sum::<usize>(), max_dormant);
        }
        // Fewer than one a shard: each still remembers one.
        let store = MemoryStore::new(1_000_000, 3);
        assert!(store.shards().all(|s| s.max_dormant() == 1));
        assert!(
            MemoryStore::new(1_000_000, 0)
                .shards()
                .all(|s| s.max_dormant() == 0)
        );
    }

    #[test]
    fn capacity_is_shared_out_exactly() {
        let store = MemoryStore::new(1_000_003, 1_000_000);
        assert_eq!(store.shards.len(), 256);
        let total: usize = store.shards().map(|s| s.max_live()).sum();
        assert_eq!(total, 1_000_003);
    }
}
