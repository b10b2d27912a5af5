//! Sojourn's core on the Redis store, configured as a user would.

use sojourn::Tracker;

use super::SojournCore;

/// A tracker on the Redis at `url`, its keys under `prefix`.
pub fn sojourn_redis(url: &str, prefix: &str) -> SojournCore {
    SojournCore {
        tracker: Tracker::builder()
            .unsigned_tokens(true)
            .redis(url)
            .key_prefix(prefix)
            .build()
            .expect("Redis answers"),
    }
}
