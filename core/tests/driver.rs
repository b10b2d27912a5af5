//! The background driver, with the real clock: ends arrive without any
//! call, a panicking callback does not stop it, and it stops with the
//! tracker. Waits poll with a deadline instead of sleeping a fixed time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sojourn::{EndReason, SessionEnd, Tracker};

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn ends_arrive_without_traffic_and_a_panicking_callback_is_survived() {
    let ends: Arc<Mutex<Vec<SessionEnd>>> = Arc::default();
    let sink = Arc::clone(&ends);
    let tracker = Tracker::builder()
        .idle_timeout(Duration::from_millis(30))
        .sweep_interval(Duration::from_millis(10))
        .on_end(move |end| {
            let first = end.session.user_id.as_deref() == Some("first");
            sink.lock().unwrap().push(end);
            assert!(!first, "the callback fails for the first session");
        })
        .build()
        .unwrap();
    let first = tracker.start(Some("first"), None).unwrap();
    wait_until("the first end", || ends.lock().unwrap().len() == 1);
    let second = tracker.start(Some("second"), None).unwrap();
    wait_until("the second end", || ends.lock().unwrap().len() == 2);
    let ends = ends.lock().unwrap();
    assert_eq!(ends[0].session.id, first.id);
    assert_eq!(ends[1].session.id, second.id);
    assert!(ends.iter().all(|e| e.reason == EndReason::Idle));
}

#[test]
fn dropping_the_last_handle_stops_the_driver() {
    let token = Arc::new(());
    let held = Arc::clone(&token);
    let tracker = Tracker::builder()
        .sweep_interval(Duration::from_millis(5))
        .on_end(move |_| {
            let _ = &held;
        })
        .build()
        .unwrap();
    let clone = tracker.clone();
    drop(tracker);
    assert_eq!(Arc::strong_count(&token), 2, "a clone keeps the tracker");
    drop(clone);
    // Inner (and the callback it owns) is freed only once the driver let go.
    wait_until("the tracker to be freed", || Arc::strong_count(&token) == 1);
}

#[test]
fn close_stops_background_delivery_but_sweep_still_delivers() {
    let delivered = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&delivered);
    let tracker = Tracker::builder()
        .idle_timeout(Duration::from_millis(10))
        .sweep_interval(Duration::from_millis(5))
        .on_end(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    tracker.close();
    tracker.start(None, None).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(delivered.load(Ordering::SeqCst), 0, "no driver after close");
    assert_eq!(tracker.sweep().unwrap(), 1);
    assert_eq!(delivered.load(Ordering::SeqCst), 1);
}

