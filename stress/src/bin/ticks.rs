//! `ticks`: 8 threads × 10,000,000 tracks (at scale 1) on shared sessions
//! of one memory tracker, while expiry (a MockClock moved by a thread,
//! with storms that idle every session out at once), eviction (more
//! sessions in use than `max_sessions`), revival (`revive` and `resume`
//! of the sessions found gone), `identify`, `end` and `end_user` run at
//! the same time.
//!
//! Checked: every tick a thread gets is checked as it comes (its
//! sequence is its views plus its events, and each session's sequences
//! strictly increase as one thread sees them); at the end, per session
//! id, the sequences all threads got are exactly 1 to n, each once, where
//! n is the counter of the session's last end, and its views and events
//! add up to that end's. Every departure is delivered to `on_end` exactly
//! once: per id, one end for each life (`revivals` 0 to R, each once),
//! and the ends delivered equal the lives begun (`started + revived`)
//! and the tracker's own `ended` counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sojourn::{EndReason, Error, Hints, Kind, MockClock, Outcome, SessionId, Tracker};
use sojourn_stress::{Failures, Rng, scaled, thousands};

const THREADS: usize = 8;
/// Sessions in use at once: more than `MAX_SESSIONS`, so that the
/// sessions tracked push each other out all the time.
const SLOTS: usize = 9_000;
const MAX_SESSIONS: usize = 8_192;
const USERS: usize = 64;
const IDLE: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(30 * 24 * 3600);

/// What `on_end` saw of one session id.
#[derive(Default)]
struct IdEnds {
    /// Bit r: the end of life r (revivals = r) was delivered.
    lives: Vec<u64>,
    /// Lives whose end came twice.
    repeated: u64,
    /// Ends that came after the end of a later life of the same id.
    out_of_order: u64,
    /// The end of the latest life so far: (revivals, views, events).
    last: Option<(u32, u64, u64)>,
}

#[derive(Default)]
struct EndBook {
    ids: HashMap<SessionId, IdEnds>,
    delivered: u64,
    by_reason: [u64; 4],
}

fn reason_index(r: EndReason) -> usize {
    match r {
        EndReason::Idle => 0,
        EndReason::Lifetime => 1,
        EndReason::Ended => 2,
        EndReason::Evicted => 3,
    }
}

/// Every session id the run made, in order: a slot holds an index here.
struct Registry {
    ids: Mutex<Vec<SessionId>>,
}

impl Registry {
    fn add(&self, id: SessionId) -> u32 {
        let mut ids = self.ids.lock().unwrap();
        ids.push(id);
        (ids.len() - 1) as u32
    }
}

/// One thread's record of its ticks: per registry index, the sequences
/// it got (strictly increasing, checked as they come), and its views and
/// events.
#[derive(Default)]
struct Seen {
    sequences: Vec<Vec<u32>>,
    views: Vec<u64>,
    events: Vec<u64>,
}

impl Seen {
    fn grow(&mut self, n: usize) {
        if self.sequences.len() < n {
            self.sequences.resize_with(n, Vec::new);
            self.views.resize(n, 0);
            self.events.resize(n, 0);
        }
    }
}

struct Shared {
    tracker: Tracker,
    registry: Registry,
    slots: Vec<AtomicU32>,
    stop: AtomicBool,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    ticks: u64,
    misses: u64,
    revives: u64,
    resumes: u64,
    replaced: u64,
    identifies: u64,
}

