//! The contenders: Sojourn, and what a user would otherwise write.

mod hashmap;
mod moka;
mod moka_tuned;
mod plain_redis;
mod sojourn;
mod sojourn_redis;

pub use self::hashmap::HashMapPeer;
pub use self::moka::MokaPeer;
pub use self::moka_tuned::{MokaTunedPeer, Snapshot};
pub use self::plain_redis::PlainRedisPeer;
pub use self::sojourn::SojournCore;
pub use self::sojourn_redis::sojourn_redis;

use std::time::{SystemTime, UNIX_EPOCH};

/// The idle timeout every contender applies: 30 minutes.
pub const IDLE_MS: u64 = 30 * 60 * 1000;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The session a peer keeps: what an application writing its own tracker
/// would hold.
#[derive(Debug, Clone)]
pub struct PeerSession {
    pub id: String,
    pub user_id: Option<String>,
    pub view_sequence: u64,
    pub event_sequence: u64,
    pub started_at: u64,
    pub last_seen: u64,
}

impl PeerSession {
    pub fn new(id: String) -> Self {
        let now = now_ms();
        PeerSession {
            id,
            user_id: None,
            view_sequence: 0,
            event_sequence: 0,
            started_at: now,
            last_seen: now,
        }
    }

    /// A session revived under `id` with its client's counters.
    pub fn with_hints(id: String, views: u64, events: u64) -> Self {
        PeerSession {
            view_sequence: views,
            event_sequence: events,
            ..PeerSession::new(id)
        }
    }

    pub fn track(&mut self, view: bool) -> u64 {
        if view {
            self.view_sequence += 1;
        } else {
            self.event_sequence += 1;
        }
        self.last_seen = now_ms();
        self.view_sequence + self.event_sequence
    }
}
