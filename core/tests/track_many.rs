//! `track_many` gives what the same `track` calls, one by one, give: the
//! same results item by item, the same sessions after, the same ends. Each
//! test builds two trackers with the same sessions (revived under fixed
//! ids, on clocks at the same time), runs the batch on one and the calls
//! on the other, and compares.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sojourn::{Clock, Error, Hints, Kind, MockClock, SessionEnd, SessionId, Tracker};

const EPOCH_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00.000Z
const MAX_COUNTER: u64 = u32::MAX as u64;

/// A tracker on its own mock clock, and the ends it delivered.
struct Side {
    clock: MockClock,
    tracker: Tracker,
    ends: Arc<Mutex<Vec<SessionEnd>>>,
}

impl Side {
    fn new(max_sessions: usize) -> Side {
        let clock = MockClock::new(EPOCH_MS).unwrap();
        let ends = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&ends);
        let tracker = Tracker::builder()
            .clock(clock.clone())
            .idle_timeout(Duration::from_secs(60))
            .max_sessions(max_sessions)
            .max_counter_hint(MAX_COUNTER)
            .unsigned_tokens(true)
            .sweep_interval(Duration::ZERO)
            .on_end(move |end| sink.lock().unwrap().push(end))
            .build()
            .unwrap();
        Side {
            clock,
            tracker,
            ends,
        }
    }

    /// A live session under `id`, with these counters.
    fn revive(&self, id: SessionId, views: u64, events: u64) {
        let hints = Hints {
            view_sequence: views,
            event_sequence: events,
            ..Hints::default()
        };
        self.tracker.revive(id, hints).unwrap();
    }

    /// Everything observable after the batch: the sessions, stats and ends
    /// (in the order of their times and ids: a sweep goes through the
    /// shards in turn, and each tracker spreads ids over them its own way).
    fn state(&self, ids: &[SessionId]) -> String {
        self.tracker.sweep().unwrap();
        let sessions: Vec<_> = ids
            .iter()
            .map(|&id| self.tracker.peek(id).unwrap())
            .collect();
        let mut ends = self.ends.lock().unwrap();
        ends.sort_by_key(|e| (e.ended_at, e.session.id));
        format!(
            "{}\n{}\n{}",
            serde_json::to_string(&sessions).unwrap(),
            serde_json::to_string(&self.tracker.stats().unwrap()).unwrap(),
            serde_json::to_string(&*ends).unwrap()
        )
    }
}

