//! The fuzz targets' bodies: each `run` takes the fuzzer's bytes, drives
//! the public API with them as a client or a disk would, and panics only
//! when a promise is broken (a panic inside Sojourn is one). An error is
//! fine when it is typed and changed nothing.

pub mod attrs;
pub mod collect;
pub mod hints;
pub mod snapshot;
pub mod token;

use std::time::Duration;

use sojourn::{MockClock, Tracker};

/// Two keys: the first signs, both verify (rotation).
pub const SECRETS: [&str; 2] = [
    "the fuzz targets' first secret",
    "the fuzz targets' second secret",
];

/// The mock clock's start: 2026-01-01.
pub const EPOCH_MS: i64 = 1_767_225_600_000;

/// A small tracker on a mock clock, with no driver thread: signed with
/// both keys, or with unsigned tokens on purpose.
pub fn tracker(signed: bool) -> (Tracker, MockClock) {
    let clock = MockClock::new(EPOCH_MS).expect("a valid time");
    let builder = Tracker::builder()
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .max_sessions(64)
        .max_dormant(64);
    let builder = if signed {
        builder.secrets(SECRETS)
    } else {
        builder.unsigned_tokens(true)
    };
    (builder.build().expect("valid options"), clock)
}
