//! `starts`: 100,000,000 starts (at scale 1) from two threads against
//! `max_sessions` 100,000 (less in a run under 4,000,000 starts), with
//! `on_end` counting every eviction. The
//! process's RSS (`/proc/self/statm`) is sampled every 1% of the starts:
//! once the store is full and the remembered sessions reach
//! `max_dormant` (1,000,000, the default; less in a short run), memory must stay flat. The
//! plateau is the highest sample from 10% to 20% of the run; every later
//! sample must be within 5% of it.
//!
//! Also checked: never more than `max_sessions` live; every start past
//! the bound evicted exactly one session, and each end was delivered or
//! counted as dropped (`max_pending_ends`), none twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use sojourn::{EndReason, Tracker};
use sojourn_stress::{Failures, rss_bytes, scaled, thousands};

const THREADS: u64 = 2;
const SAMPLES: u64 = 100;

fn main() {
    let starts = scaled(100_000_000, 400_000);
    // 100,000 and the default 1,000,000 at full scale; less in a short
    // run, so that its tenth is past the point where both bounds are
    // reached.
    let max_sessions = (starts / 40).min(100_000) as usize;
    let max_dormant = (starts / 20).min(1_000_000) as usize;
    let delivered = Arc::new(AtomicU64::new(0));
    let not_evicted = Arc::new(AtomicU64::new(0));
    let (d, n) = (Arc::clone(&delivered), Arc::clone(&not_evicted));
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .max_sessions(max_sessions)
        .max_dormant(max_dormant)
        .sweep_interval(Duration::from_millis(100))
        .on_end(move |end| {
            d.fetch_add(1, Ordering::Relaxed);
            if end.reason != EndReason::Evicted {
                n.fetch_add(1, Ordering::Relaxed);
            }
        })
        .build()
        .unwrap();

    let rss_at_start = rss_bytes();
    let began = Instant::now();
    let every = (starts / SAMPLES).max(1);
    let mut samples: Vec<u64> = Vec::new();
    let mut max_live = 0u64;
    let mut max_pending = 0u64;
    let mut chunk = 0;
    while chunk * every < starts {
        let todo = every.min(starts - chunk * every);
        thread::scope(|s| {
            for t in 0..THREADS {
                let tracker = &tracker;
                s.spawn(move || {
                    let mine = todo / THREADS + u64::from(t < todo % THREADS);
                    for _ in 0..mine {
                        tracker.start(None, None).unwrap();
                    }
                });
            }
        });
        chunk += 1;
        samples.push(rss_bytes());
        max_live = max_live.max(tracker.len().unwrap() as u64);
        max_pending = max_pending.max(tracker.stats().unwrap().ends_pending);
    }
    let elapsed = began.elapsed();
    let dropped = tracker.close();
    let stats = tracker.stats().unwrap();

    let mut failures = Failures::default();
    failures.check(max_live <= max_sessions as u64, || {
        format!("{max_live} live")
    });
    let evicted = starts - stats.live;
    failures.check(stats.started == starts, || {
        format!("{} started of {starts}", stats.started)
    });
    failures.check(stats.ended.evicted == evicted, || {
        format!("{} evicted, {evicted} expected", stats.ended.evicted)
    });
    let got = delivered.load(Ordering::Relaxed);
    failures.check(got + stats.ends_dropped == evicted, || {
        format!(
            "{got} ends delivered + {} dropped, {evicted} evictions",
            stats.ends_dropped
        )
    });
    failures.check(not_evicted.load(Ordering::Relaxed) == 0, || {
        "an end that was not an eviction".to_owned()
    });
    // The plateau: the highest sample from 10% to 20% of the run (the
    // queue of pending ends and the allocator's free lists reach their
    // working size there); every later sample within 5% of it.
    let from = (samples.len() / 5).max(1);
    let plateau = samples[samples.len() / 10..from]
        .iter()
        .copied()
        .max()
        .unwrap_or(samples[0]);
    let later = &samples[from..];
    let (lo, hi) = (
        later.iter().copied().min().unwrap_or(plateau),
        later.iter().copied().max().unwrap_or(plateau),
    );
    let last = *samples.last().unwrap();
    failures.check(hi as f64 <= plateau as f64 * 1.05, || {
        format!("RSS rose to {hi} from a plateau of {plateau}")
    });

    let mb = |b: u64| b as f64 / 1e6;
    let figures = format!(
        "starts={} threads={THREADS} max_sessions={} max_dormant={} ops/s={} in {:.1}s; live at most {}; \
         departures delivered/expected={}/{} (dropped {}, at close {dropped}, pending at most {}); \
         RSS MB: before {:.1}, plateau {:.1} (samples 10%-20% of {}), after it min {:.1} max {:.1}, last {:.1}",
        thousands(starts),
        thousands(max_sessions as u64),
        thousands(max_dormant as u64),
        thousands((starts as f64 / elapsed.as_secs_f64()) as u64),
        elapsed.as_secs_f64(),
        thousands(max_live),
        thousands(got),
        thousands(evicted),
        thousands(stats.ends_dropped),
        thousands(max_pending),
        mb(rss_at_start),
        mb(plateau),
        samples.len(),
        mb(lo),
        mb(hi),
        mb(last),
    );
    failures.finish("starts", &figures);
}