/// Ids from a counter: the same in both trackers, UUIDv4 so revivable.
fn id(n: u128) -> SessionId {
    let bytes = (n + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    let uuid = uuid::Builder::from_random_bytes(bytes.to_le_bytes()).into_uuid();
    SessionId::from_u128(uuid.as_u128()).unwrap()
}

/// Two trackers with the same state, made by `setup`.
fn pair(max_sessions: usize, setup: impl Fn(&Side)) -> (Side, Side) {
    let (batch, one_by_one) = (Side::new(max_sessions), Side::new(max_sessions));
    setup(&batch);
    setup(&one_by_one);
    (batch, one_by_one)
}

/// Runs `ids` as one batch on one side and as `track` calls on the other;
/// asserts that results and state agree, and returns the results.
fn compare(
    batch: &Side,
    one_by_one: &Side,
    ids: &[SessionId],
    kind: Kind,
) -> Vec<Result<u64, Error>> {
    let got = batch.tracker.track_many(ids, kind).unwrap();
    let want: Vec<_> = ids
        .iter()
        .map(|&id| one_by_one.tracker.track(id, kind))
        .collect();
    assert_eq!(got, want, "results item by item");
    let mut all: Vec<SessionId> = ids.to_vec();
    all.sort();
    all.dedup();
    assert_eq!(batch.state(&all), one_by_one.state(&all), "state after");
    got.into_iter().map(|r| r.map(|t| t.sequence)).collect()
}

#[test]
fn repeated_unknown_and_full_ids_give_what_track_gives() {
    let (a, b, full, unknown) = (id(1), id(2), id(3), id(4));
    let (batch, one_by_one) = pair(1_000, |side| {
        side.revive(a, 2, 1);
        side.revive(b, 0, 0);
        side.revive(full, MAX_COUNTER, 5);
    });
    let ids = [a, b, a, unknown, full, a, b, unknown, full];
    let sequences = compare(&batch, &one_by_one, &ids, Kind::View);
    let not_found = |id| Err(Error::SessionNotFound { id });
    assert_eq!(sequences[..4], [Ok(4), Ok(1), Ok(5), not_found(unknown)]);
    assert!(matches!(
        sequences[4],
        Err(Error::InvalidArgument { name: "kind", .. })
    ));
    assert_eq!(sequences[5..7], [Ok(6), Ok(2)]);
    // The other counter of a full session still counts.
    let sequences = compare(&batch, &one_by_one, &[full, full], Kind::Event);
    assert_eq!(sequences, [Ok(MAX_COUNTER + 6), Ok(MAX_COUNTER + 7)]);
    assert!(compare(&batch, &one_by_one, &[], Kind::View).is_empty());
}

#[test]
fn an_expired_id_gives_not_found_and_its_end_once() {
    let (live, expired) = (id(1), id(2));
    let (batch, one_by_one) = pair(1_000, |side| {
        side.revive(live, 0, 0);
        side.revive(expired, 3, 0);
        side.clock.advance(Duration::from_secs(30)).unwrap();
        side.tracker.track(live, Kind::Event).unwrap();
        side.clock.advance(Duration::from_secs(30)).unwrap();
    });
    let sequences = compare(
        &batch,
        &one_by_one,
        &[expired, live, expired, live],
        Kind::View,
    );
    let not_found = Err(Error::SessionNotFound { id: expired });
    assert_eq!(sequences, [not_found.clone(), Ok(2), not_found, Ok(3)]);
    let ends = batch.ends.lock().unwrap();
    assert_eq!(ends.len(), 1, "one end, though the batch met it twice");
    assert_eq!(ends[0].session.id, expired);
    assert_eq!(ends[0].session.view_sequence, 3);
    assert_eq!(ends[0].ended_at.timestamp_millis(), EPOCH_MS + 60_000);
}

#[test]
fn the_batch_leaves_its_departures_for_on_end() {
    let side = Side::new(1_000);
    let expired = id(1);
    side.revive(expired, 0, 0);
    side.clock.advance(Duration::from_secs(60)).unwrap();
    assert!(side.tracker.track_many(&[expired], Kind::View).unwrap()[0].is_err());
    assert!(side.ends.lock().unwrap().is_empty(), "delivered by sweeps");
    assert_eq!(
        side.tracker.sweep().unwrap(),
        0,
        "it departed in the batch already"
    );
    assert_eq!(side.ends.lock().unwrap().len(), 1, "and its end was queued");
}

/// A tiny deterministic generator, for batches of every shape.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Many random batches over live, idle-expiring, full and unknown ids, on
/// a store of one shard (long runs, cut at the lock's bound) and on one of
/// many shards (runs broken at every change of shard).
#[test]
fn random_batches_agree_with_one_by_one_tracks() {
    for max_sessions in [1_000, 1_000_000] {
        let ids: Vec<SessionId> = (0..40).map(id).collect();
        let (batch, one_by_one) = pair(max_sessions, |side| {
            for (n, &id) in ids[..30].iter().enumerate() {
                side.revive(id, if n % 10 == 0 { MAX_COUNTER } else { 0 }, 0);
            }
        });
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for round in 0..60 {
            let len = [0, 1, 5, 64, 65, 300][rng.below(6)];
            // Long runs of one id as well as scattered ones.
            let batch_ids: Vec<SessionId> = (0..len)
                .map(|i| {
                    ids[if round % 3 == 0 {
                        i % 2
                    } else {
                        rng.below(ids.len())
                    }]
                })
                .collect();
            let kind = [Kind::View, Kind::Event][rng.below(2)];
            compare(&batch, &one_by_one, &batch_ids, kind);
            // Now and then time passes: sessions not tracked expire.
            let seconds = [0, 1, 20][rng.below(3)];
            batch.clock.advance(Duration::from_secs(seconds)).unwrap();
            one_by_one
                .clock
                .advance(Duration::from_secs(seconds))
                .unwrap();
        }
        assert!(
            batch.tracker.stats().unwrap().ended.idle > 0,
            "some ids expired on the way"
        );
    }
}

/// A clock that counts how often it is read.
struct Counting(MockClock, Arc<AtomicUsize>);

impl Clock for Counting {
    fn now_ms(&self) -> i64 {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.now_ms()
    }
}

#[test]
fn the_clock_is_read_once_per_batch() {
    let reads = Arc::new(AtomicUsize::new(0));
    let tracker = Tracker::builder()
        .clock(Counting(
            MockClock::new(EPOCH_MS).unwrap(),
            Arc::clone(&reads),
        ))
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap();
    let ids: Vec<SessionId> = (0..100)
        .map(|_| tracker.start(None, None).unwrap().id)
        .collect();
    let before = reads.load(Ordering::SeqCst);
    let results = tracker.track_many(&ids, Kind::View).unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(reads.load(Ordering::SeqCst) - before, 1);
}
