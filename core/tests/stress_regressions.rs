//! Bugs that `make stress` (stress/) found, each held by a small test.
//! Run under scripts/with-redis (make test does).

use std::sync::{Arc, Mutex};
use std::time::Duration;

mod support;

use sojourn::{EndReason, MockClock, SessionEnd, Tracker};
use support::Redis;

const EPOCH_MS: i64 = 1_767_225_600_000;

/// `stress/ redis` with Redis restarted: a sweep whose departure was
/// decided but whose write failed (Redis gone mid-step) still reported
/// the end; the session stayed live in Redis, departed again at the next
/// sweep, and its end was reported twice. Here the step fails on the
/// dormant set (made a string, so that Redis refuses the step's command
/// after the departure is decided): no end may be reported for it, and
/// the next sweep, with Redis answering, reports it once.
#[test]
fn a_departure_whose_step_failed_is_not_reported() {
    let prefix = support::unique_prefix("stress-failed-step");
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends: Arc<Mutex<Vec<SessionEnd>>> = Arc::default();
    let sink = Arc::clone(&ends);
    let builder = Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .idle_timeout(Duration::from_secs(60))
        .sweep_interval(Duration::ZERO)
        .on_warning(|_| {})
        .on_end(move |end| sink.lock().unwrap().push(end));
    let tracker = support::on(builder, Redis::Single, &prefix)
        .build()
        .unwrap();
    let id = tracker.start(None, None).unwrap().id;
    clock.advance(Duration::from_secs(61)).unwrap();

    let client = redis::Client::open(support::address(Redis::Single)).unwrap();
    let mut redis = client.get_connection().unwrap();
    let dormant = format!("{prefix}:dormant");
    redis::cmd("SET")
        .arg(&dormant)
        .arg("not a sorted set")
        .exec(&mut redis)
        .unwrap();
    let failed = tracker.sweep().unwrap_err();
    assert_eq!(failed.code(), "STORE_ERROR");
    tracker.close();
    assert!(
        ends.lock().unwrap().is_empty(),
        "an end reported for a departure that was not made: {:?}",
        ends.lock().unwrap()
    );

    redis::cmd("DEL").arg(&dormant).exec(&mut redis).unwrap();
    assert_eq!(tracker.sweep().unwrap(), 1);
    let ends = ends.lock().unwrap();
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!((ends[0].session.id, ends[0].reason), (id, EndReason::Idle));
}
