//! Many threads on the same sessions: no tick lost or duplicated, every
//! departure reported exactly once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sojourn::{EndReason, Kind, MockClock, SessionId, Tracker};

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
                    let kind = if (i + t) % 3 == 0 {
                        Kind::Event
                    } else {
                        Kind::View
                    };
                    let tick = tracker.track(id, kind).unwrap();
                    assert_eq!(tick.sequence, tick.view_sequence + tick.event_sequence);
                    seen.push((id, kind, tick));
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

    for id in &ids {
        let ticks: Vec<_> = all.iter().filter(|(i, _, _)| i == id).collect();
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
        let session = tracker.peek(*id).unwrap();
        assert_eq!(session.sequence, n);
        assert_eq!(session.view_sequence, n_views);
    }
    assert_eq!(
        tracker.stats().views + tracker.stats().events,
        (THREADS * TRACKS) as u64
    );
}

#[test]
fn racing_end_and_expiry_report_each_session_once() {
    let clock = MockClock::new(1_767_225_600_000);
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
    clock.advance(Duration::from_secs(60));

    thread::scope(|s| {
        for part in ids.chunks(500) {
            let tracker = &tracker;
            s.spawn(move || {
                for id in part {
                    tracker.end(*id);
                }
            });
        }
        for _ in 0..2 {
            s.spawn(|| tracker.sweep());
        }
    });
    tracker.sweep();

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
    tracker.sweep();
    let live = tracker.len();
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
    assert_eq!(tracker.stats().ended.evicted, evicted.len() as u64);
}
