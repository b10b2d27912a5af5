//! The embedded memory store: sessions spread over shards by a keyed hash
//! of their id, each shard behind its own lock.

mod shard;
mod table;
mod users;

use std::hash::BuildHasher;

use foldhash::fast::RandomState;

use crate::error::Result;
use crate::id::SessionId;
use crate::model::{Entry, EntryRef, Record};
use crate::session::{Kind, Tick};
use crate::store::{Cx, Found, Sizes, Step, Store, Which, oldest_first};
use crate::sync::{Mutex, MutexGuard};
use shard::{Shard, Users};
use users::UserIndex;

/// The most consecutive ids of a batch handled under one lock of their
/// shard: enough to make the lock's cost vanish, few enough that other
/// threads wait for a few microseconds at most.
const MAX_RUN: usize = 64;

/// Live sessions per shard: a store bounded to fewer live sessions than
/// this has one shard, so that small bounds are kept exactly.
const SESSIONS_PER_SHARD: usize = 2048;
// 256 rather than 64: on two threads, fewer threads meet on a shard's lock
// line (measured: W1 on two threads +7%, one thread unchanged; 1,024
// shards cost one thread 4%).
const MAX_SHARDS: usize = 256;

/// Threads that import a snapshot at most, and the fewest sessions worth
/// starting them for.
const MAX_IMPORT_THREADS: usize = 4;
const MIN_PARALLEL_IMPORT: usize = 16_384;

/// The sessions of a snapshot that one thread imports, with their shards.
type Group = Vec<(usize, Entry)>;

/// A shard on a cache line of its own, so that two threads working on
/// neighbouring shards do not slow each other down.
#[repr(align(128))]
struct Padded(Mutex<Shard>);

/// The default store: every session in this process's memory, in up to
/// 256 shards, each behind its own lock (`docs/architecture.md`).
pub struct MemoryStore {
    shards: Box<[Padded]>,
    // Independent of the maps' own hasher: routing by the same hash would
    // leave each shard's table with clustered buckets.
    route: RandomState,
    users: Users,
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
    /// A store that holds at most `max_sessions` live sessions and
    /// `max_dormant` dormant records.
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
            users: Users {
                live: UserIndex::new(n),
                dormant: UserIndex::new(n),
            },
        }
    }

    /// Which shard holds `id`: equal indexes, the same shard.
    fn shard_index(&self, id: SessionId) -> usize {
        let h = self.route.hash_one(id.as_u128()) as usize;
        h & (self.shards.len() - 1)
    }

    /// The shard at an index from [`MemoryStore::shard_index`] (or a part
    /// number: parts are shards).
    fn shard_at(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards[index % self.shards.len()].0.lock()
    }

    /// `f` on each id's shard in turn, in order, locking a shard once for
    /// a run of consecutive ids in it (at most [`MAX_RUN`]).
    fn each(&self, ids: &[SessionId], mut f: impl FnMut(&mut Shard, usize, SessionId)) {
        let mut held: Option<(usize, MutexGuard<'_, Shard>)> = None;
        let mut run = 0;
        for (i, &id) in ids.iter().enumerate() {
            let index = self.shard_index(id);
            let shard = match held.as_mut() {
                Some((at, shard)) if *at == index && run < MAX_RUN => shard,
                _ => {
                    // One shard at a time: a thread holding one while it
                    // waits for another could deadlock with another batch.
                    drop(held.take());
                    run = 0;
                    &mut held.insert((index, self.shard_at(index))).1
                }
            };
            run += 1;
            f(shard, i, id);
        }
    }

    #[cfg(test)]
    fn shards(&self) -> impl Iterator<Item = MutexGuard<'_, Shard>> {
        self.shards.iter().map(|s| s.0.lock())
    }
}

impl Store for MemoryStore {
    #[inline]
    fn update(
        &self,
        id: SessionId,
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) -> Result<()> {
        self.shard_at(self.shard_index(id))
            .update(id, cx, &self.users, f);
        Ok(())
    }

