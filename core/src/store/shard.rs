//! One shard of the memory store: its live sessions, its dormant records
//! and their deadline queues, under one lock.
//!
//! Expiry uses lazy rescheduling: a live session has exactly one valid entry
//! in `expiry`, at the deadline recorded in `Record::scheduled`. Touching a
//! session does not move that entry; when it comes due and the session has
//! been active since, it is pushed again at the new deadline. Each session
//! is thus rescheduled at most once per idle period, and the track path
//! never touches the queue.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use foldhash::fast::RandomState;
use indexmap::IndexMap;

use crate::config::{MAX_COUNTER, Rules};
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::session::{EndReason, EndedStats, Kind, Tick};
use crate::store::record::{Dormant, Record};
use crate::store::table::Table;
use crate::store::users::UserIndex;

pub(crate) type IdMap<V> = IndexMap<SessionId, V, RandomState>;

/// A deadline in a queue: 24 bytes, ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: i64,
    hi: u64,
    lo: u64,
}

impl Due {
    fn new(at: i64, id: SessionId) -> Self {
        let bits = id.as_u128();
        Due {
            at,
            hi: (bits >> 64) as u64,
            lo: bits as u64,
        }
    }

    fn id(self) -> SessionId {
        // Only valid ids are ever queued, so these bits are one.
        SessionId::from_bits((u128::from(self.hi) << 64) | u128::from(self.lo))
    }
}

/// Sets the user of the live session `id` and keeps the user index in step.
pub(crate) fn assign_user(
    record: &mut Record,
    id: SessionId,
    user: Option<&str>,
    users: &UserIndex,
) {
    if record.user_id() == user {
        return;
    }
    if let Some(old) = record.set_user(user) {
        users.remove(&old, id);
    }
    if let Some(user) = user {
        users.add(user, id);
    }
}

/// A session that left the live store, for its summary.
#[derive(Debug, Clone)]
pub(crate) struct Departure {
    pub id: SessionId,
    pub record: Record,
    pub reason: EndReason,
    pub ended_at: i64,
    pub revivable: bool,
}

/// What every shard operation needs besides the shard.
pub(crate) struct Ctx<'a> {
    pub now: i64,
    pub rules: &'a Rules,
    /// Users of live sessions.
    pub users: &'a UserIndex,
    /// Users of dormant records.
    pub dormant_users: &'a UserIndex,
    pub out: &'a mut Vec<Departure>,
}

/// Counters kept per shard so that threads on different shards never share
/// a cache line.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ShardStats {
    pub started: u64,
    pub revived: u64,
    pub resumed: u64,
    pub rejected: u64,
    pub hints_clamped: u64,
    pub attrs_dropped: u64,
    pub ended: EndedStats,
}

// `repr(C)` and `live` first: the table's header shares the cache line of
// the lock, so a lookup moves one line between cores, not two.
#[repr(C)]
pub(crate) struct Shard {
    live: Table,
    dormant: IdMap<Dormant>,
    expiry: BinaryHeap<Reverse<Due>>,
    forget: BinaryHeap<Reverse<Due>>,
    max_live: usize,
    max_dormant: usize,
    pub stats: ShardStats,
}

impl Shard {
    pub fn new(max_live: usize, max_dormant: usize) -> Self {
        Shard {
            live: Table::new(RandomState::default()),
            dormant: IdMap::default(),
            expiry: BinaryHeap::new(),
            forget: BinaryHeap::new(),
            max_live,
            max_dormant,
            stats: ShardStats::default(),
        }
    }

    #[cfg(test)]
    pub fn max_live(&self) -> usize {
        self.max_live
    }

    #[cfg(test)]
    pub fn max_dormant(&self) -> usize {
        self.max_dormant
    }

    pub fn live_len(&self) -> usize {
        self.live.len()
    }

    pub fn dormant_len(&self) -> usize {
        self.dormant.len()
    }

    /// The live session `id`, if it has not expired; one that has is sent
    /// away on the spot, so that expiry never waits for a sweep.
    pub fn live_mut(&mut self, id: SessionId, ctx: &mut Ctx) -> Option<&mut Record> {
        let record = self.live.get(id)?;
        if ctx.rules.expires_at(record) <= ctx.now {
            let reason = ctx.rules.expiry_reason(record);
            self.depart(id, reason, ctx);
            return None;
        }
        self.live.get_mut(id)
    }

    /// The live session `id` without expiring it or touching it.
    pub fn peek(&self, id: SessionId, rules: &Rules, now: i64) -> Option<&Record> {
        self.live.get(id).filter(|r| rules.expires_at(r) > now)
    }

