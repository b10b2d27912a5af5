//! Sessions that keep expiring: how many session ends per second reach a
//! Rust `on_end` callback. Prints one JSON line.
//!
//!     ends [--sessions N] [--rounds R]
//!
//! Each round starts N sessions, moves a mock clock past the idle timeout
//! and sweeps; only the sweeps (expiry and delivery) are timed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use sojourn::Clock;
use sojourn::{MockClock, SystemClock, Tracker};

fn flag(args: &[String], name: &str) -> Option<usize> {
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sessions = flag(&args, "--sessions").unwrap_or(100_000);
    let rounds = flag(&args, "--rounds").unwrap_or(5);
    let idle = Duration::from_secs(1);
    let clock = MockClock::new(SystemClock.now_ms()).expect("the system clock is in range");
    let delivered = Arc::new(AtomicU64::new(0));
    let sink = Arc::clone(&delivered);
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .idle_timeout(idle)
        .sweep_interval(Duration::ZERO)
        .on_end(move |end| {
            sink.fetch_add(end.session.sequence + 1, Ordering::Relaxed);
        })
        .build()
        .expect("valid configuration");
    let mut per_round = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        for _ in 0..sessions {
            tracker.start(None, None).expect("start");
        }
        clock.advance(idle).expect("in range");
        let started = Instant::now();
        let ended = tracker.sweep().expect("the memory store never fails");
        let elapsed = started.elapsed();
        assert_eq!(ended, sessions, "every session ended");
        per_round.push(ended as f64 / elapsed.as_secs_f64());
    }
    assert_eq!(
        delivered.load(Ordering::Relaxed),
        (sessions * rounds) as u64
    );
    println!(
        "{}",
        json!({ "language": "rust", "sessions": sessions, "ends_per_sec": per_round })
    );
}
