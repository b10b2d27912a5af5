//! The index from user to live sessions, so that a user's sessions are
//! found without scanning the store. Sharded by user; always locked after
//! the session shard it is updated with, never before.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use parking_lot::Mutex;

use crate::id::SessionId;

type Ids = HashSet<SessionId, RandomState>;
type UserMap = HashMap<Box<str>, Ids, RandomState>;

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
            Some(ids) => {
                ids.insert(id);
            }
            None => {
                let mut ids = Ids::default();
                ids.insert(id);
                map.insert(user.into(), ids);
            }
        }
    }

    pub fn remove(&self, user: &str, id: SessionId) {
        let mut map = self.shard(user).lock();
        if let Some(ids) = map.get_mut(user) {
            ids.remove(&id);
            if ids.is_empty() {
                map.remove(user);
            }
        }
    }

    pub fn ids(&self, user: &str) -> Vec<SessionId> {
        let map = self.shard(user).lock();
        map.get(user)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn count(&self, user: &str) -> usize {
        self.shard(user).lock().get(user).map_or(0, HashSet::len)
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
}