fn main() {
    let tracks = scaled(10_000_000, 20_000);
    let clock = MockClock::new(1_767_225_600_000).unwrap();
    let book = Arc::new(Mutex::new(EndBook::default()));
    let sink = Arc::clone(&book);
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .idle_timeout(IDLE)
        .max_lifetime(LONG)
        .retention(LONG)
        .revive_window(LONG)
        .max_sessions(MAX_SESSIONS)
        .max_dormant(50_000_000)
        .max_pending_ends(5_000_000)
        .close_timeout(Duration::from_secs(120))
        .sweep_interval(Duration::from_millis(5))
        .on_end(move |end| {
            let mut book = sink.lock().unwrap();
            book.delivered += 1;
            book.by_reason[reason_index(end.reason)] += 1;
            let s = &end.session;
            let entry = book.ids.entry(s.id).or_default();
            let r = s.revivals as usize;
            if entry.lives.len() <= r / 64 {
                entry.lives.resize(r / 64 + 1, 0);
            }
            let bit = 1u64 << (r % 64);
            if entry.lives[r / 64] & bit != 0 {
                entry.repeated += 1;
            }
            entry.lives[r / 64] |= bit;
            match entry.last {
                Some((last, _, _)) if last > s.revivals => entry.out_of_order += 1,
                _ => entry.last = Some((s.revivals, s.view_sequence, s.event_sequence)),
            }
        })
        .build()
        .unwrap();

    let registry = Registry {
        ids: Mutex::new(Vec::new()),
    };
    let slots: Vec<AtomicU32> = (0..SLOTS)
        .map(|_| AtomicU32::new(registry.add(tracker.start(None, None).unwrap().id)))
        .collect();
    let shared = Arc::new(Shared {
        tracker,
        registry,
        slots,
        stop: AtomicBool::new(false),
    });

    let began = Instant::now();
    // The clock: 100 ms of tracker time a millisecond, and every 200th
    // step a storm (the whole idle timeout at once: every session idles
    // out, and the threads revive them as they find them gone).
    let clocker = {
        let (shared, clock) = (Arc::clone(&shared), clock.clone());
        thread::spawn(move || {
            let mut steps = 0u64;
            let mut storms = 0u64;
            while !shared.stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(1));
                steps += 1;
                let by = if steps % 200 == 0 {
                    storms += 1;
                    IDLE + Duration::from_millis(1)
                } else {
                    Duration::from_millis(100)
                };
                clock.advance(by).unwrap();
            }
            (steps, storms)
        })
    };
    // Logouts and ends: every 10 ms a user logged out everywhere, and a
    // session ended, while the threads track them.
    let chaos = {
        let shared = Arc::clone(&shared);
        thread::spawn(move || {
            let mut rng = Rng::new(99);
            let (mut logouts, mut logged_out, mut ended) = (0u64, 0u64, 0u64);
            let mut local = Vec::new();
            while !shared.stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(10));
                let user = format!("user-{}", rng.below(USERS as u64));
                logged_out += shared.tracker.end_user(&user).unwrap() as u64;
                logouts += 1;
                let idx = shared.slots[rng.below(SLOTS as u64) as usize].load(Ordering::Acquire);
                let id = id_of(&shared, &mut local, idx);
                if shared.tracker.end(id).unwrap().is_some() {
                    ended += 1;
                }
            }
            (logouts, logged_out, ended)
        })
    };

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || work(&shared, t, tracks))
        })
        .collect();
    let mut failures = Failures::default();
    let mut counts = Counts::default();
    let mut seen = Vec::new();
    for w in workers {
        let (c, s, f) = w.join().expect("a tracking thread panicked");
        counts.ticks += c.ticks;
        counts.misses += c.misses;
        counts.revives += c.revives;
        counts.resumes += c.resumes;
        counts.replaced += c.replaced;
        counts.identifies += c.identifies;
        for what in f {
            failures.fail(what);
        }
        seen.push(s);
    }
    let tracking = began.elapsed();
    shared.stop.store(true, Ordering::Relaxed);
    let (steps, storms) = clocker.join().unwrap();
    let (logouts, logged_out, ended_by_chaos) = chaos.join().unwrap();

    // Every life ends: the live ones now, then every end is delivered.
    let tracker = &shared.tracker;
    tracker.sweep().unwrap();
    let at_last = tracker.end_all().unwrap();
    let dropped = tracker.close();
    let stats = tracker.stats().unwrap();
    let book = book.lock().unwrap();
    let ids = shared.registry.ids.lock().unwrap().clone();

    failures.check(dropped == 0 && stats.ends_dropped == 0, || {
        format!(
            "{dropped} ends dropped at close, {} in all",
            stats.ends_dropped
        )
    });
    let lives = stats.started + stats.revived;
    failures.check(book.delivered == lives, || {
        format!(
            "{} ends delivered for {lives} lives ({} started, {} revived)",
            book.delivered, stats.started, stats.revived
        )
    });
    let e = stats.ended;
    failures.check(
        book.by_reason == [e.idle, e.lifetime, e.ended, e.evicted],
        || format!("ends by reason {:?} but stats {e:?}", book.by_reason),
    );
    failures.check(book.ids.len() == ids.len(), || {
        format!("ends for {} ids, {} ids made", book.ids.len(), ids.len())
    });
    failures.check(stats.views + stats.events == counts.ticks, || {
        format!(
            "{} ticks counted by the tracker, {} seen",
            stats.views + stats.events,
            counts.ticks
        )
    });

    // Per id: its ticks are 1..=n each once, n its last end's counter.
    let mut checked = 0u64;
    let mut out_of_order = 0u64;
    let mut bits: Vec<u64> = Vec::new();
    for (idx, id) in ids.iter().enumerate() {
        let Some(ends) = book.ids.get(id) else {
            failures.fail(format!("{id}: no end delivered"));
            continue;
        };
        out_of_order += ends.out_of_order;
        failures.check(ends.repeated == 0, || {
            format!("{id}: {} lives ended twice", ends.repeated)
        });
        let (last, views, events) = ends.last.expect("an end");
        let all_lives = (0..=last as usize).all(|r| ends.lives[r / 64] & (1 << (r % 64)) != 0);
        failures.check(all_lives, || {
            format!("{id}: a life of the {} has no end", last + 1)
        });
        let n = views + events;
        bits.clear();
        bits.resize(n as usize / 64 + 1, 0);
        let (mut got_views, mut got_events) = (0, 0);
        for s in &seen {
            if idx >= s.sequences.len() {
                continue;
            }
            got_views += s.views[idx];
            got_events += s.events[idx];
            for &q in &s.sequences[idx] {
                checked += 1;
                let q = q as u64;
                if q == 0 || q > n {
                    failures.fail(format!("{id}: tick {q} past its last end's {n}"));
                    continue;
                }
                let (w, b) = (q as usize / 64, 1u64 << (q % 64));
                if bits[w] & b != 0 {
                    failures.fail(format!("{id}: tick {q} seen twice"));
                }
                bits[w] |= b;
            }
        }
        failures.check((got_views, got_events) == (views, events), || {
            format!("{id}: {got_views} views and {got_events} events tracked, its last end has {views} and {events}")
        });
    }
    failures.check(checked == counts.ticks, || {
        format!("{checked} ticks checked of {}", counts.ticks)
    });

    let secs = tracking.as_secs_f64();
    let ops = counts.ticks + counts.misses;
    let figures = format!(
        "threads={THREADS} tracks={} ({} a thread) ops/s={} in {:.1}s; ticks checked={} misses={} \
         revives={} resumes={} replaced={} identifies={}; departures delivered/expected={}/{} \
         (idle={} evicted={} ended={} lifetime={}; end_all={at_last}) ids={} out-of-order-ends={out_of_order}; \
         clock steps={steps} storms={storms}; logouts={logouts} ending {logged_out}, ends={ended_by_chaos}",
        thousands(ops),
        thousands(tracks),
        thousands((ops as f64 / secs) as u64),
        secs,
        thousands(checked),
        thousands(counts.misses),
        thousands(counts.revives),
        thousands(counts.resumes),
        thousands(counts.replaced),
        thousands(counts.identifies),
        thousands(book.delivered),
        thousands(lives),
        thousands(e.idle),
        thousands(e.evicted),
        thousands(e.ended),
        e.lifetime,
        thousands(ids.len() as u64),
    );
    failures.finish("ticks", &figures);
}