    /// One lock of a shard for a run of consecutive ids in it.
    fn update_each(
        &self,
        ids: &[SessionId],
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(usize, Found<'_>) -> Step,
    ) -> Result<()> {
        self.each(ids, |shard, i, id| {
            shard.update(id, cx, &self.users, &mut |found| f(i, found));
        });
        Ok(())
    }

    #[inline]
    fn track(&self, id: SessionId, kind: Kind, cx: &mut Cx<'_>) -> Result<Result<Tick>> {
        let mut shard = self.shard_at(self.shard_index(id));
        Ok(shard.track(id, kind, cx, &self.users))
    }

    /// The batch path: one lock of a shard for a run of ids in it.
    fn track_many(
        &self,
        ids: &[SessionId],
        kind: Kind,
        cx: &mut Cx<'_>,
    ) -> Result<Vec<Result<Tick>>> {
        let mut ticks = Vec::with_capacity(ids.len());
        self.each(ids, |shard, _, id| {
            ticks.push(shard.track(id, kind, cx, &self.users));
        });
        Ok(ticks)
    }

    fn peek(&self, id: SessionId, f: &mut dyn FnMut(&Record)) -> Result<()> {
        if let Some(record) = self.shard_at(self.shard_index(id)).peek(id) {
            f(record);
        }
        Ok(())
    }

    fn parts(&self) -> usize {
        self.shards.len()
    }

    fn scan(&self, part: usize, f: &mut dyn FnMut(SessionId, &Record)) -> Result<()> {
        self.shard_at(part).scan(f);
        Ok(())
    }

    fn sweep(&self, part: usize, cx: &mut Cx<'_>, budget: usize) -> Result<bool> {
        Ok(self.shard_at(part).sweep(cx, &self.users, budget))
    }

    fn user_ids(&self, user: &str, which: Which) -> Result<Vec<SessionId>> {
        Ok(match which {
            Which::Live => self.users.live.ids(user),
            Which::Dormant => self.users.dormant.ids(user),
        })
    }

    fn sizes(&self) -> Result<Sizes> {
        let mut sizes = Sizes::default();
        for padded in &self.shards {
            let shard = padded.0.lock();
            sizes.live += shard.live_len() as u64;
            sizes.dormant += shard.dormant_len() as u64;
        }
        Ok(sizes)
    }

    fn export(&self, part: usize, f: &mut dyn FnMut(EntryRef<'_>)) -> Result<()> {
        self.shard_at(part).export(f);
        Ok(())
    }

    fn import(&self, entry: Entry, cx: &mut Cx<'_>) -> Result<()> {
        self.shard_at(self.shard_index(entry.id()))
            .import(entry, cx, &self.users);
        Ok(())
    }

    /// Shards are independent (each keeps its own bounds), so each thread
    /// takes a set of them, the order of each shard's sessions kept.
    fn import_all(&self, entries: Vec<Entry>, cx: &mut Cx<'_>) -> Result<()> {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_IMPORT_THREADS)
            .min(self.shards.len());
        if threads < 2 || entries.len() < MIN_PARALLEL_IMPORT {
            let rules = cx.rules;
            for entry in oldest_first(entries, |e| rules.import_order(e)) {
                self.import(entry, cx)?;
            }
            return Ok(());
        }
        let share = entries.len() / threads + entries.len() / 8;
        let mut groups: Vec<Group> = (0..threads).map(|_| Vec::with_capacity(share)).collect();
        for entry in entries {
            let shard = self.shard_index(entry.id());
            groups[shard % threads].push((shard, entry));
        }
        let (now, rules) = (cx.now, cx.rules);
        let slots: Vec<Mutex<Option<Group>>> =
            groups.into_iter().map(|g| Mutex::new(Some(g))).collect();
        // Whoever takes a group first imports it.
        let import = |slot: &Mutex<Option<Group>>| {
            let mut local = Cx::new(now, rules);
            let group = slot.lock().take().unwrap_or_default();
            for (shard, entry) in oldest_first(group, |(_, e)| rules.import_order(e)) {
                self.shard_at(shard).import(entry, &mut local, &self.users);
            }
            local.departed
        };
        std::thread::scope(|scope| {
            let running: Vec<_> = slots[1..]
                .iter()
                .filter_map(|slot| {
                    std::thread::Builder::new()
                        .name("sojourn-load".into())
                        .spawn_scoped(scope, || import(slot))
                        .ok()
                })
                .collect();
            // This thread takes the first group, and any that a thread
            // could not be started for (a pids limit).
            for slot in &slots {
                cx.departed.extend(import(slot));
            }
            for handle in running {
                match handle.join() {
                    Ok(departed) => cx.departed.extend(departed),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        Ok(())
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
