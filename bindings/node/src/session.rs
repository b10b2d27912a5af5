//! What the tracker hands out and takes in, as plain JavaScript objects:
//! sessions, ticks, session ends, stats, and the options of `start`,
//! `revive` and `resume`. Every output is plain data (JSON-serialisable);
//! changing one changes nothing in the tracker.

use chrono::{DateTime, Utc};
use napi_derive::napi;

use crate::convert::{self, Attrs, Text};
use crate::error::Result;

/// A snapshot of a live session.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Session {
    /// The session id (a UUID; UUIDv7 when the tracker made it).
    pub id: String,
    /// What the client keeps: the id, or `id.signature` when signing.
    pub token: String,
    /// The user, once identified.
    pub user_id: Option<String>,
    /// Views tracked so far.
    pub view_sequence: f64,
    /// Events tracked so far.
    pub event_sequence: f64,
    /// `viewSequence + eventSequence`: the session's global order.
    pub sequence: f64,
    /// 1 for a client's first session, previous + 1 after that.
    pub session_index: u32,
    /// The session this one follows.
    pub previous_id: Option<String>,
    /// When the session started.
    pub started_at: DateTime<Utc>,
    /// The last activity.
    pub last_seen: DateTime<Utc>,
    /// When the session ends unless touched: `min(lastSeen + idleTimeout,
    /// startedAt + maxLifetime)`.
    pub expires_at: DateTime<Utc>,
    /// How many times this id came back to life.
    pub revivals: u32,
    /// Entry page, referrer, campaign and the like.
    #[napi(ts_type = "Record<string, string | number | boolean | null>")]
    pub attrs: Attrs,
}

impl From<sojourn::Session> for Session {
    fn from(s: sojourn::Session) -> Session {
        Session {
            id: s.id.to_string(),
            token: s.token,
            user_id: s.user_id,
            view_sequence: convert::number(s.view_sequence),
            event_sequence: convert::number(s.event_sequence),
            sequence: convert::number(s.sequence),
            session_index: s.session_index,
            previous_id: s.previous_id.map(|id| id.to_string()),
            started_at: s.started_at,
            last_seen: s.last_seen,
            expires_at: s.expires_at,
            revivals: s.revivals,
            attrs: Attrs(s.attrs),
        }
    }
}

/// The counters right after one `track`, read in the same step as the
/// increment: two tracks never see the same tick.
#[napi(object, object_from_js = false)]
pub struct Tick {
    /// Views tracked so far, this one included.
    pub view_sequence: f64,
    /// Events tracked so far, this one included.
    pub event_sequence: f64,
    /// `viewSequence + eventSequence`: the session's global order.
    pub sequence: f64,
}

impl From<sojourn::Tick> for Tick {
    fn from(t: sojourn::Tick) -> Tick {
        Tick {
            view_sequence: convert::number(t.view_sequence),
            event_sequence: convert::number(t.event_sequence),
            sequence: convert::number(t.sequence),
        }
    }
}

/// The summary delivered once when a session leaves the live store.
#[napi(object, object_from_js = false)]
pub struct SessionEnd {
    /// The session as it was when it left.
    pub session: Session,
    /// Why it left: no activity for `idleTimeout` (`idle`), `maxLifetime`
    /// reached (`lifetime`), ended by the application (`ended`: `end`,
    /// `endUser`, `endAll`) or pushed out by `maxSessions` (`evicted`).
    #[napi(ts_type = "'idle' | 'lifetime' | 'ended' | 'evicted'")]
    pub reason: &'static str,
    /// When it left.
    pub ended_at: DateTime<Utc>,
    /// `lastSeen - startedAt`, in milliseconds.
    pub duration: f64,
    /// Whether `resume` could still bring it back (see the revival rules).
    pub revivable: bool,
}

impl From<sojourn::SessionEnd> for SessionEnd {
    fn from(e: sojourn::SessionEnd) -> SessionEnd {
        SessionEnd {
            session: e.session.into(),
            reason: e.reason.as_str(),
            ended_at: e.ended_at,
            duration: e.duration.as_millis() as f64,
            revivable: e.revivable,
        }
    }
}

/// What `resume` returns: the session, and how it was found.
#[napi(object, object_from_js = false)]
pub struct Resumed {
    /// The session, live now.
    pub session: Session,
    /// `existing`: it was live and was touched; `revived`: it had been
    /// forgotten and came back with its id; `started`: a new session.
    #[napi(ts_type = "'existing' | 'revived' | 'started'")]
    pub outcome: &'static str,
}

