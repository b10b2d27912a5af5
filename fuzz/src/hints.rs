//! Counter hints, as a returning client reports them: any numbers, any
//! `max_counter_hint`, any id age. A hint is cut down to the bound, never
//! refused; counters never go back; a counter never passes `u32::MAX`.

use std::time::Duration;

use arbitrary::Unstructured;
use sojourn::{Hints, Kind, MockClock, Outcome, SessionId, Tracker};

use crate::{EPOCH_MS, SECRETS};

const DAY_MS: i64 = 86_400_000;

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let bound: u64 = match u.int_in_range(0..=2u8).unwrap_or(0) {
        0 => u.int_in_range(0..=1_000).unwrap_or(0),
        1 => u64::from(u32::MAX) - u.int_in_range(0..=3).unwrap_or(0),
        _ => u.arbitrary().unwrap_or(0),
    };
    let built = Tracker::builder()
        .clock(MockClock::new(EPOCH_MS).unwrap())
        .sweep_interval(Duration::ZERO)
        .secret(SECRETS[0])
        .max_counter_hint(bound)
        .build();
    let t = match built {
        Ok(t) => t,
        Err(e) => {
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            assert!(bound > u64::from(u32::MAX), "{bound} refused");
            return;
        }
    };

    // A UUIDv7 from up to two lifetimes ago to two minutes ahead.
    let age_ms: i64 = u.int_in_range(-120_000..=2 * DAY_MS).unwrap_or(0);
    let random: u128 = u.arbitrary().unwrap_or(1);
    let ms = (EPOCH_MS - age_ms) as u128;
    let bits = (ms << 80)
        | (0x7 << 76)
        | (((random >> 64) & 0xfff) << 64)
        | (0b10 << 62)
        | (random & ((1 << 62) - 1));
    let id = SessionId::from_u128(bits).unwrap();
    assert_eq!(id.v7_unix_ms(), Some(ms as i64));
    let acceptable = (-60_000..DAY_MS).contains(&age_ms);

    let views: u64 = u.arbitrary().unwrap_or(0);
    let events: u64 = u.arbitrary().unwrap_or(0);
    let hints = Hints {
        view_sequence: views,
        event_sequence: events,
        ..Hints::default()
    };
    let (s, outcome) = t.resume(Some(&t.token(id)), hints).unwrap();
    if acceptable {
        assert_eq!((outcome, s.id), (Outcome::Revived, id));
        assert_eq!(s.view_sequence, views.min(bound));
        assert_eq!(s.event_sequence, events.min(bound));
        let clamped = u64::from(views > bound || events > bound);
        assert_eq!(t.stats().unwrap().hints_clamped, clamped);
    } else {
        assert_eq!(outcome, Outcome::Started);
        assert_eq!(s.previous_id, Some(id));
        assert_eq!((s.view_sequence, s.event_sequence), (0, 0));
    }

    // Tracks: one more each, or refused at the limit with nothing changed.
    for _ in 0..u.int_in_range(0..=4u8).unwrap_or(0) {
        let kind = if u.arbitrary().unwrap_or(true) {
            Kind::View
        } else {
            Kind::Event
        };
        let before = t.peek(s.id).unwrap().unwrap();
        match t.track(s.id, kind) {
            Ok(tick) => {
                let (v, e) = (before.view_sequence, before.event_sequence);
                let want = match kind {
                    Kind::View => (v + 1, e),
                    Kind::Event => (v, e + 1),
                };
                assert_eq!((tick.view_sequence, tick.event_sequence), want);
                assert_eq!(tick.sequence, want.0 + want.1);
            }
            Err(e) => {
                assert_eq!(e.code(), "INVALID_ARGUMENT");
                let counter = match kind {
                    Kind::View => before.view_sequence,
                    Kind::Event => before.event_sequence,
                };
                assert_eq!(counter, u64::from(u32::MAX));
                let after = t.peek(s.id).unwrap().unwrap();
                assert_eq!(
                    (after.view_sequence, after.event_sequence),
                    (before.view_sequence, before.event_sequence)
                );
            }
        }
    }

    // Revived again while live: the counters never go back.
    let before = t.peek(s.id).unwrap().unwrap();
    let again = Hints {
        view_sequence: u.arbitrary().unwrap_or(0),
        event_sequence: u.arbitrary().unwrap_or(0),
        ..Hints::default()
    };
    let (hv, he) = (again.view_sequence, again.event_sequence);
    let after = t.revive(s.id, again).unwrap();
    assert_eq!(after.view_sequence, before.view_sequence.max(hv.min(bound)));
    assert_eq!(
        after.event_sequence,
        before.event_sequence.max(he.min(bound))
    );
}
