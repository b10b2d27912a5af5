//! One track call per event against `track_many` with batches: what one
//! lock per run of ids and one clock read per batch save in Rust. Prints
//! one JSON line.
//!
//!     batch [--batch B] [--runs R]

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;
use sojourn::{Kind, SessionId, Tracker};

fn flag(args: &[String], name: &str) -> Option<usize> {
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size = flag(&args, "--batch").unwrap_or(100);
    let runs = flag(&args, "--runs").unwrap_or(5);
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .build()
        .expect("valid");
    let ids: Vec<SessionId> = (0..100_000)
        .map(|_| tracker.start(None, None).expect("start").id)
        .collect();
    let mut seed: u64 = 7;
    let events: Vec<SessionId> = (0..1_000_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ids[seed as usize % ids.len()]
        })
        .collect();
    let per_sec = |f: &dyn Fn()| {
        let began = Instant::now();
        f();
        events.len() as f64 / began.elapsed().as_secs_f64()
    };
    let mut single = Vec::new();
    let mut batched = Vec::new();
    for _ in 0..runs {
        single.push(per_sec(&|| {
            for id in &events {
                black_box(tracker.track(*id, Kind::View).ok());
            }
        }));
        batched.push(per_sec(&|| {
            for batch in events.chunks(size) {
                black_box(tracker.track_many(batch, Kind::View).ok());
            }
        }));
    }
    println!(
        "{}",
        json!({ "language": "rust", "batch": size, "single_per_sec": single, "batched_per_sec": batched })
    );
}
