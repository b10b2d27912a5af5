//! What `WAIT` would cost the Redis store, on a Redis with one replica:
//! the time of a tracker's track as the store works (the primary
//! acknowledges a swap before any replica has it), and the time `WAIT 1`
//! adds to a write (a `SET` of a session-sized value, then `WAIT` on the
//! same connection, against the `SET` alone): what a store that waited
//! for one replica after each swap would pay on top of each track.
//!
//!     redis_wait PRIMARY_URL N      (prints one JSON line)

use std::time::Instant;

use serde_json::json;
use sojourn::{Kind, Tracker};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("usage: redis_wait PRIMARY_URL N");
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .redis(url.as_str())
        .key_prefix(format!("wait-{}", std::process::id()))
        .build()
        .expect("Redis answers");
    let mut conn = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .expect("Redis answers");
    let ids: Vec<_> = (0..1000)
        .map(|_| tracker.start(None, None).expect("start").id)
        .collect();
    let began = Instant::now();
    for i in 0..n {
        tracker
            .track(ids[i % ids.len()], Kind::View)
            .expect("track");
    }
    let track_us = began.elapsed().as_secs_f64() * 1e6 / n as f64;
    let value = vec![b'x'; 130];
    let mut write_us = |wait: bool| {
        let began = Instant::now();
        for i in 0..n {
            let _: () = redis::cmd("SET")
                .arg(format!("wait-{}", i % 1000))
                .arg(&value)
                .query(&mut conn)
                .expect("SET");
            if wait {
                let replicas: i64 = redis::cmd("WAIT")
                    .arg(1)
                    .arg(1000)
                    .query(&mut conn)
                    .expect("WAIT");
                assert_eq!(replicas, 1, "the replica acknowledges");
            }
        }
        began.elapsed().as_secs_f64() * 1e6 / n as f64
    };
    let (set_us, set_wait_us) = (write_us(false), write_us(true));
    let wait_us = set_wait_us - set_us;
    println!(
        "{}",
        json!({
            "writes": n,
            "track_us": track_us,
            "set_us": set_us,
            "set_then_wait_us": set_wait_us,
            "wait_adds_us": wait_us,
            "track_with_wait_over_track": (track_us + wait_us) / track_us,
        })
    );
}
