//! The replay loops every contender runs (W1, and W2 with its returning
//! visitors first), and the memory measurement.

use std::hint::black_box;
use std::ops::Range;
use std::time::Instant;

use crate::workload::{Op, Workload};

/// A session store replaying W1. Ids and revive keys are converted before
/// the clock runs, so that only the store's own work is timed.
pub trait Contender {
    type Id: Clone;
    type Key;
    fn key(&self, uuid: u128) -> Self::Key;
    fn start(&self) -> Self::Id;
    /// Counts a view or an event; returns the session's sequence.
    fn track(&self, id: &Self::Id, view: bool) -> u64;
    fn get(&self, id: &Self::Id) -> bool;
    fn identify(&self, id: &Self::Id, user: &str);
    fn revive(&self, key: &Self::Key) -> Self::Id;
    /// Brings `key` back with its client's counters as hints (W2): a peer
    /// creates the session under `key`, its counters set to the hints, if
    /// it has none.
    fn revive_hinted(&self, key: &Self::Key, views: u64, events: u64) -> Self::Id;
}

/// Everything a replay needs, made before timing.
pub struct Prepared<C: Contender> {
    pub prestarted: Vec<C::Id>,
    pub keys: Vec<C::Key>,
}

pub fn prepare<C: Contender>(c: &C, w: &Workload) -> Prepared<C> {
    Prepared {
        prestarted: (0..w.prestart).map(|_| c.start()).collect(),
        keys: w.revives.iter().map(|&u| c.key(u)).collect(),
    }
}

/// Replays `range` of the operations and returns when it began and ended.
pub fn replay<C: Contender>(
    c: &C,
    w: &Workload,
    p: &Prepared<C>,
    range: Range<usize>,
) -> (Instant, Instant) {
    let mut ids = p.prestarted.clone();
    ids.reserve(range.len() / 10);
    let started = Instant::now();
    let checksum = run_ops(c, w, p, &mut ids, range);
    let ended = Instant::now();
    black_box(checksum);
    (started, ended)
}

/// The operations of `range` over the sessions `ids`, to which the started
/// ones are added; returns a checksum of the results.
#[inline(always)]
fn run_ops<C: Contender>(
    c: &C,
    w: &Workload,
    p: &Prepared<C>,
    ids: &mut Vec<C::Id>,
    range: Range<usize>,
) -> u64 {
    let mut revive = w.ops[..range.start]
        .iter()
        .filter(|&&op| op == Op::Revive)
        .count();
    let mut checksum = 0u64;
    for i in range {
        // A target is always below the sessions started so far in the whole
        // run; a thread that replays part of it wraps into its own.
        let target = w.target[i] as usize % ids.len();
        match w.ops[i] {
            Op::TrackView => checksum += c.track(&ids[target], true),
            Op::TrackEvent => checksum += c.track(&ids[target], false),
            Op::Get => checksum += u64::from(c.get(&ids[target])),
            Op::Start => ids.push(c.start()),
            Op::Identify => c.identify(&ids[target], &w.users[w.user[i] as usize]),
            Op::Revive => {
                c.revive(&p.keys[revive]);
                revive += 1;
            }
        }
    }
    checksum
}

/// W2: revives the returning visitors of `returning` with their hints, then
/// replays `range` of the operations over them and the sessions started;
/// returns when the first revive began and the last operation ended.
/// `keys` are the returning visitors' keys, made before the clock.
pub fn replay_w2<C: Contender>(
    c: &C,
    w: &Workload,
    p: &Prepared<C>,
    keys: &[C::Key],
    returning: Range<usize>,
    range: Range<usize>,
) -> (Instant, Instant) {
    let mut ids = Vec::with_capacity(returning.len() + range.len() / 10);
    let started = Instant::now();
    for r in returning {
        let (views, events) = (w.view_hints[r], w.event_hints[r]);
        ids.push(c.revive_hinted(&keys[r], u64::from(views), u64::from(events)));
    }
    let checksum = run_ops(c, w, p, &mut ids, range);
    let ended = Instant::now();
    black_box(checksum);
    (started, ended)
}

/// Operations per second of W2 on one thread, in a fresh store: the
/// returning visitors' revives and the operations, over the time from the
/// first revive to the last operation.
pub fn w2_ops_per_sec<C: Contender>(c: C, w: &Workload) -> f64 {
    let p = prepare(&c, w);
    let keys: Vec<C::Key> = w.returning.iter().map(|&u| c.key(u)).collect();
    let (started, ended) = replay_w2(&c, w, &p, &keys, 0..keys.len(), 0..w.ops.len());
    (w.returning.len() + w.ops.len()) as f64 / (ended - started).as_secs_f64()
}

/// W2 on `threads` threads sharing one store: each revives its share of
/// the returning visitors, then replays its share of the operations over
/// its own sessions (targets wrap into them, as in W1).
pub fn w2_ops_per_sec_threads<C>(c: C, w: &Workload, threads: usize) -> f64
where
    C: Contender + Sync,
    C::Id: Send + Sync,
    C::Key: Sync,
{
    let p = prepare(&c, w);
    let keys: Vec<C::Key> = w.returning.iter().map(|&u| c.key(u)).collect();
    let (n, r) = (w.ops.len(), keys.len());
    let (chunk, r_chunk) = (n.div_ceil(threads), r.div_ceil(threads));
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (c, p, keys) = (&c, &p, &keys);
                s.spawn(move || {
                    let returning = t * r_chunk..((t + 1) * r_chunk).min(r);
                    replay_w2(c, w, p, keys, returning, t * chunk..((t + 1) * chunk).min(n))
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    rate(&spans, threads, n + r)
}

/// Operations per second of W1 on one thread, in a fresh store.
pub fn ops_per_sec<C: Contender>(c: C, w: &Workload) -> f64 {
    let p = prepare(&c, w);
    let (started, ended) = replay(&c, w, &p, 0..w.ops.len());
    w.ops.len() as f64 / (ended - started).as_secs_f64()
}

/// Operations per second of W1 on `threads` threads sharing one store,
/// each replaying its share of the operations.
pub fn ops_per_sec_threads<C>(c: C, w: &Workload, threads: usize) -> f64
where
    C: Contender + Sync,
    C::Id: Send + Sync,
    C::Key: Sync,
{
    let p = prepare(&c, w);
    let n = w.ops.len();
    let chunk = n.div_ceil(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (c, p) = (&c, &p);
                s.spawn(move || replay(c, w, p, t * chunk..((t + 1) * chunk).min(n)))
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    rate(&spans, threads, n)
}

/// `count` operations over the threads' spans, from the first one's start
/// to the last one's end; panics if a thread failed.
fn rate(spans: &[(Instant, Instant)], threads: usize, count: usize) -> f64 {
    let first = spans.iter().map(|s| s.0).min();
    let last = spans.iter().map(|s| s.1).max();
    match (first, last) {
        (Some(first), Some(last)) if spans.len() == threads => {
            count as f64 / (last - first).as_secs_f64()
        }
        _ => panic!("a replay thread failed"),
    }
}

pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// RSS growth per session for `n` sessions started in a fresh store (the
/// ids returned are dropped: the store's own footprint is measured).
pub fn bytes_per_session<C: Contender>(c: C, n: usize) -> f64 {
    let before = rss_bytes();
    for _ in 0..n {
        black_box(c.start());
    }
    let after = rss_bytes();
    black_box(&c);
    after.saturating_sub(before) as f64 / n as f64
}
