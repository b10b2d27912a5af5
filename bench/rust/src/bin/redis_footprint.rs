//! Bytes of Redis memory per session: `used_memory` from `INFO memory`
//! before and after starting N sessions through a tracker on the Redis
//! store, divided by N (and the same with a user each, whose set adds).
//!
//!     redis_footprint URL N      (scripts/with-redis exports the URL)

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sojourn::store::Store;
use sojourn::{Config, RedisStore, Tracker};

fn used_memory(port: &str) -> u64 {
    let out = Command::new("redis-cli")
        .args(["-p", port, "info", "memory"])
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO memory has used_memory")
}

fn tracker(url: &str, prefix: &str) -> Tracker {
    let (url, prefix) = (url.to_owned(), prefix.to_owned());
    Tracker::builder()
        .unsigned_tokens(true)
        .store(move |c: &Config| {
            let store = RedisStore::connect(
                &url,
                &prefix,
                c.max_sessions,
                c.max_dormant,
                Duration::from_secs(2),
            )?;
            Ok(Arc::new(store) as Arc<dyn Store>)
        })
        .build()
        .expect("Redis answers")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("usage: redis_footprint URL N");
    let n: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let port = url
        .rsplit(':')
        .next()
        .expect("a URL with a port")
        .to_owned();
    for (name, with_user) in [("anonymous", false), ("with_user", true)] {
        let t = tracker(url, name);
        let before = used_memory(&port);
        let began = Instant::now();
        for i in 0..n {
            let user = with_user.then(|| format!("user-{i}"));
            t.start(user.as_deref(), None).expect("start");
        }
        let elapsed = began.elapsed();
        let after = used_memory(&port);
        println!(
            "{}",
            json!({
                "sessions": n,
                "kind": name,
                "bytes_per_session": (after.saturating_sub(before)) as f64 / n as f64,
                "starts_per_sec": n as f64 / elapsed.as_secs_f64(),
            })
        );
    }
}
