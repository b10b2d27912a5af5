//! The compact form a session takes inside the memory store: 48 bytes, with
//! the rarely set fields behind one optional box.

use crate::attrs::Attrs;
use crate::id::SessionId;
use crate::session::EndReason;

/// A live session, without its id (the map key holds that).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub started_at: i64,
    pub last_seen: i64,
    /// The deadline of this session's one valid entry in the expiry queue.
    pub scheduled: i64,
    pub views: u32,
    pub events: u32,
    pub session_index: u32,
    pub revivals: u32,
    pub extra: Option<Box<Extra>>,
}

/// What many sessions never have: a user, a predecessor, attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Extra {
    pub user_id: Option<Box<str>>,
    pub previous_id: Option<SessionId>,
    pub attrs: Attrs,
}

impl Record {
    pub fn new(now: i64) -> Self {
        Record {
            started_at: now,
            last_seen: now,
            scheduled: 0,
            views: 0,
            events: 0,
            session_index: 1,
            revivals: 0,
            extra: None,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        self.extra.as_ref()?.user_id.as_deref()
    }

    pub fn previous_id(&self) -> Option<SessionId> {
        self.extra.as_ref()?.previous_id
    }

    pub fn attrs(&self) -> Option<&Attrs> {
        self.extra.as_ref().map(|e| &e.attrs)
    }

    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// Sets the user, returning the one it replaces.
    pub fn set_user(&mut self, user_id: Option<&str>) -> Option<Box<str>> {
        match user_id {
            Some(user) => self.extra_mut().user_id.replace(user.into()),
            None => self.extra.as_mut()?.user_id.take(),
        }
    }

    pub fn touch(&mut self, now: i64) {
        // A clock stepped backwards must not move a session back in time.
        self.last_seen = self.last_seen.max(now);
    }

    /// Raises the counters to at least the hints: counters never go back.
    pub fn raise_counters(&mut self, views: u32, events: u32) {
        self.views = self.views.max(views);
        self.events = self.events.max(events);
    }
}

/// A departed session, remembered for revival and linkage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dormant {
    pub record: Record,
    pub reason: EndReason,
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
    pub fn tombstone(ended_at: i64) -> Self {
        Dormant {
            record: Record::new(ended_at),
            reason: EndReason::Ended,
            ended_at,
            barred: true,
            erased: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stays_compact() {
        assert_eq!(std::mem::size_of::<Record>(), 48);
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
}
