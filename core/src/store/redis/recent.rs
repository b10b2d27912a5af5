//! The values this process last saw of the sessions it touched, as the
//! expected value of its next compare-and-set: a hit makes an update one
//! round trip (the swap) instead of two (read, swap). Never trusted as
//! the truth: a swap checks it in Redis, a decision that writes nothing is
//! checked by a read, and a stale value only costs the round trip it
//! meant to save (the failed swap returns the current value). Bounded: a
//! full shard is emptied.

use std::collections::HashMap;
use std::sync::Arc;

use crate::id::SessionId;
use crate::sync::Mutex;

const SHARDS: usize = 16;
/// At most this many values a shard: 16,384 in all, a few MB.
const PER_SHARD: usize = 1024;

pub(super) struct Recent {
    shards: [Mutex<HashMap<SessionId, Arc<[u8]>>>; SHARDS],
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

impl Recent {
    fn shard(&self, id: SessionId) -> &Mutex<HashMap<SessionId, Arc<[u8]>>> {
        &self.shards[(id.as_u128() as usize) % SHARDS]
    }

    /// The value last seen of `id`, if still kept.
    pub fn get(&self, id: SessionId) -> Option<Arc<[u8]>> {
        self.shard(id).lock().get(&id).cloned()
    }

    /// `raw` was seen as the value of `id` (empty: no session).
    pub fn put(&self, id: SessionId, raw: &[u8]) {
        let mut shard = self.shard(id).lock();
        if raw.is_empty() {
            shard.remove(&id);
            return;
        }
        if shard.len() >= PER_SHARD && !shard.contains_key(&id) {
            shard.clear();
        }
        shard.insert(id, raw.into());
    }
}
