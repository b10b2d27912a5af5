//! A naive moka tracker: `Cache<String, Arc<Mutex<Session>>>` with
//! `time_to_idle`, as the design's baseline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

use super::{IDLE_MS, PeerSession, now_ms};
use crate::replay::Contender;

pub struct MokaPeer {
    cache: Cache<String, Arc<Mutex<PeerSession>>>,
}

impl Default for MokaPeer {
    fn default() -> Self {
        MokaPeer {
            cache: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_millis(IDLE_MS))
                .build(),
        }
    }
}

impl MokaPeer {
    fn with<R>(&self, id: &str, f: impl FnOnce(&mut PeerSession) -> R) -> Option<R> {
        let session = self.cache.get(id)?;
        let mut guard = session.lock().ok()?;
        Some(f(&mut guard))
    }
}

impl Contender for MokaPeer {
    type Id = String;
    type Key = String;

    fn key(&self, uuid: u128) -> String {
        uuid::Uuid::from_u128(uuid).to_string()
    }

    fn start(&self) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.cache.insert(
            id.clone(),
            Arc::new(Mutex::new(PeerSession::new(id.clone()))),
        );
        id
    }

    fn track(&self, id: &String, view: bool) -> u64 {
        self.with(id, |s| s.track(view)).unwrap_or(0)
    }

    fn get(&self, id: &String) -> bool {
        self.with(id, |s| {
            s.last_seen = now_ms();
            s.clone()
        })
        .is_some()
    }

    fn identify(&self, id: &String, user: &str) {
        self.with(id, |s| {
            s.user_id = Some(user.to_owned());
            s.last_seen = now_ms();
        });
    }

    fn revive(&self, key: &String) -> String {
        self.cache.get_with(key.clone(), || {
            Arc::new(Mutex::new(PeerSession::new(key.clone())))
        });
        key.clone()
    }

    fn revive_hinted(&self, key: &String, views: u64, events: u64) -> String {
        self.cache.get_with(key.clone(), || {
            Arc::new(Mutex::new(PeerSession::with_hints(key.clone(), views, events)))
        });
        key.clone()
    }
}
