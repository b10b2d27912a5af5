//! What several integration tests share: the Redis stores that
//! `scripts/with-redis` starts for them.

// Each test file takes the part it needs.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sojourn::store::Store;
use sojourn::{Config, Error, RedisStore, RedisTarget, TrackerBuilder};

/// Which Redis a test's store is on.
#[derive(Debug, Clone, Copy)]
pub enum Redis {
    /// One redis-server (`SOJOURN_REDIS_URL`).
    Single,
    /// A three-master Redis Cluster (`SOJOURN_REDIS_CLUSTER`).
    Cluster,
}

/// The address of the Redis that `redis` says, as `scripts/with-redis`
/// gives it: a URL, or the Cluster nodes' URLs joined by commas.
pub fn address(redis: Redis) -> String {
    let var = match redis {
        Redis::Single => "SOJOURN_REDIS_URL",
        Redis::Cluster => "SOJOURN_REDIS_CLUSTER",
    };
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var}: run the tests through scripts/with-redis (make test does)")
    })
}

/// `builder` with its sessions on `redis` under `prefix`, through the
/// builder's own Redis options.
#[allow(dead_code)] // not every test file builds trackers this way
pub fn on(builder: TrackerBuilder, redis: Redis, prefix: &str) -> TrackerBuilder {
    let address = address(redis);
    let builder = builder.key_prefix(prefix);
    match redis {
        Redis::Single => builder.redis(address),
        Redis::Cluster => builder.redis_cluster(address.split(',')),
    }
}

/// A store on `redis` under `prefix`, bounded by `config`.
#[allow(dead_code)]
pub fn redis(redis: Redis, prefix: &str, config: &Config) -> Result<Arc<dyn Store>, Error> {
    let address = address(redis);
    let (n, d, timeout) = (
        config.max_sessions,
        config.max_dormant,
        Duration::from_millis(500),
    );
    let target = match redis {
        Redis::Single => RedisTarget::Single(address),
        Redis::Cluster => RedisTarget::Cluster(address.split(',').map(str::to_owned).collect()),
    };
    Ok(Arc::new(RedisStore::open(&target, prefix, n, d, timeout)?))
}

/// A key prefix no other store of this run has: `name`, the process, a
/// count. Each tracker under its own starts from nothing, as a process's
/// memory would.
pub fn unique_prefix(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{name}-{}-{n}", std::process::id())
}
