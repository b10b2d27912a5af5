//! A failing store surfaces as `Error::Store` from every call that reaches
//! it, changes nothing, and a failing background sweep is warned once.

use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sojourn::store::{FAULTY_ADDRESS, FaultSwitch, FaultyStore, Store};
use sojourn::{Config, Error, Hints, Kind, MemoryStore, MockClock, Tracker};

fn tracker(switch: &FaultSwitch, clock: &MockClock, warnings: &Arc<Mutex<Vec<String>>>) -> Tracker {
    let switch = switch.clone();
    let sink = Arc::clone(warnings);
    Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .on_warning(move |w| sink.lock().unwrap().push(w.code.to_owned()))
        .store(move |c: &Config| {
            let inner: Arc<dyn Store> = Arc::new(MemoryStore::new(c.max_sessions, c.max_dormant));
            Ok(Arc::new(FaultyStore::new(inner, switch.clone())) as Arc<dyn Store>)
        })
        .build()
        .unwrap()
}

fn is_store_error<T: std::fmt::Debug>(what: &str, result: sojourn::Result<T>) {
    match result {
        Err(err @ Error::Store { .. }) => {
            assert_eq!(err.code(), "STORE_ERROR", "{what}");
            assert!(err.to_string().contains(FAULTY_ADDRESS), "{what}: {err}");
            let source = err.source().expect("the store's own error is kept");
            assert!(source.to_string().contains("switched to fail"), "{what}");
        }
        other => panic!("{what}: expected a store error, got {other:?}"),
    }
}

#[test]
fn every_store_call_fails_typed_and_changes_nothing() {
    let switch = FaultSwitch::default();
    let clock = MockClock::new(1_767_225_600_000).unwrap();
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let t = tracker(&switch, &clock, &warnings);
    let a = t.start(Some("u"), None).unwrap();
    t.track(a.id, Kind::View).unwrap();
    let before = (t.sessions(None).unwrap(), t.stats().unwrap());

    switch.fail(true);
    clock.advance(Duration::from_secs(1)).unwrap();
    is_store_error("start", t.start(None, None));
    is_store_error("get", t.get(a.id));
    is_store_error("peek", t.peek(a.id));
    is_store_error("exists", t.exists(a.id));
    is_store_error("track", t.track(a.id, Kind::View));
    is_store_error("track_many", t.track_many(&[a.id, a.id], Kind::Event));
    is_store_error("identify", t.identify(a.id, "v"));
    is_store_error("set_attrs", t.set_attrs(a.id, Default::default()));
    is_store_error("end", t.end(a.id));
    is_store_error("sessions", t.sessions(None));
    is_store_error("sessions of a user", t.sessions(Some("u")));
    is_store_error("count", t.count(Some("u")));
    is_store_error("len", t.len());
    is_store_error("is_empty", t.is_empty());
    is_store_error("end_user", t.end_user("u"));
    is_store_error("forget_user", t.forget_user("u"));
    is_store_error("end_all", t.end_all());
    is_store_error("reassign_user", t.reassign_user("u", "v"));
    is_store_error("stats", t.stats());
    is_store_error("sweep", t.sweep());
    is_store_error("resume", t.resume(Some(&a.token), Hints::default()));
    is_store_error("revive", t.revive(a.id, Hints::default()));
    // What needs no store still answers.
    assert_eq!(t.token(a.id), a.id.to_string());

    switch.fail(false);
    let after = (t.sessions(None).unwrap(), t.stats().unwrap());
    assert_eq!(after, before, "a failed call changed nothing");
    assert_eq!(t.track(a.id, Kind::View).unwrap().view_sequence, 2);
}

#[test]
fn a_failing_sweep_is_warned_once_until_the_store_answers() {
    let switch = FaultSwitch::default();
    let clock = MockClock::new(1_767_225_600_000).unwrap();
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let t = tracker(&switch, &clock, &warnings);
    let store_errors = || {
        warnings
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == "STORE_ERROR")
            .count()
    };
    switch.fail(true);
    for _ in 0..3 {
        assert!(t.sweep().is_err());
    }
    assert_eq!(store_errors(), 1);
    switch.fail(false);
    t.sweep().unwrap();
    switch.fail(true);
    assert!(t.sweep().is_err());
    assert_eq!(store_errors(), 2, "said again after the store came back");
    // Close still finishes: its last sweep fails, it does not hang or panic.
    assert_eq!(t.close(), 0);
}

/// `close()` makes the last sweep; the last handle going after it only
/// delivers what calls made since left pending, and never reaches the
/// store again (a garbage-collected tracker of a binding would otherwise
/// wait on a remote store from wherever it is freed).
#[test]
fn dropping_a_closed_tracker_reaches_the_store_no_more() {
    let switch = FaultSwitch::default();
    let clock = MockClock::new(1_767_225_600_000).unwrap();
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let ends = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ends);
    let t = {
        let switch = switch.clone();
        let warned = Arc::clone(&warnings);
        Tracker::builder()
            .unsigned_tokens(true)
            .clock(clock.clone())
            .sweep_interval(Duration::ZERO)
            .on_end(move |end| sink.lock().unwrap().push(end.session.id))
            .on_warning(move |w| warned.lock().unwrap().push(w.code.to_owned()))
            .store(move |c: &Config| {
                let inner: Arc<dyn Store> = Arc::new(MemoryStore::new(c.max_sessions, 1));
                Ok(Arc::new(FaultyStore::new(inner, switch.clone())) as Arc<dyn Store>)
            })
            .build()
            .unwrap()
    };
    let a = t.start(None, None).unwrap();
    assert_eq!(t.close(), 0);
    // A call after close: its end waits for delivery.
    t.end(a.id).unwrap().expect("live");
    switch.fail(true);
    drop(t);
    assert_eq!(*ends.lock().unwrap(), [a.id], "delivered at the last drop");
    assert!(
        warnings.lock().unwrap().is_empty(),
        "no sweep at the last drop: {:?}",
        warnings.lock().unwrap()
    );
}
