//! Every contender does the same work per operation: checked here on the
//! operations' results (run with `cargo test --release`).

use sojourn_bench::peers::{HashMapPeer, MokaPeer, MokaTunedPeer, SojournCore};
use sojourn_bench::replay::Contender;

const UUID4: u128 = 0x9f1c_2d3e_4b5a_4c6d_8e7f_0a1b_2c3d_4e5f;

fn check<C: Contender>(c: C) {
    let id = c.start();
    assert_eq!(c.track(&id, true), 1);
    assert_eq!(c.track(&id, false), 2);
    assert!(c.get(&id));
    c.identify(&id, "user-1");
    assert!(c.get(&id));
    assert_eq!(c.track(&id, true), 3);

    let key = c.key(UUID4);
    let revived = c.revive_hinted(&key, 3, 5);
    assert!(c.get(&revived));
    assert_eq!(c.track(&revived, true), 9);
    // Reviving a live session leaves it as it is.
    let again = c.revive_hinted(&key, 1, 1);
    assert_eq!(c.track(&again, false), 10);

    let other = c.revive(&c.key(UUID4 ^ 1));
    assert_eq!(c.track(&other, true), 1);
}

#[test]
fn sojourn() {
    check(SojournCore::default());
}

#[test]
fn hashmap() {
    check(HashMapPeer::default());
}

#[test]
fn moka() {
    check(MokaPeer::default());
}

#[test]
fn moka_tuned() {
    check(MokaTunedPeer::default());
}

#[test]
fn moka_tuned_snapshot() {
    let c = MokaTunedPeer::default();
    let id = c.start();
    c.track(&id, true);
    c.track(&id, false);
    c.track(&id, false);
    c.identify(&id, "user-7");
    let s = c.snapshot(id).expect("live");
    assert_eq!((s.id, s.view_sequence, s.event_sequence), (id, 1, 2));
    assert_eq!(s.user_id.as_deref(), Some("user-7"));
    assert!(s.last_seen >= s.started_at);
    assert!(c.snapshot(UUID4).is_none());
}