/// The id at registry index `idx`, from this thread's copy of the
/// registry (refreshed when it is behind).
fn id_of(shared: &Shared, local: &mut Vec<SessionId>, idx: u32) -> SessionId {
    let idx = idx as usize;
    if idx >= local.len() {
        let ids = shared.registry.ids.lock().unwrap();
        local.extend_from_slice(&ids[local.len()..]);
    }
    local[idx]
}

fn work(shared: &Shared, t: usize, tracks: u64) -> (Counts, Seen, Vec<String>) {
    let tracker = &shared.tracker;
    let mut rng = Rng::new(t as u64 + 1);
    let mut local = Vec::new();
    let mut seen = Seen::default();
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    let mut done = 0u64;
    while done < tracks {
        let slot = rng.below(SLOTS as u64) as usize;
        let idx = shared.slots[slot].load(Ordering::Acquire);
        let id = id_of(shared, &mut local, idx);
        let kind = if rng.below(3) == 0 {
            Kind::Event
        } else {
            Kind::View
        };
        match tracker.track(id, kind) {
            Ok(tick) => {
                done += 1;
                counts.ticks += 1;
                let i = idx as usize;
                seen.grow(i + 1);
                let mine = &mut seen.sequences[i];
                let q = tick.sequence;
                if q != tick.view_sequence + tick.event_sequence
                    || q > u64::from(u32::MAX)
                    || mine.last().is_some_and(|&last| u64::from(last) >= q)
                {
                    failures.push(format!(
                        "thread {t}: {id} gave {tick:?} after sequence {:?}",
                        mine.last()
                    ));
                }
                mine.push(q as u32);
                match kind {
                    Kind::View => seen.views[i] += 1,
                    Kind::Event => seen.events[i] += 1,
                }
                if done % 1_000 == 0 {
                    let user = format!("user-{}", slot % USERS);
                    match tracker.identify(id, &user) {
                        Ok(_) => counts.identifies += 1,
                        Err(Error::SessionNotFound { .. }) => {}
                        Err(e) => failures.push(format!("identify: {e}")),
                    }
                }
            }
            Err(Error::SessionNotFound { .. }) => {
                counts.misses += 1;
                if let Err(e) = bring_back(shared, &mut rng, slot, idx, id, &mut counts) {
                    failures.push(format!("thread {t}: bringing {id} back: {e}"));
                }
            }
            Err(e) => failures.push(format!("thread {t}: track {id}: {e}")),
        }
    }
    (counts, seen, failures)
}

