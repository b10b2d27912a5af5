//! std `HashMap` with `String` keys and lazy expiry: single-threaded, as a
//! user would write it behind one process.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{IDLE_MS, PeerSession, now_ms};
use crate::replay::Contender;

#[derive(Default)]
pub struct HashMapPeer {
    sessions: RefCell<HashMap<String, PeerSession>>,
}

impl HashMapPeer {
    /// The live session, expiring it lazily when it idled out.
    fn with<R>(&self, id: &str, f: impl FnOnce(&mut PeerSession) -> R) -> Option<R> {
        let mut map = self.sessions.borrow_mut();
        let session = map.get_mut(id)?;
        if now_ms() - session.last_seen > IDLE_MS {
            map.remove(id);
            return None;
        }
        Some(f(session))
    }
}

impl Contender for HashMapPeer {
    type Id = String;
    type Key = String;

    fn key(&self, uuid: u128) -> String {
        uuid::Uuid::from_u128(uuid).to_string()
    }

    fn start(&self) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.sessions
            .borrow_mut()
            .insert(id.clone(), PeerSession::new(id.clone()));
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
        let mut map = self.sessions.borrow_mut();
        map.entry(key.clone())
            .or_insert_with(|| PeerSession::new(key.clone()));
        key.clone()
    }

    fn revive_hinted(&self, key: &String, views: u64, events: u64) -> String {
        let mut map = self.sessions.borrow_mut();
        map.entry(key.clone())
            .or_insert_with(|| PeerSession::with_hints(key.clone(), views, events));
        key.clone()
    }
}