#[test]
fn a_callback_may_call_back_into_the_tracker() {
    let cell: Arc<OnceLock<Tracker>> = Arc::default();
    let inside = Arc::clone(&cell);
    let seen = Arc::new(AtomicUsize::new(0));
    let seen_inside = Arc::clone(&seen);
    let tracker = Tracker::builder()
        .sweep_interval(Duration::ZERO)
        .on_end(move |end| {
            let t = inside.get().unwrap();
            // Re-entrant calls: neither deadlocks nor redelivers.
            t.sweep().unwrap();
            assert!(t.peek(end.session.id).unwrap().is_none());
            seen_inside.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    cell.set(tracker.clone()).unwrap();
    let a = tracker.start(None, None).unwrap();
    let b = tracker.start(None, None).unwrap();
    tracker.end(a.id).unwrap();
    tracker.end(b.id).unwrap();
    tracker.sweep().unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[test]
fn an_explicit_end_is_delivered_without_waiting_for_the_next_sweep() {
    let delivered = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&delivered);
    // A sweep an hour away: only the nudge of `end` can deliver in time.
    let tracker = Tracker::builder()
        .sweep_interval(Duration::from_secs(3600))
        .on_end(move |end| {
            assert_eq!(end.reason, EndReason::Ended);
            count.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let a = tracker.start(Some("u"), None).unwrap();
    tracker.start(Some("u"), None).unwrap();
    tracker.start(None, None).unwrap();
    tracker.end(a.id).unwrap();
    wait_until("the end of a", || delivered.load(Ordering::SeqCst) == 1);
    assert_eq!(tracker.end_user("u").unwrap(), 1);
    wait_until("the end of the user's other session", || {
        delivered.load(Ordering::SeqCst) == 2
    });
    assert_eq!(tracker.end_all().unwrap(), 1);
    wait_until("the end of the last session", || {
        delivered.load(Ordering::SeqCst) == 3
    });
}

#[test]
fn close_returns_while_other_threads_end_sessions_faster_than_the_callback_takes_them() {
    // The callback takes 1 ms an end; the producer ends one every ~0.1 ms,
    // so the queue never empties. A delivery that ran until the queue was
    // empty would never return; one batch a delivery bounds `close` to the
    // batch in flight and the one that piled up meanwhile (about 0.2 s and
    // 2 s here).
    let tracker = Tracker::builder()
        .sweep_interval(Duration::from_millis(1))
        .on_end(|_| std::thread::sleep(Duration::from_millis(1)))
        .build()
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let (tracker, stop) = (tracker.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let s = tracker.start(None, None).unwrap();
                tracker.end(s.id).unwrap();
                std::thread::sleep(Duration::from_micros(100));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    let (done, closed) = std::sync::mpsc::channel();
    let closer = {
        let tracker = tracker.clone();
        std::thread::spawn(move || {
            tracker.close();
            let _ = done.send(());
        })
    };
    let result = closed.recv_timeout(Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    closer.join().unwrap();
    assert!(
        result.is_ok(),
        "close did not return while the queue kept refilling"
    );
}

#[test]
fn a_scope_wraps_each_batch_and_a_failing_scope_loses_nothing() {
    thread_local!(static IN_SCOPE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    let scopes = Arc::new(AtomicUsize::new(0));
    let inside = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    let (count_scopes, count_inside, count_total) =
        (Arc::clone(&scopes), Arc::clone(&inside), Arc::clone(&total));
    let tracker = Tracker::builder()
        .sweep_interval(Duration::ZERO)
        .on_end(move |_| {
            count_total.fetch_add(1, Ordering::SeqCst);
            if IN_SCOPE.with(|s| s.get()) {
                count_inside.fetch_add(1, Ordering::SeqCst);
            }
        })
        .on_end_scope(move |run| {
            // The second batch's scope fails before running it.
            if count_scopes.fetch_add(1, Ordering::SeqCst) == 1 {
                panic!("the scope fails");
            }
            IN_SCOPE.with(|s| s.set(true));
            run();
            IN_SCOPE.with(|s| s.set(false));
        })
        .build()
        .unwrap();
    for _ in 0..3 {
        let s = tracker.start(None, None).unwrap();
        tracker.end(s.id).unwrap();
    }
    tracker.sweep().unwrap();
    assert_eq!(
        (scopes.load(Ordering::SeqCst), inside.load(Ordering::SeqCst)),
        (1, 3),
        "one scope for the batch of three"
    );
    let s = tracker.start(None, None).unwrap();
    tracker.end(s.id).unwrap();
    tracker.sweep().unwrap();
    assert_eq!(scopes.load(Ordering::SeqCst), 2);
    assert_eq!(
        inside.load(Ordering::SeqCst),
        3,
        "delivered, outside the failed scope"
    );
    let s = tracker.start(None, None).unwrap();
    tracker.end(s.id).unwrap();
    tracker.sweep().unwrap();
    assert_eq!(
        (total.load(Ordering::SeqCst), inside.load(Ordering::SeqCst)),
        (5, 4)
    );
}

/// A tracker with no driver, whose `on_end` records the ids it gets.
fn recording(max_pending: usize) -> (Tracker, Arc<Mutex<Vec<sojourn::SessionId>>>) {
    let got: Arc<Mutex<Vec<sojourn::SessionId>>> = Arc::default();
    let sink = Arc::clone(&got);
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .max_pending_ends(max_pending)
        .on_end(move |end| sink.lock().unwrap().push(end.session.id))
        .build()
        .unwrap();
    (tracker, got)
}

#[test]
fn pending_ends_are_bounded_and_the_oldest_are_dropped_first() {
    let (tracker, got) = recording(100);
    let ids: Vec<_> = (0..1_000)
        .map(|_| {
            let id = tracker.start(None, None).unwrap().id;
            tracker.end(id).unwrap();
            id
        })
        .collect();
    let stats = tracker.stats().unwrap();
    assert_eq!((stats.ends_pending, stats.ends_dropped), (100, 900));
    tracker.sweep().unwrap();
    assert_eq!(*got.lock().unwrap(), ids[900..], "the newest 100, in order");
    assert_eq!(tracker.stats().unwrap().ends_pending, 0);
}

#[test]
fn close_waits_a_bounded_time_and_reports_what_it_dropped() {
    let delivered = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&delivered);
    let warnings: Arc<Mutex<Vec<sojourn::Warning>>> = Arc::default();
    let said = Arc::clone(&warnings);
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .on_warning(move |w| said.lock().unwrap().push(w.clone()))
        .close_timeout(Duration::from_millis(200))
        .on_end(move |_| {
            std::thread::sleep(Duration::from_millis(20));
            count.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    for _ in 0..100 {
        let s = tracker.start(None, None).unwrap();
        tracker.end(s.id).unwrap();
    }
    let began = Instant::now();
    let dropped = tracker.close();
    let took = began.elapsed();
    let delivered = delivered.load(Ordering::SeqCst);
    assert!(took < Duration::from_secs(2), "close took {took:?}");
    assert!((1..100).contains(&delivered), "{delivered} delivered");
    assert_eq!(dropped + delivered, 100);
    let stats = tracker.stats().unwrap();
    assert_eq!(
        (stats.ends_dropped, stats.ends_pending),
        (dropped as u64, 0)
    );
    let warnings = warnings.lock().unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, "ENDS_DROPPED");
    assert!(
        warnings[0]
            .message
            .starts_with(&format!("{dropped} session ends"))
    );
}

#[test]
fn close_racing_a_sweep_leaves_nothing_pending() {
    for round in 0..20 {
        let clock = sojourn::MockClock::new(1_767_225_600_000).unwrap();
        let delivered = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&delivered);
        let tracker = Tracker::builder()
            .unsigned_tokens(true)
            .clock(clock.clone())
            .sweep_interval(Duration::ZERO)
            .on_end(move |_| {
                std::thread::sleep(Duration::from_micros(200));
                count.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        for _ in 0..150 {
            tracker.start(None, None).unwrap();
        }
        clock.advance(Duration::from_secs(3600)).unwrap();
        let sweeper = {
            let tracker = tracker.clone();
            std::thread::spawn(move || tracker.sweep().unwrap())
        };
        if round % 2 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(tracker.close(), 0, "round {round}: nothing dropped");
        sweeper.join().unwrap();
        assert_eq!(tracker.stats().unwrap().ends_pending, 0, "round {round}");
        assert_eq!(delivered.load(Ordering::SeqCst), 150, "round {round}");
    }
}

#[test]
fn dropping_the_last_handle_delivers_what_is_pending() {
    let (tracker, got) = recording(1_000);
    let clone = tracker.clone();
    let a = tracker.start(None, None).unwrap().id;
    tracker.end(a).unwrap();
    drop(tracker);
    assert!(got.lock().unwrap().is_empty(), "a clone is still open");
    let b = clone.start(None, None).unwrap().id;
    clone.end(b).unwrap();
    drop(clone);
    assert_eq!(*got.lock().unwrap(), [a, b]);
}

#[test]
fn a_forked_tracker_is_empty_configured_alike_and_leaves_the_parent_alone() {
    let clock = sojourn::MockClock::new(1_767_225_600_000).unwrap();
    let ends: Arc<Mutex<Vec<SessionEnd>>> = Arc::default();
    let sink = Arc::clone(&ends);
    let parent = Tracker::builder()
        .secret("a secret of at least sixteen bytes")
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .on_end(move |end| sink.lock().unwrap().push(end))
        .build()
        .unwrap();
    let held = parent.start(Some("u"), None).unwrap();
    let child = parent.forked().unwrap();
    assert_eq!((child.len().unwrap(), parent.len().unwrap()), (0, 1));
    // Same secret: the parent's token is valid in the child, whose store
    // does not know it: the client's session comes back under its id.
    let (revived, outcome) = child.resume(Some(&held.token), Default::default()).unwrap();
    assert_eq!((revived.id, outcome), (held.id, sojourn::Outcome::Revived));
    assert_eq!(revived.token, held.token);
    // Same clock and callback.
    clock.advance(Duration::from_secs(3600)).unwrap();
    assert_eq!(child.sweep().unwrap(), 1);
    assert_eq!(ends.lock().unwrap().len(), 1);
    assert_eq!(parent.sweep().unwrap(), 1);
    assert_eq!(ends.lock().unwrap().len(), 2);
    // A closed parent makes a closed child.
    parent.close();
    assert!(parent.forked().unwrap().is_closed());
    assert!(!child.is_closed());
}

#[test]
fn a_sweep_interval_under_a_millisecond_is_refused() {
    let build = |d| {
        Tracker::builder()
            .unsigned_tokens(true)
            .sweep_interval(d)
            .build()
    };
    let err = build(Duration::from_nanos(1)).unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(build(Duration::from_micros(999)).is_err());
    assert!(build(Duration::ZERO).is_ok());
    assert!(build(Duration::from_millis(1)).is_ok());
}

#[test]
fn durations_and_times_past_what_languages_hold_are_refused_or_kept_in_range() {
    let century = Duration::from_secs(36_525 * 24 * 3600);
    let refuse = |b: sojourn::TrackerBuilder| b.unsigned_tokens(true).build().unwrap_err().code();
    assert_eq!(
        refuse(Tracker::builder().idle_timeout(century * 2)),
        "INVALID_ARGUMENT"
    );
    assert_eq!(
        refuse(Tracker::builder().retention(Duration::MAX)),
        "INVALID_ARGUMENT"
    );
    assert_eq!(
        refuse(Tracker::builder().close_timeout(Duration::MAX)),
        "INVALID_ARGUMENT"
    );
    assert!(
        Tracker::builder()
            .unsigned_tokens(true)
            .max_lifetime(century)
            .build()
            .is_ok()
    );
    // A clock of one's own that reads past the range: the tracker keeps to
    // the range, and never hands out 1970 for a time it cannot hold.
    struct Far;
    impl sojourn::Clock for Far {
        fn now_ms(&self) -> i64 {
            i64::MAX
        }
    }
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .clock(Far)
        .idle_timeout(century)
        .build()
        .unwrap();
    let s = tracker.start(None, None).unwrap();
    assert_eq!(
        s.started_at.timestamp_millis(),
        sojourn::config::MAX_CLOCK_MS
    );
    assert!(s.expires_at.timestamp_millis() <= sojourn::config::MAX_TIME_MS);
    assert!(s.expires_at > s.started_at);
}

/// A mass expiry in one shard lets go of the lock between rounds: a track
/// on a live session in that shard goes on meanwhile (it once waited for
/// the whole sweep: about a second for a million sessions).
#[test]
fn a_mass_expiry_lets_other_calls_through() {
    let clock = sojourn::MockClock::new(1_767_225_600_000).unwrap();
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .idle_timeout(Duration::from_secs(60))
        .max_dormant(1) // one shard
        .build()
        .unwrap();
    for _ in 0..200_000 {
        tracker.start(None, None).unwrap();
    }
    clock.advance(Duration::from_secs(61)).unwrap();
    let live = tracker.start(None, None).unwrap().id;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sweeper = {
        let (tracker, done) = (tracker.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let n = tracker.sweep().unwrap();
            done.store(true, Ordering::SeqCst);
            n
        })
    };
    let mut during = 0;
    while !done.load(Ordering::SeqCst) {
        tracker.track(live, sojourn::Kind::View).unwrap();
        during += 1;
    }
    assert_eq!(sweeper.join().unwrap(), 200_000);
    assert!(
        during >= 10,
        "only {during} tracks went through during the sweep"
    );
}
