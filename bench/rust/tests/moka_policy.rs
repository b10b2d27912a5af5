//! What moka 0.12 does with a new entry when it is full, as the design
//! notes (docs/architecture.md) describe it: the default TinyLFU admission
//! turns away a new key that lost to the entries already there, while
//! `EvictionPolicy::lru()` (since 0.12.5) admits it and evicts the least
//! recently used entry.

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

/// A full cache of 100 keys, each read twice, then a new key.
fn full_then_new(cache: &Cache<u32, u32>) {
    for k in 0..100 {
        cache.insert(k, k);
    }
    for _ in 0..2 {
        for k in 0..100 {
            cache.get(&k);
        }
    }
    cache.run_pending_tasks();
    cache.insert(1000, 1000);
    cache.run_pending_tasks();
}

#[test]
fn tiny_lfu_turns_the_new_key_away() {
    let cache = Cache::builder().max_capacity(100).build();
    full_then_new(&cache);
    assert!(!cache.contains_key(&1000));
    assert!(cache.contains_key(&0));
    assert_eq!(cache.entry_count(), 100);
}

#[test]
fn lru_admits_it_and_evicts_the_least_recently_used() {
    let cache = Cache::builder()
        .max_capacity(100)
        .eviction_policy(EvictionPolicy::lru())
        .build();
    full_then_new(&cache);
    assert!(cache.contains_key(&1000));
    assert!(!cache.contains_key(&0));
    assert_eq!(cache.entry_count(), 100);
}

/// Each entry expires after as many seconds as its value.
struct ByValue;

impl moka::Expiry<u32, u32> for ByValue {
    fn expire_after_create(
        &self,
        _: &u32,
        value: &u32,
        _: std::time::Instant,
    ) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(u64::from(*value)))
    }
}

#[test]
fn lru_evicts_by_recency_not_by_expiry() {
    // Sessions want the one closest to expiry pushed out (the lifetime can
    // end a recently used session first); moka's LRU picks by recency.
    let cache = Cache::builder()
        .max_capacity(2)
        .eviction_policy(EvictionPolicy::lru())
        .expire_after(ByValue)
        .build();
    cache.insert(0, 3600); // used least recently, expires in an hour
    cache.insert(1, 60); // used since, expires in a minute
    cache.run_pending_tasks();
    cache.get(&1);
    cache.run_pending_tasks();
    cache.insert(2, 3600);
    cache.run_pending_tasks();
    assert!(!cache.contains_key(&0));
    assert!(cache.contains_key(&1));
}