    pub fn contains(&self, id: SessionId) -> bool {
        self.live.contains(id) || self.dormant.contains_key(&id)
    }

    pub fn track(&mut self, id: SessionId, kind: Kind, ctx: &mut Ctx) -> Result<Tick> {
        let now = ctx.now;
        let record = self
            .live_mut(id, ctx)
            .ok_or(Error::SessionNotFound { id })?;
        let counter = match kind {
            Kind::View => &mut record.views,
            Kind::Event => &mut record.events,
        };
        *counter = counter.checked_add(1).ok_or_else(|| {
            Error::invalid(
                "kind",
                format!(
                    "the {kind:?} counter of {id} is at its maximum, {}",
                    MAX_COUNTER
                ),
            )
        })?;
        record.touch(now);
        let tick = Tick {
            view_sequence: record.views.into(),
            event_sequence: record.events.into(),
            sequence: u64::from(record.views) + u64::from(record.events),
        };
        Ok(tick)
    }

    /// Adds a live session, evicting the one closest to expiry if full.
    pub fn insert(&mut self, id: SessionId, mut record: Record, ctx: &mut Ctx) {
        while self.live.len() >= self.max_live && self.evict_one(ctx) {}
        record.scheduled = ctx.rules.expires_at(&record);
        self.expiry.push(Reverse(Due::new(record.scheduled, id)));
        if let Some(user) = record.user_id() {
            ctx.users.add(user, id);
        }
        self.live.insert(id, record);
    }

    /// Takes the dormant record `id` out (to revive it).
    pub fn take_dormant(&mut self, id: SessionId, ctx: &mut Ctx) -> Option<Dormant> {
        self.dormant(id, ctx)?;
        self.remove_dormant(id, ctx.dormant_users)
    }

    /// The dormant record `id`, if it is still within retention; one past
    /// it is forgotten on the spot, so that retention never waits for a
    /// sweep either.
    pub fn dormant(&mut self, id: SessionId, ctx: &mut Ctx) -> Option<&Dormant> {
        let record = self.dormant.get(&id)?;
        if record.ended_at.saturating_add(ctx.rules.retention_ms) <= ctx.now {
            self.remove_dormant(id, ctx.dormant_users);
            return None;
        }
        self.dormant.get(&id)
    }

    /// For `end_user`: the dormant record `id`, if it is the user's, is
    /// no longer revivable and no longer passes its user on (it keeps the
    /// user, for `forget_user` to find).
    pub fn bar_dormant(&mut self, id: SessionId, user: &str, ctx: &mut Ctx) -> bool {
        self.users_dormant(id, user, ctx)
            .map(|d| d.barred = true)
            .is_some()
    }

    /// For `forget_user`: the dormant record `id`, if it is the user's,
    /// becomes a tombstone: no user, counters, attributes or linkage.
    pub fn erase_dormant(&mut self, id: SessionId, user: &str, ctx: &mut Ctx) -> bool {
        let Some(d) = self.users_dormant(id, user, ctx) else {
            return false;
        };
        *d = Dormant::tombstone(d.ended_at);
        ctx.dormant_users.remove(user, id);
        true
    }

    /// The dormant record `id` within retention, if it is `user`'s.
    fn users_dormant(&mut self, id: SessionId, user: &str, ctx: &mut Ctx) -> Option<&mut Dormant> {
        self.dormant(id, ctx)?;
        self.dormant
            .get_mut(&id)
            .filter(|d| d.record.user_id() == Some(user))
    }

    /// Removes the dormant record `id` and its entry in the user index.
    fn remove_dormant(&mut self, id: SessionId, users: &UserIndex) -> Option<Dormant> {
        let dormant = self.dormant.swap_remove(&id)?;
        if let Some(user) = dormant.record.user_id() {
            users.remove(user, id);
        }
        Some(dormant)
    }

    /// Sets the user of a live session and keeps the user index in step.
    pub fn set_user(&mut self, id: SessionId, user: Option<&str>, users: &UserIndex) {
        if let Some(record) = self.live.get_mut(id) {
            assign_user(record, id, user, users);
        }
    }

    /// Ends the live session `id` with `reason`; false if it is not live.
    pub fn end(&mut self, id: SessionId, reason: EndReason, ctx: &mut Ctx) -> bool {
        if self.live_mut(id, ctx).is_none() {
            return false;
        }
        self.depart(id, reason, ctx)
    }

