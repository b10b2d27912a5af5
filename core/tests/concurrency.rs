//! Many threads on the same sessions: no tick lost or duplicated, every
//! departure reported exactly once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sojourn::{EndReason, Kind, MockClock, SessionId, Tick, Tracker};

#[test]
fn concurrent_tracks_never_share_or_lose_a_tick() {
    const THREADS: usize = 8;
    const TRACKS: usize = 5_000;
    let tracker = Tracker::builder().build().unwrap();
    let ids: Vec<SessionId> = (0..4)
        .map(|_| tracker.start(None, None).unwrap().id)
        .collect();

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let tracker = tracker.clone();
            let ids = ids.clone();
            thread::spawn(move || {
                let mut seen = Vec::with_capacity(TRACKS);
                for i in 0..TRACKS {
                    let id = ids[(i + t) % ids.len()];
                    let kind = kind_of(i + t);
                    seen.push((id, kind, tracker.track(id, kind).unwrap()));
                }
                seen
            })
        })
        .collect();
    let all: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(all.len(), THREADS * TRACKS);
    assert_each_tick_once(&tracker, &ids, &all);
}

/// The same with batches: each spans many shards (or, with a small
/// bound, is one long run in the only shard), repeats ids, and holds an id
/// that is not live.
#[test]
fn concurrent_batches_never_share_or_lose_a_tick() {
    const THREADS: usize = 8;
    const BATCHES: usize = 200;
    const LEN: usize = 100;
    for max_sessions in [1_000, 1_000_000] {
        let tracker = Tracker::builder()
            .max_sessions(max_sessions)
            .build()
            .unwrap();
        let ids: Vec<SessionId> = (0..24)
            .map(|_| tracker.start(None, None).unwrap().id)
            .collect();
        let unknown = SessionId::parse("6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f").unwrap();

        let all: Vec<_> = thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (tracker, ids) = (&tracker, &ids);
                    s.spawn(move || {
                        let mut seen = Vec::new();
                        for b in 0..BATCHES {
                            let mut batch: Vec<SessionId> = (0..LEN)
                                .map(|i| ids[(i * (t + 1) + b) % ids.len()])
                                .collect();
                            batch.insert(b % LEN, unknown);
                            let kind = kind_of(b + t);
                            let results = tracker.track_many(&batch, kind).unwrap();
                            assert_eq!(results.len(), batch.len());
                            for (&id, result) in batch.iter().zip(results) {
                                match result {
                                    Ok(tick) => seen.push((id, kind, tick)),
                                    Err(e) => {
                                        assert_eq!((id, e.code()), (unknown, "SESSION_NOT_FOUND"))
                                    }
                                }
                            }
                        }
                        seen
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(all.len(), THREADS * BATCHES * LEN);
        assert_each_tick_once(&tracker, &ids, &all);
    }
}

fn kind_of(n: usize) -> Kind {
    if n % 3 == 0 { Kind::Event } else { Kind::View }
}

/// Every tick of each session seen once: its sequences are 1 to n, its
/// view numbers 1 to the number of views; and the counters add up.
fn assert_each_tick_once(tracker: &Tracker, ids: &[SessionId], all: &[(SessionId, Kind, Tick)]) {
    for id in ids {
        let ticks: Vec<_> = all.iter().filter(|(i, _, _)| i == id).collect();
        assert!(
            ticks
                .iter()
                .all(|(_, _, t)| t.sequence == t.view_sequence + t.event_sequence)
        );
        let sequences: HashSet<u64> = ticks.iter().map(|(_, _, t)| t.sequence).collect();
        let views: HashSet<u64> = ticks
            .iter()
            .filter(|(_, k, _)| *k == Kind::View)
            .map(|(_, _, t)| t.view_sequence)
            .collect();
        let n = ticks.len() as u64;
        assert_eq!(sequences, (1..=n).collect(), "every sequence once");
        let n_views = ticks.iter().filter(|(_, k, _)| *k == Kind::View).count() as u64;
        assert_eq!(views, (1..=n_views).collect(), "every view number once");
        let session = tracker.peek(*id).unwrap().unwrap();
        assert_eq!(session.sequence, n);
        assert_eq!(session.view_sequence, n_views);
    }
    let stats = tracker.stats().unwrap();
    assert_eq!(stats.views + stats.events, all.len() as u64);
}

#[test]
fn racing_end_and_expiry_report_each_session_once() {
    let clock = MockClock::new(1_767_225_600_000).unwrap();
    let ended = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ended);
    let tracker = Tracker::builder()
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(60))
        .sweep_interval(Duration::ZERO)
        .on_end(move |end| sink.lock().unwrap().push((end.session.id, end.reason)))
        .build()
        .unwrap();
    let ids: Vec<SessionId> = (0..2_000)
        .map(|_| tracker.start(None, None).unwrap().id)
        .collect();
    clock.advance(Duration::from_secs(60)).unwrap();

    thread::scope(|s| {
        for part in ids.chunks(500) {
            let tracker = &tracker;
            s.spawn(move || {
                for id in part {
                    tracker.end(*id).unwrap();
                }
            });
        }
        for _ in 0..2 {
            s.spawn(|| tracker.sweep().unwrap());
        }
    });
    tracker.sweep().unwrap();

    let ended = ended.lock().unwrap();
    let unique: HashSet<SessionId> = ended.iter().map(|(id, _)| *id).collect();
    assert_eq!(ended.len(), ids.len(), "one end per session");
    assert_eq!(unique.len(), ids.len());
    // They were all due: whoever got there first, the reason is idle.
    assert!(ended.iter().all(|(_, reason)| *reason == EndReason::Idle));
}

#[test]
fn capacity_holds_across_shards_and_evicts_exactly_once() {
    let evicted = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&evicted);
    let tracker = Tracker::builder()
        .max_sessions(20_000)
        .sweep_interval(Duration::ZERO)
        .on_end(move |end| sink.lock().unwrap().push((end.session.id, end.reason)))
        .build()
        .unwrap();
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..25_000 {
                    tracker.start(None, None).unwrap();
                }
            });
        }
    });
    tracker.sweep().unwrap();
    let live = tracker.len().unwrap();
    assert!(live <= 20_000, "{live} live");
    let evicted = evicted.lock().unwrap();
    assert_eq!(live + evicted.len(), 50_000);
    assert!(
        evicted
            .iter()
            .all(|(_, reason)| *reason == EndReason::Evicted)
    );
    let unique: HashSet<SessionId> = evicted.iter().map(|(id, _)| *id).collect();
    assert_eq!(unique.len(), evicted.len());
    assert_eq!(tracker.stats().unwrap().ended.evicted, evicted.len() as u64);
}
