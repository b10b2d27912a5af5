//! The index from user to live sessions, so that a user's sessions are
//! found without scanning the store. Sharded by user; always locked after
//! the session shard it is updated with, never before.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use crate::sync::Mutex;
use foldhash::fast::RandomState;

use crate::id::SessionId;

type UserMap = HashMap<Box<str>, Ids, RandomState>;

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

    fn shard(&self, user: &str) -> &Mutex<UserMap> {
        let h = self.route.hash_one(user) as usize;
        &self.shards[h % self.shards.len()].0
    }

    pub fn add(&self, user: &str, id: SessionId) {
        let mut map = self.shard(user).lock();
        match map.get_mut(user) {
            Some(ids) => ids.insert(id),
            None => {
                map.insert(user.into(), Ids::Few(vec![id]));
            }
        }
    }

    pub fn remove(&self, user: &str, id: SessionId) {
        let mut map = self.shard(user).lock();
        if let Some(ids) = map.get_mut(user) {
            ids.remove(id);
            if ids.len() == 0 {
                map.remove(user);
            }
        }
    }

    pub fn ids(&self, user: &str) -> Vec<SessionId> {
        let map = self.shard(user).lock();
        map.get(user).map(Ids::to_vec).unwrap_or_default()
    }

    #[cfg(test)]
    pub fn count(&self, user: &str) -> usize {
        self.shard(user).lock().get(user).map_or(0, Ids::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