    /// The ids of the live sessions (some perhaps due), for `end_all` to
    /// end in rounds.
    pub fn live_ids(&self) -> Vec<SessionId> {
        self.live.iter().map(|(id, _)| id).collect()
    }

    /// Every live session, without touching them.
    pub fn snapshot_all(&self, rules: &Rules, now: i64) -> Vec<(SessionId, Record)> {
        self.live
            .iter()
            .filter(|(_, r)| rules.expires_at(r) > now)
            .map(|(id, r)| (id, r.clone()))
            .collect()
    }

    /// Sends away the sessions due by `ctx.now` and forgets the dormant
    /// records past retention, taking at most `budget` entries off each
    /// queue, so that a caller can let go of the lock between rounds.
    /// Returns how many sessions departed, and whether work is left.
    pub fn sweep(&mut self, ctx: &mut Ctx, budget: usize) -> (usize, bool) {
        let mut departed = 0;
        let mut taken = 0;
        while let Some(&Reverse(due)) = self.expiry.peek() {
            if due.at > ctx.now {
                break;
            }
            if taken == budget {
                return (departed, true);
            }
            taken += 1;
            self.expiry.pop();
            if let Some(reason) = self.settle(due, ctx.rules) {
                self.depart(due.id(), reason, ctx);
                departed += 1;
            }
        }
        taken = 0;
        while let Some(&Reverse(due)) = self.forget.peek() {
            if due.at > ctx.now {
                break;
            }
            if taken == budget {
                return (departed, true);
            }
            taken += 1;
            self.forget.pop();
            self.forget_if_current(due, ctx);
        }
        (departed, false)
    }

    /// Evicts the live session with the earliest deadline (which, since
    /// `settle` reschedules touched sessions first, is truly the closest to
    /// expiry). One already due leaves for its own reason.
    fn evict_one(&mut self, ctx: &mut Ctx) -> bool {
        while let Some(Reverse(due)) = self.expiry.pop() {
            let Some(expiry) = self.settle(due, ctx.rules) else {
                continue;
            };
            let reason = if due.at <= ctx.now {
                expiry
            } else {
                EndReason::Evicted
            };
            self.depart(due.id(), reason, ctx);
            return true;
        }
        false
    }

    /// For a queue entry just popped: if the entry is current and its
    /// session's deadline is still the entry's, the reason it would expire
    /// for. A session touched since is queued again at its new deadline; a
    /// stale entry (its session gone or rescheduled) is dropped.
    fn settle(&mut self, due: Due, rules: &Rules) -> Option<EndReason> {
        let id = due.id();
        let record = self.live.get_mut(id)?;
        if record.scheduled != due.at {
            return None;
        }
        let deadline = rules.expires_at(record);
        if deadline == due.at {
            return Some(rules.expiry_reason(record));
        }
        record.scheduled = deadline;
        self.expiry.push(Reverse(Due::new(deadline, id)));
        None
    }

    fn forget_if_current(&mut self, due: Due, ctx: &Ctx) -> bool {
        let id = due.id();
        let current = self
            .dormant
            .get(&id)
            .is_some_and(|d| d.ended_at.saturating_add(ctx.rules.retention_ms) == due.at);
        current && self.remove_dormant(id, ctx.dormant_users).is_some()
    }

    /// Moves the live session `id` to the dormant records; false if it
    /// was not live.
    fn depart(&mut self, id: SessionId, reason: EndReason, ctx: &mut Ctx) -> bool {
        match self.live.remove(id) {
            Some(record) => {
                self.retire(id, record, reason, ctx);
                true
            }
            None => false,
        }
    }

    /// Records the departure of a session taken out of the live table.
    fn retire(&mut self, id: SessionId, record: Record, reason: EndReason, ctx: &mut Ctx) {
        if let Some(user) = record.user_id() {
            ctx.users.remove(user, id);
        }
        self.stats.ended.add(reason, 1);
        // An expiry happened at the deadline, however late it is noticed.
        let ended_at = match reason {
            EndReason::Idle | EndReason::Lifetime => ctx.rules.expires_at(&record).min(ctx.now),
            EndReason::Ended | EndReason::Evicted => ctx.now,
        };
        let revivable = ctx.rules.revivable(reason, &record, ended_at, true).is_ok();
        if ctx.rules.retention_ms > 0 && self.max_dormant > 0 {
            while self.dormant.len() >= self.max_dormant && self.forget_oldest(ctx) {}
            let forget_at = ended_at.saturating_add(ctx.rules.retention_ms);
            self.forget.push(Reverse(Due::new(forget_at, id)));
            if let Some(user) = record.user_id() {
                ctx.dormant_users.add(user, id);
            }
            let dormant = Dormant {
                record: record.clone(),
                reason,
                ended_at,
                barred: false,
                erased: false,
            };
            self.dormant.insert(id, dormant);
        }
        ctx.out.push(Departure {
            id,
            record,
            reason,
            ended_at,
            revivable,
        });
        self.compact_queues(ctx.rules);
    }