/// A session found gone: revived (`revive`, or `resume` with its token),
/// or, when it may not come back (ended, or its user logged out), a new
/// session in its slot.
fn bring_back(
    shared: &Shared,
    rng: &mut Rng,
    slot: usize,
    idx: u32,
    id: SessionId,
    counts: &mut Counts,
) -> sojourn::Result<()> {
    let tracker = &shared.tracker;
    let fresh = if rng.below(2) == 0 {
        counts.revives += 1;
        match tracker.revive(id, Hints::default()) {
            Ok(s) if s.id == id => return Ok(()),
            Ok(s) => panic!("revive({id}) gave {}", s.id),
            Err(Error::SessionNotRevivable { .. }) => tracker.start(None, None)?.id,
            Err(e) => return Err(e),
        }
    } else {
        counts.resumes += 1;
        let (s, outcome) = tracker.resume(Some(&tracker.token(id)), Hints::default())?;
        match outcome {
            Outcome::Existing | Outcome::Revived => {
                assert_eq!(s.id, id, "resume of {id} gave {outcome}");
                return Ok(());
            }
            Outcome::Started => s.id,
        }
    };
    counts.replaced += 1;
    let new = shared.registry.add(fresh);
    // Another thread may have replaced it first: the fresh session is
    // then simply left to idle out (it is in the registry: its end counts).
    let _ = shared.slots[slot].compare_exchange(idx, new, Ordering::AcqRel, Ordering::Acquire);
    Ok(())
}
