//! Revival: which departed or unknown sessions may come back with their
//! id, and the plans of `resume` and `revive` that a store carries out.

use super::Rules;
use crate::attrs::{self, Attrs};
use crate::config::MAX_CLOCK_SKEW;
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::model::{Dormant, Record};
use crate::session::{EndReason, SessionRecord, snapshot};
use crate::store::{Action, Found, Step};

const SKEW_MS: i64 = MAX_CLOCK_SKEW.as_millis() as i64;

/// A client's hints, checked once before anything changes.
#[derive(Debug, Clone)]
pub(crate) struct Hinted {
    pub user_id: Option<String>,
    pub attrs: Option<Attrs>,
    pub views: u32,
    pub events: u32,
    /// A counter hint was over `max_counter_hint`, and was cut down.
    pub clamped: bool,
}

/// Who asked for a revival: `resume` must never lock a returning client
/// out, so given attributes that do not fit are left out there; an
/// explicit `revive` is refused, as `set_attrs` would be.
#[derive(Clone, Copy, PartialEq)]
enum By {
    Resume,
    Revive,
}

/// A session brought back: what the tracker counts of it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Revival {
    pub clamped: bool,
    pub attrs_dropped: bool,
}

/// What `resume` decided for the id its client brought.
#[derive(Debug)]
pub(crate) enum Resumed {
    /// Live: touched, its user set if one was given.
    Existing(SessionRecord),
    /// Brought back with its id.
    Revived(SessionRecord, Revival),
    /// Start a new session after this one.
    Link(Link),
    /// Start a new session, unlinked (the old one was erased).
    Fresh,
}

/// A new session's link to the one it follows.
#[derive(Debug)]
pub(crate) struct Link {
    pub previous: SessionId,
    pub index: u32,
    pub user_id: Option<Box<str>>,
}

