//! The best moka tracker we could write for this job (moka 0.12): `u128`
//! keys, foldhash, the session an `Arc` of atomics (track takes no lock;
//! only the user id sits behind a small mutex), `time_to_idle` for the
//! sliding idle timeout, the plain LRU policy (no TinyLFU admission), and
//! the table sized for the bound up front.
//!
//! Measured against this on W1 and W2, and slower or no faster: a per-entry
//! `Expiry` (sliding on every read; 10-18% slower, 449 against 401 B per
//! session unsized), `entry().or_insert_with` for revives (the same as
//! `get_with`), std's SipHash or ahash for foldhash, a `SegmentedCache`,
//! moka's `quanta` clock, TinyLFU (the same speed; nothing is evicted).

use std::hash::BuildHasher;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use super::{IDLE_MS, now_ms};
use crate::replay::Contender;

/// The bound every moka peer applies.
const MAX_SESSIONS: u64 = 1_000_000;

/// What the cache holds for a session. Both counters live in one word
/// (views high, events low), so that a track is one `fetch_add` that
/// also yields the sequence.
pub struct Live {
    counters: AtomicU64,
    started_at: u64,
    last_seen: AtomicU64,
    user_id: Mutex<Option<Box<str>>>,
}

const VIEW: u64 = 1 << 32;
const LOW: u64 = VIEW - 1;

impl Live {
    fn new(views: u64, events: u64) -> Arc<Live> {
        let now = now_ms();
        Arc::new(Live {
            counters: AtomicU64::new((views.min(LOW) << 32) | events.min(LOW)),
            started_at: now,
            last_seen: AtomicU64::new(now),
            user_id: Mutex::new(None),
        })
    }
}

/// A copy of a session, as `get` returns it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: u128,
    pub user_id: Option<String>,
    pub view_sequence: u64,
    pub event_sequence: u64,
    pub started_at: u64,
    pub last_seen: u64,
}

pub struct MokaTunedPeer<S = foldhash::fast::RandomState> {
    cache: Cache<u128, Arc<Live>, S>,
}

impl Default for MokaTunedPeer {
    fn default() -> Self {
        MokaTunedPeer::with_hasher(foldhash::fast::RandomState::default())
    }
}

impl<S: BuildHasher + Clone + Send + Sync + 'static> MokaTunedPeer<S> {
    pub fn with_hasher(hasher: S) -> Self {
        MokaTunedPeer {
            cache: Cache::builder()
                .max_capacity(MAX_SESSIONS)
                .initial_capacity(MAX_SESSIONS as usize)
                .eviction_policy(EvictionPolicy::lru())
                .time_to_idle(Duration::from_millis(IDLE_MS))
                .build_with_hasher(hasher),
        }
    }

    /// The live session `id`, touched.
    fn live(&self, id: u128) -> Option<Arc<Live>> {
        let live = self.cache.get(&id)?;
        live.last_seen.store(now_ms(), Relaxed);
        Some(live)
    }

    /// The live session `id`, touched, as a copy.
    pub fn snapshot(&self, id: u128) -> Option<Snapshot> {
        let live = self.live(id)?;
        let counters = live.counters.load(Relaxed);
        let user_id = live
            .user_id
            .lock()
            .map_or(None, |u| u.as_deref().map(str::to_owned));
        Some(Snapshot {
            id,
            user_id,
            view_sequence: counters >> 32,
            event_sequence: counters & LOW,
            started_at: live.started_at,
            last_seen: live.last_seen.load(Relaxed),
        })
    }
}

impl<S: BuildHasher + Clone + Send + Sync + 'static> Contender for MokaTunedPeer<S> {
    type Id = u128;
    type Key = u128;

    fn key(&self, uuid: u128) -> u128 {
        uuid
    }

    fn start(&self) -> u128 {
        let id = uuid::Uuid::new_v4().as_u128();
        self.cache.insert(id, Live::new(0, 0));
        id
    }

    fn track(&self, id: &u128, view: bool) -> u64 {
        let Some(live) = self.live(*id) else {
            return 0;
        };
        let add = if view { VIEW } else { 1 };
        let counters = live.counters.fetch_add(add, Relaxed) + add;
        (counters >> 32) + (counters & LOW)
    }

    fn get(&self, id: &u128) -> bool {
        black_box(self.snapshot(*id)).is_some()
    }

    fn identify(&self, id: &u128, user: &str) {
        if let Some(live) = self.live(*id)
            && let Ok(mut u) = live.user_id.lock()
        {
            *u = Some(user.into());
        }
    }

    fn revive(&self, key: &u128) -> u128 {
        self.cache.get_with(*key, || Live::new(0, 0));
        *key
    }

    fn revive_hinted(&self, key: &u128, views: u64, events: u64) -> u128 {
        self.cache.get_with(*key, || Live::new(views, events));
        *key
    }
}
