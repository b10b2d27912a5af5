//! A store's export, imported into another store, is the same sessions:
//! live and dormant, with users (the user index rebuilt), attributes,
//! counters and linkage. What snapshots will stand on.

use std::sync::Arc;
use std::time::Duration;

use sojourn::store::{Cx, Store};
use sojourn::{
    Config, Entry, Hints, Kind, MemoryStore, MockClock, ReferenceStore, Tracker, attrs_from_json,
};

const EPOCH_MS: i64 = 1_767_225_600_000;

fn entries(store: &dyn Store) -> Vec<Entry> {
    let mut all = Vec::new();
    for part in 0..store.parts() {
        store.export(part, &mut |e| all.push(e.to_entry())).unwrap();
    }
    let key = |e: &Entry| match e {
        Entry::Live(id, _) => (0, *id),
        Entry::Dormant(id, _) => (1, *id),
    };
    all.sort_by_key(key);
    all
}

fn tracker_on(store: Arc<dyn Store>, clock: &MockClock) -> Tracker {
    Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .store(move |_: &Config| Ok(Arc::clone(&store)))
        .build()
        .unwrap()
}

#[test]
fn an_export_imported_elsewhere_is_the_same_sessions() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let source: Arc<dyn Store> = Arc::new(MemoryStore::new(10_000, 10_000));
    let t = tracker_on(Arc::clone(&source), &clock);
    let attrs = attrs_from_json(serde_json::json!({ "entry": "/pricing" })).unwrap();
    let mut ids = Vec::new();
    for i in 0..300 {
        let user = format!("user-{}", i % 7);
        let s = t.start(Some(&user), Some(attrs.clone())).unwrap();
        t.track(s.id, Kind::View).unwrap();
        ids.push(s.id);
    }
    for id in &ids[..100] {
        t.end(*id).unwrap();
    }
    // Linked: a new session after an ended one.
    let (linked, _) = t
        .resume(Some(&ids[0].to_string()), Hints::default())
        .unwrap();
    assert_eq!(linked.previous_id, Some(ids[0]));
    let exported = entries(source.as_ref());
    let live = exported
        .iter()
        .filter(|e| matches!(e, Entry::Live(..)))
        .count();
    assert_eq!((live, exported.len() - live), (201, 100));

    for target in [
        Arc::new(ReferenceStore::new(10_000, 10_000)) as Arc<dyn Store>,
        Arc::new(MemoryStore::new(10_000, 10_000)) as Arc<dyn Store>,
    ] {
        let config = Config::default();
        let rules = sojourn::Rules::from_config(&config).unwrap();
        let mut cx = Cx::new(EPOCH_MS, &rules);
        for entry in exported.clone() {
            target.import(entry, &mut cx).unwrap();
        }
        assert!(
            cx.departed.is_empty(),
            "nothing departs on import under capacity"
        );
        assert_eq!(entries(target.as_ref()), exported);
        let copy = tracker_on(Arc::clone(&target), &clock);
        assert_eq!(
            copy.count(Some("user-3")).unwrap(),
            t.count(Some("user-3")).unwrap()
        );
        let mut a = copy.sessions(Some("user-3")).unwrap();
        let mut b = t.sessions(Some("user-3")).unwrap();
        a.sort_by_key(|s| s.id);
        b.sort_by_key(|s| s.id);
        assert_eq!(a, b, "the user index is rebuilt");
        // The dormant records came too: their users can be logged out.
        assert_eq!(
            copy.end_user("user-1").unwrap(),
            t.sessions(Some("user-1")).unwrap().len()
        );
    }
}