impl Rules {
    /// Whether a session that departed for `reason` may come back at `now`;
    /// `resume` applies the revive window, an explicit `revive` does not.
    pub fn revivable(
        &self,
        reason: EndReason,
        r: &Record,
        now: i64,
        window: bool,
    ) -> Result<(), &'static str> {
        if !matches!(reason, EndReason::Idle | EndReason::Evicted) {
            return Err(match reason {
                EndReason::Lifetime => "it reached its max_lifetime",
                _ => "it was ended",
            });
        }
        if now >= self.lifetime_deadline(r) {
            return Err("it would be past its max_lifetime");
        }
        if window && now.saturating_sub(r.last_seen) >= self.window_ms {
            return Err("it has been inactive longer than the revive_window");
        }
        Ok(())
    }

    /// [`Rules::revivable`] for a dormant record, which its user's logout
    /// or erasure also bars.
    pub fn dormant_revivable(
        &self,
        d: &Dormant,
        now: i64,
        window: bool,
    ) -> Result<(), &'static str> {
        if d.erased {
            return Err("it was erased");
        }
        if d.barred {
            return Err("its user was logged out");
        }
        self.revivable(d.reason, &d.record, now, window)
    }

    /// Whether an id the tracker does not know may be revived at `now`: a
    /// UUIDv7 carries its creation time, which must be less than
    /// `max_lifetime` ago (a session started then would already be over)
    /// and not too far in the future.
    pub fn acceptable_unknown(&self, id: SessionId, now: i64) -> Result<(), &'static str> {
        match id.v7_unix_ms() {
            Some(made) if made <= now.saturating_sub(self.lifetime_ms) => {
                Err("its UUIDv7 time is max_lifetime ago or older")
            }
            Some(made) if made > now.saturating_add(SKEW_MS) => {
                Err("its UUIDv7 time is in the future")
            }
            _ => Ok(()),
        }
    }

    /// When an unknown id's session started: its v7 time, or now.
    pub fn unknown_started_at(&self, id: SessionId, now: i64) -> i64 {
        id.v7_unix_ms().map_or(now, |made| made.min(now))
    }

    /// A client's counter hint, cut down to `max_counter_hint`; and
    /// whether it was.
    pub fn counter_hint(&self, hint: u64) -> (u32, bool) {
        match u32::try_from(hint) {
            Ok(n) if n <= self.max_counter_hint => (n, false),
            _ => (self.max_counter_hint, true),
        }
    }

    /// `resume` of the session shown (settled), for a client holding `id`.
    pub(crate) fn resume(
        &self,
        found: Found<'_>,
        id: SessionId,
        hints: &Hinted,
        now: i64,
    ) -> (Resumed, Step) {
        match found {
            Found::Live(record) => {
                record.touch(now);
                let action = match &hints.user_id {
                    Some(user) => set_user(record, Some(user)),
                    None => Action::Changed,
                };
                (
                    Resumed::Existing(snapshot(self, id, record)),
                    Step::Done(action),
                )
            }
            // Erased by `forget_user`: a new session, as if from nothing.
            Found::Dormant(d) if d.erased => (Resumed::Fresh, Step::Done(Action::Keep)),
            Found::Dormant(d) => match self.dormant_revivable(d, now, true) {
                Ok(()) => self.resumed(Some(d), id, hints, now),
                Err(_) => {
                    // A user logged out is not passed on.
                    let user_id = d.record.user_id().filter(|_| !d.barred).map(Box::from);
                    let index = d.record.session_index.saturating_add(1);
                    let link = Link {
                        previous: id,
                        index,
                        user_id,
                    };
                    (Resumed::Link(link), Step::Done(Action::Keep))
                }
            },
            Found::Absent => match self.acceptable_unknown(id, now) {
                Ok(()) => self.resumed(None, id, hints, now),
                Err(_) => {
                    let link = Link {
                        previous: id,
                        index: 2,
                        user_id: None,
                    };
                    (Resumed::Link(link), Step::Done(Action::Keep))
                }
            },
        }
    }

    fn resumed(
        &self,
        dormant: Option<&mut Dormant>,
        id: SessionId,
        hints: &Hinted,
        now: i64,
    ) -> (Resumed, Step) {
        match self.bring_back(dormant, id, hints, now, By::Resume) {
            Ok((session, revival, step)) => (Resumed::Revived(session, revival), step),
            // Never: only an explicit revive refuses attributes that do
            // not fit. Were it to, a new session is the safe answer.
            Err(_) => (Resumed::Fresh, Step::Done(Action::Keep)),
        }
    }

    /// `revive` of the session shown (settled): the session, live or
    /// brought back, and what it counts as.
    pub(crate) fn revive(
        &self,
        found: Found<'_>,
        id: SessionId,
        hints: &Hinted,
        now: i64,
    ) -> (Result<(SessionRecord, Option<Revival>)>, Step) {
        let keep = |err| (Err(err), Step::Done(Action::Keep));
        let not_revivable = |reason| Error::SessionNotRevivable { id, reason };
        let dormant = match found {
            Found::Live(record) => {
                let merged = match merge(record.attrs(), hints.attrs.clone(), self) {
                    Ok(merged) => merged,
                    Err(err) => return keep(err),
                };
                record.raise_counters(hints.views, hints.events);
                record.touch(now);
                if let Some(attrs) = merged {
                    record.extra_mut().attrs = attrs;
                }
                let action = match &hints.user_id {
                    Some(user) => set_user(record, Some(user)),
                    None => Action::Changed,
                };
                return (Ok((snapshot(self, id, record), None)), Step::Done(action));
            }
            Found::Dormant(d) => match self.dormant_revivable(d, now, false) {
                Ok(()) => Some(d),
                Err(reason) => return keep(not_revivable(reason)),
            },
            Found::Absent => match self.acceptable_unknown(id, now) {
                Ok(()) => None,
                Err(reason) => return keep(not_revivable(reason)),
            },
        };
        match self.bring_back(dormant, id, hints, now, By::Revive) {
            Ok((session, revival, step)) => (Ok((session, Some(revival))), step),
            Err(err) => keep(err),
        }
    }

    /// Brings `id` back from its dormant record, or from nothing for an
    /// unknown id: counters raised to the hints, one more revival.
    fn bring_back(
        &self,
        dormant: Option<&mut Dormant>,
        id: SessionId,
        hints: &Hinted,
        now: i64,
        by: By,
    ) -> Result<(SessionRecord, Revival, Step)> {
        let base = dormant.as_ref().and_then(|d| d.record.attrs());
        let mut revival = Revival {
            clamped: hints.clamped,
            attrs_dropped: false,
        };
        let attrs = match merge(base, hints.attrs.clone(), self) {
            Ok(attrs) => attrs,
            // Only the size can fail here: the given attrs were checked alone.
            Err(_) if by == By::Resume => {
                revival.attrs_dropped = true;
                None
            }
            Err(err) => return Err(err),
        };
        let mut record = match dormant {
            // A copy: the store drops the dormant record as it inserts this
            // one, and finds its user index entry by the record's user.
            Some(d) => d.record.clone(),
            None => Record::new(self.unknown_started_at(id, now)),
        };
        record.raise_counters(hints.views, hints.events);
        record.revivals = record.revivals.saturating_add(1);
        record.touch(now);
        if let Some(user) = &hints.user_id {
            record.set_user(Some(user));
        }
        if let Some(attrs) = attrs {
            record.extra_mut().attrs = attrs;
        }
        let session = snapshot(self, id, &record);
        Ok((session, revival, Step::Done(Action::Insert(record))))
    }
}

