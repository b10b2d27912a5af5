//! What the tracker hands out: sessions, ticks, outcomes and session ends.
//! All are plain snapshots; changing one changes nothing in the tracker.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::model::Record;
use crate::rules::Rules;

/// What a `track` call counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A page or screen view.
    View,
    /// Any other event.
    Event,
}

impl FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "view" => Ok(Kind::View),
            "event" => Ok(Kind::Event),
            _ => Err(Error::invalid(
                "kind",
                format!("expected \"view\" or \"event\", got {s:?}"),
            )),
        }
    }
}

/// The counters right after one `track`, read in the same step as the
/// increment: two concurrent tracks never see the same tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Tick {
    /// Views tracked so far, this one included.
    pub view_sequence: u64,
    /// Events tracked so far, this one included.
    pub event_sequence: u64,
    /// `view_sequence + event_sequence`: the session's global order.
    pub sequence: u64,
}

impl Tick {
    /// One item of a `track_many` batch as every binding hands it out: its
    /// tick; `None` when its session is not live (routine in a batch from
    /// many clients, not an exception); or the item's own error (a counter
    /// at its maximum). The one place this policy lives.
    pub fn batch_item(result: Result<Tick>) -> Result<Option<Tick>> {
        match result {
            Ok(tick) => Ok(Some(tick)),
            Err(Error::SessionNotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `session`'s counters as this tick left them.
    pub fn apply(&self, session: &mut Session) {
        session.view_sequence = self.view_sequence;
        session.event_sequence = self.event_sequence;
        session.sequence = self.sequence;
    }
}

/// A snapshot of a live session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// The session id (a UUID; UUIDv7 when the tracker made it).
    pub id: SessionId,
    /// What the client keeps: the id, or `id.signature` when signing.
    pub token: String,
    /// The user, once identified.
    pub user_id: Option<String>,
    /// Views tracked so far.
    pub view_sequence: u64,
    /// Events tracked so far.
    pub event_sequence: u64,
    /// `view_sequence + event_sequence`: the session's global order.
    pub sequence: u64,
    /// 1 for a client's first session, previous + 1 after that.
    pub session_index: u32,
    /// The session this one follows.
    pub previous_id: Option<SessionId>,
    /// When the session started.
    #[serde(serialize_with = "iso")]
    pub started_at: DateTime<Utc>,
    /// The last activity.
    #[serde(serialize_with = "iso")]
    pub last_seen: DateTime<Utc>,
    /// When the session ends unless touched: `min(last_seen + idle_timeout,
    /// started_at + max_lifetime)`.
    #[serde(serialize_with = "iso")]
    pub expires_at: DateTime<Utc>,
    /// How many times this id came back to life.
    pub revivals: u32,
    /// Entry page, referrer, campaign and the like.
    pub attrs: Attrs,
}

/// Why a session left the live store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndReason {
    /// No activity for `idle_timeout`.
    Idle,
    /// `max_lifetime` reached.
    Lifetime,
    /// Ended by the application (`end`, `end_user`, `end_all`).
    Ended,
    /// Pushed out by the `max_sessions` bound.
    Evicted,
}

impl EndReason {
    /// The reason as a lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Idle => "idle",
            EndReason::Lifetime => "lifetime",
            EndReason::Ended => "ended",
            EndReason::Evicted => "evicted",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The summary delivered once when a session leaves the live store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionEnd {
    /// The session as it was when it left.
    #[serde(flatten)]
    pub session: Session,
    /// Why it left.
    pub reason: EndReason,
    /// When it left.
    #[serde(serialize_with = "iso")]
    pub ended_at: DateTime<Utc>,
    /// `last_seen - started_at`.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// Whether `resume` could still bring it back (see the revival rules).
    pub revivable: bool,
}

/// What `resume` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The session was live and was touched.
    Existing,
    /// The session had been forgotten and came back with its id.
    Revived,
    /// A new session was started.
    Started,
}

impl Outcome {
    /// The outcome as a lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Existing => "existing",
            Outcome::Revived => "revived",
            Outcome::Started => "started",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sessions ended, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EndedStats {
    /// Idled out.
    pub idle: u64,
    /// Reached `max_lifetime`.
    pub lifetime: u64,
    /// Ended by the application.
    pub ended: u64,
    /// Evicted by the capacity bound.
    pub evicted: u64,
}

/// Counters of a tracker since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Live sessions now.
    pub live: u64,
    /// Departed sessions remembered now.
    pub dormant: u64,
    /// New sessions, however started.
    pub started: u64,
    /// Sessions brought back with their id.
    pub revived: u64,
    /// `resume` calls that found their session live.
    pub resumed: u64,
    /// Tokens refused by `resume` (garbage, forged, badly signed).
    pub rejected: u64,
    /// Revivals whose client counter hints were over `max_counter_hint`,
    /// and were cut down to it.
    pub hints_clamped: u64,
    /// Revivals by `resume` whose given attributes were left out, as
    /// merging them would have passed `max_attrs_bytes`.
    pub attrs_dropped: u64,
    /// Session ends dropped: more than `max_pending_ends` were waiting, or
    /// `close` ran out of time.
    pub ends_dropped: u64,
    /// Session ends waiting for delivery now.
    pub ends_pending: u64,
    /// Sessions ended, by reason.
    pub ended: EndedStats,
    /// Views tracked.
    pub views: u64,
    /// Events tracked.
    pub events: u64,
    /// Sessions, live and remembered, loaded from a snapshot when the
    /// tracker was made (those whose deadline passed meanwhile included:
    /// they are in `ended` too).
    pub loaded: u64,
}

/// What a client brings to `resume` or `revive` beside its id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hints {
    /// The user, if known.
    pub user_id: Option<String>,
    /// Attributes for a started or revived session (entry page, referrer…).
    pub attrs: Option<Attrs>,
    /// The client's view counter, used when the session is revived.
    pub view_sequence: u64,
    /// The client's event counter, used when the session is revived.
    pub event_sequence: u64,
}

