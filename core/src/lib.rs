//! Sojourn tracks analytics sessions: each live session with its view and
//! event counters, its user, timestamps and attributes; expiry by idle time,
//! lifetime and capacity; revival of sessions the server forgot, with their
//! original id and counters; and one end summary per departure.
//!
//! Start with [`Tracker::builder`]. The rules are in `docs/semantics.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attrs;
mod builder;
mod clock;
pub mod config;
mod driver;
mod ends;
mod error;
mod id;
mod model;
mod records;
mod revival;
mod rules;
mod session;
pub mod snapshot;
pub mod store;
mod sync;
mod tally;
mod token;
mod tracker;
mod warning;
pub mod web;

pub use attrs::{AttrValue, Attrs, attrs_from_json};
pub use builder::TrackerBuilder;
pub use clock::{Clock, MockClock, SystemClock};
pub use config::{Config, RedisTarget};
pub use error::{Error, Result, StoreSource};
pub use id::SessionId;
pub use model::{Departure, Dormant, Entry, EntryRef, Extra, Record};
pub use records::Records;
pub use rules::Rules;
pub use session::{
    EndReason, EndedStats, Hints, Kind, Outcome, Session, SessionEnd, SessionRecord, Stats, Tick,
};
pub use store::{MemoryStore, RedisStore, ReferenceStore, Store};
pub use token::{MIN_SECRET_BYTES, Signer};
pub use tracker::Tracker;
pub use warning::Warning;

// The README's examples are compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

// So are the store authors' guide's.
#[doc = include_str!("../../docs/stores.md")]
#[cfg(doctest)]
pub struct StoresDoctests;

#[doc = include_str!("../../docs/redis.md")]
#[cfg(doctest)]
pub struct RedisDoctests;

// And the snapshots guide's.
#[doc = include_str!("../../docs/snapshots.md")]
#[cfg(doctest)]
pub struct SnapshotDoctests;