/// Sets the user of a record in place; what the store must do of it.
pub(crate) fn set_user(record: &mut Record, user: Option<&str>) -> Action {
    if record.user_id() == user {
        return Action::Changed;
    }
    Action::UserChanged {
        old: record.set_user(user),
    }
}

/// `base` merged with `update`, checked against the size bound; `None`
/// when there is nothing to merge.
pub(crate) fn merge(
    base: Option<&Attrs>,
    update: Option<Attrs>,
    rules: &Rules,
) -> Result<Option<Attrs>> {
    update
        .map(|u| attrs::merged(base, u, rules.max_attrs_bytes))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_rules;

    const MIN: i64 = 60_000;

    #[test]
    fn revival_needs_reason_window_and_lifetime() {
        let rules = test_rules();
        let r = Record::new(0);
        assert!(
            rules
                .revivable(EndReason::Evicted, &r, 29 * MIN, true)
                .is_ok()
        );
        assert!(
            rules
                .revivable(EndReason::Idle, &r, 30 * MIN, true)
                .is_err()
        );
        assert!(
            rules
                .revivable(EndReason::Idle, &r, 30 * MIN, false)
                .is_ok()
        );
        assert!(rules.revivable(EndReason::Ended, &r, MIN, true).is_err());
        assert!(
            rules
                .revivable(EndReason::Lifetime, &r, MIN, false)
                .is_err()
        );
        assert!(
            rules
                .revivable(EndReason::Idle, &r, 24 * 60 * MIN, false)
                .is_err()
        );
    }

    #[test]
    fn counter_hints_are_cut_down_to_the_bound() {
        let rules = test_rules();
        assert_eq!(rules.counter_hint(7), (7, false));
        assert_eq!(rules.counter_hint(100_000), (100_000, false));
        assert_eq!(rules.counter_hint(100_001), (100_000, true));
        assert_eq!(rules.counter_hint(u64::MAX), (100_000, true));
    }

    #[test]
    fn unknown_v7_ids_must_be_recent() {
        let rules = test_rules();
        let now = 1_767_225_600_000;
        let recent = SessionId::new_v7(now - 60 * MIN);
        let old = SessionId::new_v7(now - 25 * 60 * MIN);
        let future = SessionId::new_v7(now + 2 * MIN);
        assert!(rules.acceptable_unknown(recent, now).is_ok());
        assert!(rules.acceptable_unknown(old, now).is_err());
        assert!(rules.acceptable_unknown(future, now).is_err());
        // Made exactly max_lifetime ago: a session started then is over.
        let boundary = SessionId::new_v7(now - rules.lifetime_ms);
        assert!(rules.acceptable_unknown(boundary, now).is_err());
        let inside = SessionId::new_v7(now - rules.lifetime_ms + 1);
        assert!(rules.acceptable_unknown(inside, now).is_ok());
        assert_eq!(rules.unknown_started_at(recent, now), now - 60 * MIN);
        let v4 = SessionId::parse("9b2f4c1e-3d5a-4b6c-8d7e-0f1a2b3c4d5e").unwrap();
        assert!(rules.acceptable_unknown(v4, now).is_ok());
        assert_eq!(rules.unknown_started_at(v4, now), now);
    }
}