pub(crate) fn timestamp(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}

fn iso<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A live session as the store holds it, copied out in the store's atomic
/// step and converted no further: what [`crate::Records`] hands out, for
/// callers (the bindings) that build each field's value only when it is
/// read and sign the token only when it is sent. [`SessionRecord::session`]
/// gives the full [`Session`].
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The session id.
    pub id: SessionId,
    /// The session's fields as stored (timestamps in Unix milliseconds).
    pub record: Record,
    /// When it ends unless touched, in Unix milliseconds: `min(last_seen +
    /// idle_timeout, started_at + max_lifetime)`.
    pub expires_at: i64,
}

impl SessionRecord {
    /// `view_sequence + event_sequence`.
    pub fn sequence(&self) -> u64 {
        u64::from(self.record.views) + u64::from(self.record.events)
    }

    /// The record of `session`: [`SessionRecord::session`] undone (the
    /// token aside).
    pub fn of(session: &Session) -> SessionRecord {
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let extra = crate::model::Extra {
            user_id: session.user_id.as_deref().map(Into::into),
            previous_id: session.previous_id,
            attrs: session.attrs.clone(),
        };
        SessionRecord {
            id: session.id,
            record: Record {
                started_at: session.started_at.timestamp_millis(),
                last_seen: session.last_seen.timestamp_millis(),
                views: count(session.view_sequence),
                events: count(session.event_sequence),
                session_index: session.session_index,
                revivals: session.revivals,
                extra: extra.into_record(),
            },
            expires_at: session.expires_at.timestamp_millis(),
        }
    }

    /// The session, with its `token` (from [`crate::Signer::token`]).
    pub fn session(&self, token: String) -> Session {
        let r = &self.record;
        Session {
            id: self.id,
            token,
            user_id: r.user_id().map(str::to_owned),
            view_sequence: r.views.into(),
            event_sequence: r.events.into(),
            sequence: self.sequence(),
            session_index: r.session_index,
            previous_id: r.previous_id(),
            started_at: timestamp(r.started_at),
            last_seen: timestamp(r.last_seen),
            expires_at: timestamp(self.expires_at),
            revivals: r.revivals,
            attrs: r.attrs().cloned().unwrap_or_default(),
        }
    }
}

/// The record of a session, copied in the store's atomic step (a plain
/// copy of 40 bytes for a session without user, predecessor or
/// attributes).
pub(crate) fn snapshot(rules: &Rules, id: SessionId, r: &Record) -> SessionRecord {
    SessionRecord {
        id,
        record: r.clone(),
        expires_at: rules.expires_at(r),
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;

    #[test]
    fn a_record_and_its_session_are_one_another() {
        let mut record = Record::new(1_700_000_000_123);
        record.views = 3;
        record.events = 4;
        record.last_seen += 5_000;
        let plain = SessionRecord {
            id: SessionId::new_v7(1_700_000_000_123),
            record: record.clone(),
            expires_at: 1_700_000_900_000,
        };
        assert_eq!(SessionRecord::of(&plain.session("t".into())), plain);
        let extra = record.extra_mut();
        extra.user_id = Some("user-1".into());
        extra.previous_id = Some(SessionId::new_v7(1_600_000_000_000));
        extra
            .attrs
            .insert("page".into(), crate::AttrValue::from("/"));
        let full = SessionRecord { record, ..plain };
        let session = full.session("t".into());
        assert_eq!(session.sequence, 7);
        assert_eq!(session.user_id.as_deref(), Some("user-1"));
        assert_eq!(SessionRecord::of(&session), full);
    }
}
