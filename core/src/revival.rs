//! `resume` and `revive`: bringing a session back with its original id, or
//! starting one linked to it (see `docs/semantics.md`).

use crate::attrs::{self, Attrs};
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::session::{Hints, Outcome, Session};
use crate::store::record::Record;
use crate::store::shard::{Ctx, Shard};
use crate::tracker::{Inner, Tracker, check_user, snapshot};

/// Hints checked once, before anything changes.
struct Checked {
    user_id: Option<String>,
    attrs: Option<Attrs>,
    views: u32,
    events: u32,
    /// A counter hint was over `max_counter_hint`, and was cut down.
    clamped: bool,
}

fn check(hints: Hints, inner: &Inner) -> Result<Checked> {
    check_user(hints.user_id.as_deref())?;
    let (views, views_clamped) = inner.rules.counter_hint(hints.view_sequence);
    let (events, events_clamped) = inner.rules.counter_hint(hints.event_sequence);
    Ok(Checked {
        views,
        events,
        clamped: views_clamped || events_clamped,
        attrs: inner.new_attrs(hints.attrs)?,
        user_id: hints.user_id,
    })
}

/// Who asked for a revival: `resume` must never lock a returning client
/// out, so given attributes that do not fit are left out there; an
/// explicit `revive` is refused, as `set_attrs` would be.
#[derive(Clone, Copy, PartialEq)]
enum By {
    Resume,
    Revive,
}

/// What `resume` found under the lock of the id's shard.
enum Found {
    Existing(Session),
    Revived(Session),
    /// Start a new session after this one.
    Link {
        previous: SessionId,
        index: u32,
        user_id: Option<Box<str>>,
    },
    /// Start a new session, unlinked (the old one was erased).
    Fresh,
}

impl Tracker {
    /// What a web request calls with the token its client holds: the live
    /// session (`existing`), the same session brought back (`revived`), or
    /// a new one (`started`, linked to the old one when there was one).
    /// A bad token is never an error: it starts a session and is counted
    /// in [`crate::Stats::rejected`]. Errors are for bad hints only.
    pub fn resume(&self, token: Option<&str>, hints: Hints) -> Result<(Session, Outcome)> {
        let inner = &*self.inner;
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
            let found = inner.with(id, |shard, ctx| resume_in_shard(shard, ctx, id, &hints))?;
            match found {
                Found::Existing(s) => return Ok((inner.signed(s), Outcome::Existing)),
                Found::Revived(s) => return Ok((inner.signed(s), Outcome::Revived)),
                Found::Link {
                    previous,
                    index,
                    user_id,
                } => {
                    record.session_index = index;
                    let extra = record.extra_mut();
                    extra.previous_id = Some(previous);
                    extra.user_id = user_id;
                }
                Found::Fresh => {}
            }
        }
        if let Some(user) = &hints.user_id {
            record.set_user(Some(user));
        }
        if let Some(attrs) = hints.attrs {
            record.extra_mut().attrs = attrs;
        }
        Ok((inner.start(record, rejected), Outcome::Started))
    }

    /// Brings the session `id` back with its counters (the maximum of what
    /// the tracker knew and the hints), or returns it if live. Fails with
    /// [`Error::SessionNotRevivable`] for a session that ended, reached its
    /// lifetime, or whose UUIDv7 time is out of range.
    pub fn revive(&self, id: SessionId, hints: Hints) -> Result<Session> {
        let inner = &*self.inner;
        let hints = check(hints, inner)?;
        let session = inner.with(id, |shard, ctx| {
            if let Some(record) = shard.live_mut(id, ctx) {
                let merged = merge(record.attrs(), hints.attrs, ctx)?;
                record.raise_counters(hints.views, hints.events);
                record.touch(ctx.now);
                if let Some(attrs) = merged {
                    record.extra_mut().attrs = attrs;
                }
                if let Some(user) = &hints.user_id {
                    shard.set_user(id, Some(user), ctx.users);
                }
                return live_record(shard, ctx, id);
            }
            let not_revivable = |reason| Error::SessionNotRevivable { id, reason };
            let now = ctx.now;
            match shard.dormant(id, ctx) {
                Some(dormant) => ctx.rules.dormant_revivable(dormant, now, false),
                None => ctx.rules.acceptable_unknown(id, now),
            }
            .map_err(not_revivable)?;
            bring_back(shard, ctx, id, &hints, By::Revive)
        })?;
        Ok(inner.signed(session))
    }
}

