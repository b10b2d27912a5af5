//! Tracks a second on the Redis store: one `track` call each, against
//! `track_many` in batches of 100 (two pipelines a batch), and the plain
//! `redis` client's pipeline of 100 `HINCRBY` + `PEXPIRE` for reference.
//!
//!     redis_batch URL [N]      (prints one JSON line)

use std::time::Instant;

use serde_json::json;
use sojourn::{Kind, Tracker};

const SESSIONS: usize = 10_000;
const BATCH: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("usage: redis_batch URL [N]");
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .redis(url.as_str())
        .key_prefix(format!("batch-{}", std::process::id()))
        .build()
        .expect("Redis answers");
    let ids: Vec<_> = (0..SESSIONS)
        .map(|_| tracker.start(None, None).expect("start").id)
        .collect();
    // A fixed scatter over the sessions.
    let at = |i: usize| ids[(i * 7919) % SESSIONS];

    let began = Instant::now();
    for i in 0..n {
        tracker.track(at(i), Kind::View).expect("track");
    }
    let single = n as f64 / began.elapsed().as_secs_f64();

    let began = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
        let batch: Vec<_> = chunk.iter().map(|&i| at(i)).collect();
        tracker.track_many(&batch, Kind::View).expect("track_many");
    }
    let batched = n as f64 / began.elapsed().as_secs_f64();

    let mut conn = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .expect("Redis answers");
    let keys: Vec<String> = (0..SESSIONS)
        .map(|i| format!("batch-plain-{}-{i}", std::process::id()))
        .collect();
    let began = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            let key = &keys[(i * 7919) % SESSIONS];
            pipe.hincr(key, "views", 1)
                .pexpire(key, 30 * 60 * 1000)
                .ignore();
        }
        let _: Vec<u64> = pipe.query(&mut conn).expect("pipeline");
    }
    let plain = n as f64 / began.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({ "batch": BATCH, "single_per_sec": single, "batched_per_sec": batched, "plain_pipelined_per_sec": plain })
    );
}