impl From<(sojourn::Session, sojourn::Outcome)> for Resumed {
    fn from((session, outcome): (sojourn::Session, sojourn::Outcome)) -> Resumed {
        Resumed {
            session: session.into(),
            outcome: outcome.as_str(),
        }
    }
}

/// Sessions ended, by reason.
#[napi(object, object_from_js = false)]
pub struct EndedStats {
    /// Idled out.
    pub idle: f64,
    /// Reached `maxLifetime`.
    pub lifetime: f64,
    /// Ended by the application.
    pub ended: f64,
    /// Evicted by the capacity bound.
    pub evicted: f64,
}

/// Counters of a tracker since it was made.
#[napi(object, object_from_js = false)]
pub struct Stats {
    /// Live sessions now.
    pub live: f64,
    /// Departed sessions remembered now.
    pub dormant: f64,
    /// New sessions, however started.
    pub started: f64,
    /// Sessions brought back with their id.
    pub revived: f64,
    /// `resume` calls that found their session live.
    pub resumed: f64,
    /// Tokens refused by `resume` (garbage, forged, badly signed).
    pub rejected: f64,
    /// Revivals whose client counter hints were over `maxCounterHint`, and
    /// were cut down to it.
    pub hints_clamped: f64,
    /// Revivals by `resume` whose given attributes were left out, as
    /// merging them would have passed `maxAttrsBytes`.
    pub attrs_dropped: f64,
    /// Session ends dropped: more than `maxPendingEnds` were waiting (the
    /// oldest went), or `close()` ran out of `closeTimeout`.
    pub ends_dropped: f64,
    /// Session ends waiting for `onEnd` now.
    pub ends_pending: f64,
    /// Sessions ended, by reason.
    pub ended: EndedStats,
    /// Views tracked.
    pub views: f64,
    /// Events tracked.
    pub events: f64,
    /// Sessions, live and remembered, loaded from a snapshot when the
    /// tracker was made (those that ended on load included).
    pub loaded: f64,
}

impl From<sojourn::Stats> for Stats {
    fn from(s: sojourn::Stats) -> Stats {
        let n = convert::number;
        Stats {
            live: n(s.live),
            dormant: n(s.dormant),
            started: n(s.started),
            revived: n(s.revived),
            resumed: n(s.resumed),
            rejected: n(s.rejected),
            hints_clamped: n(s.hints_clamped),
            attrs_dropped: n(s.attrs_dropped),
            ends_dropped: n(s.ends_dropped),
            ends_pending: n(s.ends_pending),
            ended: EndedStats {
                idle: n(s.ended.idle),
                lifetime: n(s.ended.lifetime),
                ended: n(s.ended.ended),
                evicted: n(s.ended.evicted),
            },
            views: n(s.views),
            events: n(s.events),
            loaded: n(s.loaded),
        }
    }
}

/// What `start` takes.
#[napi(object, object_to_js = false)]
pub struct StartOptions {
    /// The user, if known (at most 256 bytes).
    #[napi(ts_type = "string")]
    pub user_id: Option<Text>,
    /// Attributes of the new session (entry page, referrer…).
    #[napi(ts_type = "Record<string, string | number | boolean | null>")]
    pub attrs: Option<Attrs>,
}

/// What a client brings to `resume` or `revive` beside its id.
#[napi(object, object_to_js = false)]
pub struct Hints {
    /// The user, if known.
    #[napi(ts_type = "string")]
    pub user_id: Option<Text>,
    /// Attributes for a started or revived session (entry page,
    /// referrer…): set on a new session, merged into a revived one.
    #[napi(ts_type = "Record<string, string | number | boolean | null>")]
    pub attrs: Option<Attrs>,
    /// The client's view counter, used when the session is revived
    /// (default 0); over `maxCounterHint` it is cut down to it.
    pub view_sequence: Option<f64>,
    /// The client's event counter, used when the session is revived
    /// (default 0); over `maxCounterHint` it is cut down to it.
    pub event_sequence: Option<f64>,
}

impl Hints {
    /// The core's hints; omitted counters are the core's default.
    pub fn into_core(self) -> Result<sojourn::Hints> {
        let defaults = sojourn::Hints::default();
        Ok(sojourn::Hints {
            user_id: self.user_id.map(String::from),
            attrs: self.attrs.map(|a| a.0),
            view_sequence: self
                .view_sequence
                .map(|v| convert::count(v, "viewSequence"))
                .transpose()?
                .unwrap_or(defaults.view_sequence),
            event_sequence: self
                .event_sequence
                .map(|v| convert::count(v, "eventSequence"))
                .transpose()?
                .unwrap_or(defaults.event_sequence),
        })
    }
}