fn resume_in_shard(
    shard: &mut Shard,
    ctx: &mut Ctx,
    id: SessionId,
    hints: &Checked,
) -> Result<Found> {
    if let Some(record) = shard.live_mut(id, ctx) {
        record.touch(ctx.now);
        if let Some(user) = &hints.user_id {
            shard.set_user(id, Some(user), ctx.users);
        }
        shard.stats.resumed += 1;
        return live_record(shard, ctx, id).map(Found::Existing);
    }
    let now = ctx.now;
    let refusal = match shard.dormant(id, ctx) {
        // Erased by `forget_user`: a new session, as if from nothing.
        Some(dormant) if dormant.erased => return Ok(Found::Fresh),
        Some(dormant) => ctx
            .rules
            .dormant_revivable(dormant, now, true)
            .map_err(|_| {
                // A user logged out is not passed on.
                let user = dormant.record.user_id().filter(|_| !dormant.barred);
                (
                    dormant.record.session_index.saturating_add(1),
                    user.map(Box::from),
                )
            }),
        None => ctx.rules.acceptable_unknown(id, now).map_err(|_| (2, None)),
    };
    match refusal {
        Ok(()) => bring_back(shard, ctx, id, hints, By::Resume).map(Found::Revived),
        Err((index, user_id)) => Ok(Found::Link {
            previous: id,
            index,
            user_id,
        }),
    }
}

fn live_record(shard: &mut Shard, ctx: &mut Ctx, id: SessionId) -> Result<Session> {
    let record = shard
        .live_mut(id, ctx)
        .ok_or(Error::SessionNotFound { id })?;
    Ok(snapshot(ctx.rules, id, record))
}

/// Revives `id` from its dormant record, or from nothing for an unknown id.
fn bring_back(
    shard: &mut Shard,
    ctx: &mut Ctx,
    id: SessionId,
    hints: &Checked,
    by: By,
) -> Result<Session> {
    let base = shard.dormant(id, ctx).map(|d| &d.record);
    let mut attrs_dropped = false;
    let attrs = match merge(base.and_then(Record::attrs), hints.attrs.clone(), ctx) {
        Ok(attrs) => attrs,
        // Only the size can fail here: the given attrs were checked alone.
        Err(_) if by == By::Resume => {
            attrs_dropped = true;
            None
        }
        Err(err) => return Err(err),
    };
    let mut record = match shard.take_dormant(id, ctx) {
        Some(dormant) => dormant.record,
        None => {
            let mut record = Record::new(ctx.now);
            record.started_at = ctx.rules.unknown_started_at(id, ctx.now);
            record
        }
    };
    record.raise_counters(hints.views, hints.events);
    record.revivals = record.revivals.saturating_add(1);
    record.touch(ctx.now);
    if let Some(user) = &hints.user_id {
        record.set_user(Some(user));
    }
    if let Some(attrs) = attrs {
        record.extra_mut().attrs = attrs;
    }
    let session = snapshot(ctx.rules, id, &record);
    shard.insert(id, record, ctx);
    shard.stats.revived += 1;
    shard.stats.hints_clamped += u64::from(hints.clamped);
    shard.stats.attrs_dropped += u64::from(attrs_dropped);
    Ok(session)
}

/// `base` merged with `update`, checked against the size bound; `None`
/// when there is nothing to merge.
fn merge(base: Option<&Attrs>, update: Option<Attrs>, ctx: &Ctx) -> Result<Option<Attrs>> {
    update
        .map(|u| attrs::merged(base, u, ctx.rules.max_attrs_bytes))
        .transpose()
}
