//! The index from user to live sessions, so that a user's sessions are
//! found without scanning the store. Sharded by user; always locked after
//! the session shard it is updated with, never before.
//!
//! A user is keyed by a 64-bit hash of its id (keyed afresh in every
//! process), not by the id: no copy of the string to allocate, and a lookup
//! compares two integers where a string key costs a pointer chase to a
//! cache line of its own (a third of `identify` on 100,000 sessions went
//! there). Two users whose hashes collide share an entry, which
//! `Store::user_ids` allows: the tracker re-checks every id it is given.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use crate::sync::Mutex;
use foldhash::fast::RandomState;

use crate::id::SessionId;

type UserMap = HashMap<u64, Ids, BuildHasherDefault<Prehashed>>;

/// The map's hasher: its keys are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; anything else folds in all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Past this many sessions a user's ids move from a vector to a set.
const FEW: usize = 16;

/// A user's live sessions. Most users have one or a few: a short vector,
/// searched in one cache line, costs less than a hash set's allocation and
/// hashing; a user with many sessions gets a set, so that no change costs
/// more than a hash lookup.
enum Ids {
    Few(Vec<SessionId>),
    Many(HashSet<SessionId, RandomState>),
}

impl Ids {
    fn insert(&mut self, id: SessionId) {
        match self {
            Ids::Few(ids) if ids.contains(&id) => {}
            Ids::Few(ids) if ids.len() < FEW => ids.push(id),
            Ids::Few(ids) => {
                let mut set: HashSet<SessionId, RandomState> = ids.drain(..).collect();
                set.insert(id);
                *self = Ids::Many(set);
            }
            Ids::Many(set) => {
                set.insert(id);
            }
        }
    }

    fn remove(&mut self, id: SessionId) {
        match self {
            Ids::Few(ids) => {
                if let Some(at) = ids.iter().position(|&i| i == id) {
                    ids.swap_remove(at);
                }
            }
            Ids::Many(set) => {
                set.remove(&id);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Ids::Few(ids) => ids.len(),
            Ids::Many(set) => set.len(),
        }
    }

    fn to_vec(&self) -> Vec<SessionId> {
        match self {
            Ids::Few(ids) => ids.clone(),
            Ids::Many(set) => set.iter().copied().collect(),
        }
    }
}

/// A shard on a cache line of its own (see `memory.rs`).
#[derive(Default)]
#[repr(align(128))]
struct Padded(Mutex<UserMap>);

pub(crate) struct UserIndex {
    shards: Box<[Padded]>,
    route: RandomState,
}

impl UserIndex {
    pub fn new(shards: usize) -> Self {
        UserIndex {
            shards: (0..shards).map(|_| Padded::default()).collect(),
            route: RandomState::default(),
        }
    }

    /// The user's key, and its shard: chosen by the hash's middle bits,
    /// as the map's buckets are by its low bits and its tags by its top.
    fn shard(&self, user: &str) -> (u64, &Mutex<UserMap>) {
        let key = self.route.hash_one(user);
        let at = (key >> 32) as usize % self.shards.len();
        (key, &self.shards[at].0)
    }

    pub fn add(&self, user: &str, id: SessionId) {
        let (key, shard) = self.shard(user);
        shard
            .lock()
            .entry(key)
            .and_modify(|ids| ids.insert(id))
            .or_insert_with(|| Ids::Few(vec![id]));
    }

    pub fn remove(&self, user: &str, id: SessionId) {
        let (key, shard) = self.shard(user);
        let mut map = shard.lock();
        if let Some(ids) = map.get_mut(&key) {
            ids.remove(id);
            if ids.len() == 0 {
                map.remove(&key);
            }
        }
    }

    pub fn ids(&self, user: &str) -> Vec<SessionId> {
        let (key, shard) = self.shard(user);
        shard.lock().get(&key).map(Ids::to_vec).unwrap_or_default()
    }

    #[cfg(test)]
    pub fn count(&self, user: &str) -> usize {
        let (key, shard) = self.shard(user);
        shard.lock().get(&key).map_or(0, Ids::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_apart_stay_apart() {
        let index = UserIndex::new(4);
        let ids: Vec<SessionId> = (0..1_000).map(SessionId::new_v7).collect();
        for (n, id) in ids.iter().enumerate() {
            index.add(&format!("user-{n}"), *id);
        }
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(index.ids(&format!("user-{n}")), vec![*id]);
        }
        assert!(index.ids("user-1000").is_empty());
    }

    #[test]
    fn adds_counts_and_forgets_empty_users() {
        let index = UserIndex::new(4);
        let a = SessionId::new_v7(1);
        let b = SessionId::new_v7(2);
        index.add("u", a);
        index.add("u", b);
        index.add("u", b);
        assert_eq!(index.count("u"), 2);
        index.remove("u", a);
        assert_eq!(index.ids("u"), vec![b]);
        index.remove("u", b);
        assert_eq!(index.count("u"), 0);
        assert!(index.shards.iter().all(|s| s.0.lock().is_empty()));
    }

    #[test]
    fn a_user_with_many_sessions_moves_to_a_set_and_back_to_nothing() {
        let index = UserIndex::new(2);
        let ids: Vec<SessionId> = (0..100).map(SessionId::new_v7).collect();
        for id in &ids {
            index.add("bot", *id);
            index.add("bot", *id);
        }
        assert_eq!(index.count("bot"), 100);
        let mut got = index.ids("bot");
        got.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(got, want);
        for id in &ids[..99] {
            index.remove("bot", *id);
        }
        assert_eq!(index.ids("bot"), vec![ids[99]]);
        index.remove("bot", ids[99]);
        assert_eq!(index.count("bot"), 0);
    }
}