    fn forget_oldest(&mut self, ctx: &Ctx) -> bool {
        while let Some(Reverse(due)) = self.forget.pop() {
            if self.forget_if_current(due, ctx) {
                return true;
            }
        }
        false
    }

    /// Drops stale queue entries once they outnumber the valid ones, so
    /// that sessions ended early cannot grow the queues without bound.
    fn compact_queues(&mut self, rules: &Rules) {
        if self.expiry.len() > 2 * self.live.len() + 1024 {
            self.expiry = self
                .live
                .iter()
                .map(|(id, r)| Reverse(Due::new(r.scheduled, id)))
                .collect();
        }
        if self.forget.len() > 2 * self.dormant.len() + 1024 {
            self.forget = self
                .dormant
                .iter()
                .map(|(id, d)| {
                    Reverse(Due::new(d.ended_at.saturating_add(rules.retention_ms), *id))
                })
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            idle_ms: 60_000,
            lifetime_ms: 3_600_000,
            window_ms: 60_000,
            retention_ms: 3_600_000,
            max_attrs_bytes: 4096,
            max_counter_hint: 100_000,
        }
    }

    /// A context at `now`, one index for the users of live and dormant
    /// sessions alike.
    fn ctx<'a>(
        now: i64,
        rules: &'a Rules,
        users: &'a UserIndex,
        out: &'a mut Vec<Departure>,
    ) -> Ctx<'a> {
        Ctx {
            now,
            rules,
            users,
            dormant_users: users,
            out,
        }
    }

    #[test]
    fn queues_of_sessions_ended_early_stay_bounded() {
        let rules = rules();
        let users = UserIndex::new(1);
        let mut shard = Shard::new(1_000_000, 1_000_000);
        let mut out = Vec::new();
        for i in 0..20_000 {
            let mut ctx = ctx(i, &rules, &users, &mut out);
            let id = SessionId::new_v7(i);
            shard.insert(id, Record::new(i), &mut ctx);
            assert!(shard.end(id, EndReason::Ended, &mut ctx));
            out.clear();
        }
        assert_eq!(shard.live_len(), 0);
        assert!(
            shard.expiry.len() <= 1024 + 1,
            "{} stale entries",
            shard.expiry.len()
        );
    }

    #[test]
    fn a_sweep_takes_at_most_its_budget_and_says_what_is_left() {
        let rules = rules();
        let users = UserIndex::new(1);
        let mut shard = Shard::new(1_000_000, 1_000_000);
        let mut out = Vec::new();
        let mut ctx = ctx(0, &rules, &users, &mut out);
        for _ in 0..1_000 {
            shard.insert(SessionId::new_v7(0), Record::new(0), &mut ctx);
        }
        ctx.now = rules.idle_ms;
        assert_eq!(shard.sweep(&mut ctx, 300), (300, true));
        assert_eq!(shard.sweep(&mut ctx, 300), (300, true));
        assert_eq!(shard.sweep(&mut ctx, 300), (300, true));
        assert_eq!(shard.sweep(&mut ctx, 300), (100, false));
        assert_eq!((shard.live_len(), ctx.out.len()), (0, 1_000));
    }

    #[test]
    fn eviction_takes_the_earliest_real_deadline() {
        let rules = rules();
        let users = UserIndex::new(1);
        let mut shard = Shard::new(2, 10);
        let mut out = Vec::new();
        let (a, b, c) = (
            SessionId::new_v7(0),
            SessionId::new_v7(0),
            SessionId::new_v7(0),
        );
        let mut ctx = ctx(0, &rules, &users, &mut out);
        shard.insert(a, Record::new(0), &mut ctx);
        shard.insert(b, Record::new(0), &mut ctx);
        ctx.now = 10;
        shard.live_mut(a, &mut ctx).unwrap().touch(10);
        shard.insert(c, Record::new(10), &mut ctx);
        assert_eq!(ctx.out.len(), 1);
        assert_eq!((ctx.out[0].id, ctx.out[0].reason), (b, EndReason::Evicted));
        assert!(shard.peek(a, &rules, 10).is_some());
    }
}
