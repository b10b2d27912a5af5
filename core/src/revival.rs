//! `resume` and `revive`: bringing a session back with its original id, or
//! starting one linked to it (see `docs/semantics.md`). The decisions are
//! the rules' (`rules/revival.rs`); this is the API around them.

use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::model::Record;
use crate::records::Records;
use crate::rules::{Hinted, Resumed, Revival};
use crate::session::{Hints, Outcome, Session, SessionRecord};
use crate::tally::Count;
use crate::tracker::{Inner, Tracker, check_user};

fn check(hints: Hints, inner: &Inner) -> Result<Hinted> {
    check_user(hints.user_id.as_deref())?;
    let (views, views_clamped) = inner.rules.counter_hint(hints.view_sequence);
    let (events, events_clamped) = inner.rules.counter_hint(hints.event_sequence);
    Ok(Hinted {
        views,
        events,
        clamped: views_clamped || events_clamped,
        attrs: inner.new_attrs(hints.attrs)?,
        user_id: hints.user_id,
    })
}

impl Inner {
    fn count_revival(&self, revival: Revival) {
        self.tally.add(Count::Revived, 1);
        self.tally
            .add(Count::HintsClamped, u64::from(revival.clamped));
        self.tally
            .add(Count::AttrsDropped, u64::from(revival.attrs_dropped));
    }
}

impl Tracker {
    /// What a web request calls with the token its client holds: the live
    /// session (`existing`), the same session brought back (`revived`), or
    /// a new one (`started`, linked to the old one when there was one).
    /// A bad token is never an error: it starts a session and is counted
    /// in [`crate::Stats::rejected`]. Errors are for bad hints, and for a
    /// failing store.
    pub fn resume(&self, token: Option<&str>, hints: Hints) -> Result<(Session, Outcome)> {
        let (record, outcome) = self.records().resume(token, hints)?;
        let signer = &self.inner.signer;
        let token = signer
            .given_back(outcome, token)
            .unwrap_or_else(|| signer.token(record.id));
        Ok((record.session(token), outcome))
    }

    /// Brings the session `id` back with its counters (the maximum of what
    /// the tracker knew and the hints), or returns it if live. Fails with
    /// [`Error::SessionNotRevivable`] for a session that ended, reached its
    /// lifetime, or whose UUIDv7 time is out of range.
    pub fn revive(&self, id: SessionId, hints: Hints) -> Result<Session> {
        Ok(self.session(&self.records().revive(id, hints)?))
    }
}

impl Records<'_> {
    /// What a web request calls with the token its client holds: the live
    /// session (`existing`), the same session brought back (`revived`), or
    /// a new one (`started`, linked to the old one when there was one).
    /// A bad token is never an error: it starts a session and is counted
    /// in [`crate::Stats::rejected`]. Errors are for bad hints, and for a
    /// failing store.
    pub fn resume(&self, token: Option<&str>, hints: Hints) -> Result<(SessionRecord, Outcome)> {
        let inner = self.inner();
        let hints = check(hints, inner)?;
        let (id, rejected) = match token {
            None | Some("") => (None, false),
            Some(token) => match inner.tokens.verify(token) {
                Ok(id) => (Some(id), false),
                Err(_) => (None, true),
            },
        };
        let mut record = Record::new(inner.now());
        if let Some(id) = id {
            let mut resumed = Resumed::Fresh;
            inner.update(id, |found, now| {
                let (decided, step) = inner.rules.resume(found, id, &hints, now);
                resumed = decided;
                step
            })?;
            match resumed {
                Resumed::Existing(s) => {
                    inner.tally.add(Count::Resumed, 1);
                    return Ok((s, Outcome::Existing));
                }
                Resumed::Revived(s, revival) => {
                    inner.count_revival(revival);
                    return Ok((s, Outcome::Revived));
                }
                Resumed::Link(link) => {
                    record.session_index = link.index;
                    let extra = record.extra_mut();
                    extra.previous_id = Some(link.previous);
                    extra.user_id = link.user_id;
                }
                Resumed::Fresh => {}
            }
        }
        if let Some(user) = &hints.user_id {
            record.set_user(Some(user));
        }
        if let Some(attrs) = hints.attrs {
            record.extra_mut().attrs = attrs;
        }
        Ok((inner.start(record, rejected)?, Outcome::Started))
    }

    /// Brings the session `id` back with its counters (the maximum of what
    /// the tracker knew and the hints), or returns it if live. Fails with
    /// [`Error::SessionNotRevivable`] for a session that ended, reached its
    /// lifetime, or whose UUIDv7 time is out of range.
    pub fn revive(&self, id: SessionId, hints: Hints) -> Result<SessionRecord> {
        let inner = self.inner();
        let hints = check(hints, inner)?;
        let mut result: Result<(SessionRecord, Option<Revival>)> =
            Err(Error::SessionNotFound { id });
        inner.update(id, |found, now| {
            let (decided, step) = inner.rules.revive(found, id, &hints, now);
            result = decided;
            step
        })?;
        let (session, revival) = result?;
        if let Some(revival) = revival {
            inner.count_revival(revival);
        }
        Ok(session)
    }
}
