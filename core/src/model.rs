//! What every store keeps, whatever it is: the live session, the dormant
//! record of one that departed, and the departure itself. Store-neutral
//! and serde-serializable (snapshots and Redis write it); the memory
//! store's own bookkeeping (its deadline queue) lives in its buckets.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::attrs::Attrs;
use crate::id::SessionId;
use crate::session::EndReason;

/// A live session, without its id (a store keys it by that): 40 bytes,
/// the rarely set fields behind one optional, shared box: a copy handed
/// out (a binding's session) shares them, and the first change after
/// copies them (`Arc::make_mut`), so that a read of an identified session
/// allocates nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// When it started, in Unix milliseconds.
    pub started_at: i64,
    /// Its last activity, in Unix milliseconds.
    pub last_seen: i64,
    /// Views tracked.
    pub views: u32,
    /// Events tracked.
    pub events: u32,
    /// Its place among the visits it is linked to (1 for a first).
    pub session_index: u32,
    /// How many times it came back with its id.
    pub revivals: u32,
    /// User, predecessor and attributes, when any is set.
    pub extra: Option<Arc<Extra>>,
}

/// What many sessions never have: a user, a predecessor, attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extra {
    /// The user it belongs to.
    pub user_id: Option<Box<str>>,
    /// The session it follows.
    pub previous_id: Option<SessionId>,
    /// Its attributes.
    pub attrs: Attrs,
}

impl Extra {
    /// The extras as a record holds them: none when nothing is set.
    pub fn into_record(self) -> Option<Arc<Extra>> {
        let set = self.user_id.is_some() || self.previous_id.is_some() || !self.attrs.is_empty();
        set.then(|| Arc::new(self))
    }
}

impl Record {
    /// A first session starting at `now`, with nothing counted yet.
    pub fn new(now: i64) -> Self {
        Record {
            started_at: now,
            last_seen: now,
            views: 0,
            events: 0,
            session_index: 1,
            revivals: 0,
            extra: None,
        }
    }

    /// Its user, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.extra.as_ref()?.user_id.as_deref()
    }

    /// The session it follows, if any.
    pub fn previous_id(&self) -> Option<SessionId> {
        self.extra.as_ref()?.previous_id
    }

    /// Its attributes, if it has any extras.
    pub fn attrs(&self) -> Option<&Attrs> {
        self.extra.as_ref().map(|e| &e.attrs)
    }

    pub(crate) fn extra_mut(&mut self) -> &mut Extra {
        Arc::make_mut(self.extra.get_or_insert_with(Default::default))
    }

    /// Sets the user, returning the one it replaces.
    pub(crate) fn set_user(&mut self, user_id: Option<&str>) -> Option<Box<str>> {
        match user_id {
            Some(user) => self.extra_mut().user_id.replace(user.into()),
            None => Arc::make_mut(self.extra.as_mut()?).user_id.take(),
        }
    }

    pub(crate) fn touch(&mut self, now: i64) {
        // A clock stepped backwards must not move a session back in time.
        self.last_seen = self.last_seen.max(now);
    }

    /// Raises the counters to at least the hints: counters never go back.
    pub(crate) fn raise_counters(&mut self, views: u32, events: u32) {
        self.views = self.views.max(views);
        self.events = self.events.max(events);
    }
}

/// A departed session, remembered for revival and linkage until
/// `retention` after it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dormant {
    /// The session as it departed.
    pub record: Record,
    /// Why it departed.
    pub reason: EndReason,
    /// When it departed, in Unix milliseconds.
    pub ended_at: i64,
    /// Its user was logged out (`end_user`): neither revivable nor passing
    /// the user on. The user stays, for `forget_user` to find it.
    pub barred: bool,
    /// Erased by `forget_user`: only the id and the time are left, so that
    /// the token starts an unlinked session rather than reviving the id.
    pub erased: bool,
}

impl Dormant {
    /// What is left of a record once its user is erased.
    pub(crate) fn tombstone(ended_at: i64) -> Self {
        Dormant {
            record: Record::new(ended_at),
            reason: EndReason::Ended,
            ended_at,
            barred: true,
            erased: true,
        }
    }
}

/// A session that left the live store, for its summary: exactly one
/// caller of a store receives each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Departure {
    /// Its id.
    pub id: SessionId,
    /// The session as it departed.
    pub record: Record,
    /// Why it departed.
    pub reason: EndReason,
    /// When it departed, in Unix milliseconds.
    pub ended_at: i64,
    /// Whether a `resume` right after it could revive it.
    pub revivable: bool,
}

/// One session as a store exports it and imports it (snapshots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    /// A live session.
    Live(SessionId, Record),
    /// A departed session still remembered.
    Dormant(SessionId, Dormant),
}

impl Entry {
    /// The session's id.
    pub fn id(&self) -> SessionId {
        match self {
            Entry::Live(id, _) | Entry::Dormant(id, _) => *id,
        }
    }

    /// The entry, borrowed.
    pub fn view(&self) -> EntryRef<'_> {
        match self {
            Entry::Live(id, r) => EntryRef::Live(*id, r),
            Entry::Dormant(id, d) => EntryRef::Dormant(*id, d),
        }
    }
}

/// One session as a store shows it to `export`: borrowed where it lies,
/// so that a snapshot encodes it without a copy (attributes and all).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EntryRef<'a> {
    /// A live session.
    Live(SessionId, &'a Record),
    /// A departed session still remembered.
    Dormant(SessionId, &'a Dormant),
}

impl EntryRef<'_> {
    /// An owned copy, to `import` elsewhere.
    pub fn to_entry(self) -> Entry {
        match self {
            EntryRef::Live(id, r) => Entry::Live(id, r.clone()),
            EntryRef::Dormant(id, d) => Entry::Dormant(id, d.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stays_compact() {
        assert_eq!(std::mem::size_of::<Record>(), 40);
    }

    #[test]
    fn touch_never_goes_back() {
        let mut r = Record::new(1_000);
        r.touch(900);
        assert_eq!(r.last_seen, 1_000);
        r.touch(2_000);
        assert_eq!(r.last_seen, 2_000);
    }

    #[test]
    fn user_changes_return_the_old_user() {
        let mut r = Record::new(0);
        assert_eq!(r.set_user(Some("a")), None);
        assert_eq!(r.set_user(Some("b")).as_deref(), Some("a"));
        assert_eq!(r.set_user(None).as_deref(), Some("b"));
        assert_eq!(r.user_id(), None);
    }

    #[test]
    fn the_model_round_trips_through_serde() {
        let mut r = Record::new(5);
        r.set_user(Some("u"));
        r.extra_mut().previous_id = Some(SessionId::new_v7(1));
        let entry = Entry::Dormant(
            SessionId::new_v7(5),
            Dormant {
                record: r,
                reason: EndReason::Idle,
                ended_at: 9,
                barred: false,
                erased: false,
            },
        );
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
    }
}
