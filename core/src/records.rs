//! The tracker's calls that hand out sessions, each session as the store
//! holds it ([`SessionRecord`]): the bindings build a field's value only
//! when it is read, and sign a token only when it is sent, so a call that
//! returns a session costs what is read of it. [`Tracker`]'s own calls are
//! these, each record made a [`crate::Session`]. `resume` and `revive` are
//! in `revival.rs`.

use crate::attrs::{self, Attrs};
use crate::error::Result;
use crate::id::SessionId;
use crate::model::Record;
use crate::rules::set_user;
use crate::session::{SessionRecord, snapshot};
use crate::store::{Action, Found, Step, Store, Which};
use crate::tracker::{Inner, Tracker, check_user};

/// [`Tracker::records`]: the tracker's calls that hand out sessions, each
/// as a [`SessionRecord`].
#[derive(Debug, Clone, Copy)]
pub struct Records<'a> {
    pub(crate) tracker: &'a Tracker,
}

impl<'a> Records<'a> {
    pub(crate) fn new(tracker: &'a Tracker) -> Self {
        Records { tracker }
    }

    pub(crate) fn inner(&self) -> &'a Inner {
        &self.tracker.inner
    }

    /// [`Tracker::start`].
    pub fn start(&self, user_id: Option<&str>, attrs: Option<Attrs>) -> Result<SessionRecord> {
        let inner = self.inner();
        check_user(user_id)?;
        let attrs = inner.new_attrs(attrs)?;
        let mut record = Record::new(inner.now());
        if let Some(user) = user_id {
            record.set_user(Some(user));
        }
        if let Some(attrs) = attrs {
            record.extra_mut().attrs = attrs;
        }
        inner.start(record, false)
    }

    /// [`Tracker::get`].
    pub fn get(&self, id: SessionId) -> Result<Option<SessionRecord>> {
        let inner = self.inner();
        let mut session = None;
        inner.update(id, |found, now| {
            session = None;
            let Found::Live(record) = found else {
                return Step::Done(Action::Keep);
            };
            record.touch(now);
            session = Some(snapshot(&inner.rules, id, record));
            Step::Done(Action::Changed)
        })?;
        Ok(session)
    }

    /// [`Tracker::peek`].
    pub fn peek(&self, id: SessionId) -> Result<Option<SessionRecord>> {
        let inner = self.inner();
        inner.peek(id, |record| snapshot(&inner.rules, id, record))
    }

    /// [`Tracker::identify`].
    pub fn identify(&self, id: SessionId, user_id: &str) -> Result<SessionRecord> {
        check_user(Some(user_id))?;
        self.inner()
            .modify(id, |record| Ok(set_user(record, Some(user_id))))
    }

    /// [`Tracker::set_attrs`].
    pub fn set_attrs(&self, id: SessionId, attrs: Attrs) -> Result<SessionRecord> {
        let max = self.inner().rules.max_attrs_bytes;
        self.inner().modify(id, |record| {
            record.extra_mut().attrs = attrs::merged(record.attrs(), attrs.clone(), max)?;
            Ok(Action::Changed)
        })
    }

    /// [`Tracker::sessions`].
    pub fn sessions(&self, user_id: Option<&str>) -> Result<Vec<SessionRecord>> {
        let inner = self.inner();
        inner.expire_due()?;
        let now = inner.now();
        let mut records = Vec::new();
        match user_id {
            None => {
                for part in 0..inner.store.parts() {
                    inner.store.scan(part, &mut |id, record| {
                        if inner.rules.due(record, now).is_none() {
                            records.push(snapshot(&inner.rules, id, record));
                        }
                    })?;
                }
            }
            Some(user) => {
                for id in inner.store.user_ids(user, Which::Live)? {
                    let owned = inner.peek(id, |r| {
                        (r.user_id() == Some(user)).then(|| snapshot(&inner.rules, id, r))
                    })?;
                    records.extend(owned.flatten());
                }
            }
        }
        Ok(records)
    }
}
