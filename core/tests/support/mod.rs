//! What several integration tests share: the Redis stores that
//! `scripts/with-redis` starts for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sojourn::store::Store;
use sojourn::{Config, Error, RedisStore};

/// Which Redis a test's store is on.
#[derive(Debug, Clone, Copy)]
pub enum Redis {
    /// One redis-server (`SOJOURN_REDIS_URL`).
    Single,
    /// A three-master Redis Cluster (`SOJOURN_REDIS_CLUSTER`).
    Cluster,
}

/// A store on `redis` under `prefix`, bounded by `config`.
pub fn redis(redis: Redis, prefix: &str, config: &Config) -> Result<Arc<dyn Store>, Error> {
    let var = match redis {
        Redis::Single => "SOJOURN_REDIS_URL",
        Redis::Cluster => "SOJOURN_REDIS_CLUSTER",
    };
    let address = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var}: run the tests through scripts/with-redis (make test does)")
    });
    let (n, d, timeout) = (
        config.max_sessions,
        config.max_dormant,
        Duration::from_millis(500),
    );
    let store = match redis {
        Redis::Single => RedisStore::connect(&address, prefix, n, d, timeout)?,
        Redis::Cluster => {
            let nodes: Vec<&str> = address.split(',').collect();
            RedisStore::connect_cluster(&nodes, prefix, n, d, timeout)?
        }
    };
    Ok(Arc::new(store))
}

/// A key prefix no other store of this run has: `name`, the process, a
/// count. Each tracker under its own starts from nothing, as a process's
/// memory would.
pub fn unique_prefix(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{name}-{}-{n}", std::process::id())
}
