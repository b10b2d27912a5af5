//! One shard of the memory store: its live sessions, its dormant records
//! and their deadline queues, under one lock. It carries out what the
//! tracker decides; the rules it needs it calls from `crate::rules`.
//!
//! Expiry uses lazy rescheduling: a live session has exactly one valid entry
//! in `expiry`, at the deadline recorded in its slot's `scheduled`. Touching
//! a session does not move that entry; when it comes due and the session has
//! been active since, it is pushed again at the new deadline. Each session
//! is thus rescheduled at most once per idle period, and the track path
//! never touches the queue.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use foldhash::fast::RandomState;
use indexmap::IndexMap;

use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::model::{Dormant, Entry, EntryRef, Record};
use crate::session::{EndReason, Kind, Tick};
use crate::store::memory::table::Table;
use crate::store::memory::users::UserIndex;
use crate::store::{Action, Cx, Found, Step};

pub(crate) type IdMap<V> = IndexMap<SessionId, V, RandomState>;

/// A deadline in a queue: 24 bytes, ordered by time, then by id.
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

/// The store's two user indexes: of live sessions, of dormant records.
pub(crate) struct Users {
    pub live: UserIndex,
    pub dormant: UserIndex,
}

/// Which state of a session the tracker was shown.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Live,
    Dormant,
    Absent,
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

    /// The store's atomic step on `id` (see `Store::update`), under this
    /// shard's lock.
    #[inline]
    pub fn update(
        &mut self,
        id: SessionId,
        cx: &mut Cx<'_>,
        users: &Users,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) {
        loop {
            let (shown, step) = match self.live.get_mut(id) {
                Some(slot) => match f(Found::Live(&mut slot.record)) {
                    // The common change of a live session, done while its
                    // slot is at hand: no second lookup for the new user.
                    Step::Done(Action::UserChanged { old }) => {
                        let now = slot.record.user_id();
                        return move_user(&users.live, id, old.as_deref(), now);
                    }
                    step => (Shown::Live, step),
                },
                None => match self.dormant.get_mut(&id) {
                    Some(d) => (Shown::Dormant, f(Found::Dormant(d))),
                    None => (Shown::Absent, f(Found::Absent)),
                },
            };
            match step {
                Step::Done(Action::Keep | Action::Changed) => return,
                Step::Done(action) => return self.apply(id, shown, action, cx, users),
                Step::Again(action) => self.apply(id, shown, action, cx, users),
            }
        }
    }

    fn apply(&mut self, id: SessionId, shown: Shown, action: Action, cx: &mut Cx, users: &Users) {
        match (shown, action) {
            (_, Action::Keep | Action::Changed) => {}
            (Shown::Live, Action::UserChanged { old }) => {
                let now = self.live.get(id).and_then(|s| s.record.user_id());
                move_user(&users.live, id, old.as_deref(), now);
            }
            (Shown::Dormant, Action::UserChanged { old }) => {
                let now = self.dormant.get(&id).and_then(|d| d.record.user_id());
                move_user(&users.dormant, id, old.as_deref(), now);
            }
            (Shown::Live, Action::Depart(reason)) => {
                self.depart(id, reason, cx, users);
            }
            (Shown::Dormant, Action::Forget) => {
                self.remove_dormant(id, users);
            }
            (shown, Action::Insert(record)) => {
                if shown == Shown::Dormant {
                    self.remove_dormant(id, users);
                }
                if shown == Shown::Live {
                    self.depart_quietly(id, users);
                }
                self.insert(id, record, cx, users);
            }
            // Nothing else is ever asked: departing what is not live,
            // forgetting what is not dormant.
            _ => {}
        }
    }

    /// `Store::track`, specialised: the session settled and counted
    /// without a closure, as the rules say (`Rules::due`, `Rules::track`).
    #[inline]
    pub fn track(&mut self, id: SessionId, kind: Kind, cx: &mut Cx, users: &Users) -> Result<Tick> {
        let now = cx.now;
        let Some(slot) = self.live.get_mut(id) else {
            return Err(Error::SessionNotFound { id });
        };
        if let Some(reason) = cx.rules.due(&slot.record, now) {
            self.depart(id, reason, cx, users);
            return Err(Error::SessionNotFound { id });
        }
        cx.rules
            .track(Found::Live(&mut slot.record), id, kind, now)
            .0
    }

    /// Shows the live session `id`, unjudged.
    pub fn peek(&self, id: SessionId) -> Option<&Record> {
        self.live.get(id).map(|s| &s.record)
    }

    /// Adds a live session, evicting the one closest to expiry if full.
    fn insert(&mut self, id: SessionId, record: Record, cx: &mut Cx, users: &Users) {
        while self.live.len() >= self.max_live && self.evict_one(cx, users) {}
        let scheduled = cx.rules.expires_at(&record);
        self.expiry.push(Reverse(Due::new(scheduled, id)));
        if let Some(user) = record.user_id() {
            users.live.add(user, id);
        }
        self.live.insert(id, record, scheduled);
    }

    /// Removes the dormant record `id` and its entry in the user index.
    fn remove_dormant(&mut self, id: SessionId, users: &Users) -> Option<Dormant> {
        let dormant = self.dormant.swap_remove(&id)?;
        if let Some(user) = dormant.record.user_id() {
            users.dormant.remove(user, id);
        }
        Some(dormant)
    }

    /// Removes the live session `id` without a departure (replaced).
    fn depart_quietly(&mut self, id: SessionId, users: &Users) {
        if let Some(record) = self.live.remove(id) {
            if let Some(user) = record.user_id() {
                users.live.remove(user, id);
            }
        }
    }

    /// Every live session, unjudged.
    pub fn scan(&self, f: &mut dyn FnMut(SessionId, &Record)) {
        for slot in self.live.iter() {
            f(slot.id, &slot.record);
        }
    }

    /// Every session, live and dormant, as entries.
    pub fn export(&self, f: &mut dyn FnMut(EntryRef<'_>)) {
        for slot in self.live.iter() {
            f(EntryRef::Live(slot.id, &slot.record));
        }
        for (&id, d) in &self.dormant {
            f(EntryRef::Dormant(id, d));
        }
    }

    /// Adds an exported session as it is, replacing one of the same id.
    pub fn import(&mut self, entry: Entry, cx: &mut Cx, users: &Users) {
        let id = match &entry {
            Entry::Live(id, _) | Entry::Dormant(id, _) => *id,
        };
        self.depart_quietly(id, users);
        self.remove_dormant(id, users);
        match entry {
            Entry::Live(id, record) => self.insert(id, record, cx, users),
            Entry::Dormant(id, dormant) => self.remember(id, dormant, cx, users),
        }
    }

    /// Sends away the sessions due by `cx.now` and forgets the dormant
    /// records past retention, taking at most `budget` entries off each
    /// queue, so that a caller can let go of the lock between rounds.
    /// Returns whether work is left.
    pub fn sweep(&mut self, cx: &mut Cx, users: &Users, budget: usize) -> bool {
        let mut taken = 0;
        loop {
            match next_due(&mut self.expiry, cx.now, &mut taken, budget) {
                Next::Budget => return true,
                Next::Empty => break,
                Next::Due(due) => {
                    let due_for = self.settle(due, cx).and_then(|r| cx.rules.due(r, cx.now));
                    if let Some(reason) = due_for {
                        self.depart(due.id(), reason, cx, users);
                    }
                }
            }
        }
        taken = 0;
        loop {
            match next_due(&mut self.forget, cx.now, &mut taken, budget) {
                Next::Budget => return true,
                Next::Empty => return false,
                Next::Due(due) => {
                    self.forget_if_current(due, cx, users);
                }
            }
        }
    }

    /// Evicts the live session with the earliest deadline (which, since
    /// `settle` reschedules touched sessions first, is truly the closest to
    /// expiry), for the reason the rules give.
    fn evict_one(&mut self, cx: &mut Cx, users: &Users) -> bool {
        while let Some(Reverse(due)) = self.expiry.pop() {
            let Some(reason) = self
                .settle(due, cx)
                .map(|r| cx.rules.eviction_reason(r, cx.now))
            else {
                continue;
            };
            self.depart(due.id(), reason, cx, users);
            return true;
        }
        false
    }

    /// For a queue entry just popped: its session, if the entry is current
    /// and the session's deadline is still the entry's. A session touched
    /// since is queued again at its new deadline; a stale entry (its
    /// session gone or rescheduled) is dropped.
    fn settle(&mut self, due: Due, cx: &Cx) -> Option<&Record> {
        let id = due.id();
        let slot = self.live.get_mut(id)?;
        if slot.scheduled != due.at {
            return None;
        }
        let deadline = cx.rules.expires_at(&slot.record);
        if deadline != due.at {
            slot.scheduled = deadline;
            self.expiry.push(Reverse(Due::new(deadline, id)));
            return None;
        }
        self.live.get(id).map(|s| &s.record)
    }

    /// Whether a forget queue entry is its record's current one.
    fn is_current(&self, due: Due, cx: &Cx) -> bool {
        self.dormant
            .get(&due.id())
            .is_some_and(|d| cx.rules.forget_at(d) == due.at)
    }

    fn forget_if_current(&mut self, due: Due, cx: &Cx, users: &Users) -> bool {
        self.is_current(due, cx) && self.remove_dormant(due.id(), users).is_some()
    }

    /// Moves the live session `id` to the dormant records, its departure
    /// going to `cx`; false if it was not live.
    fn depart(&mut self, id: SessionId, reason: EndReason, cx: &mut Cx, users: &Users) -> bool {
        let Some(record) = self.live.remove(id) else {
            return false;
        };
        if let Some(user) = record.user_id() {
            users.live.remove(user, id);
        }
        if let Some(dormant) = cx.depart(id, record, reason) {
            self.remember(id, dormant, cx, users);
        }
        self.compact_queues(cx);
        true
    }

    /// Keeps a dormant record, forgetting the oldest if at `max_dormant`:
    /// the one closest to being forgotten, which may be the newcomer
    /// itself (a late-noticed expiry ended long ago).
    fn remember(&mut self, id: SessionId, dormant: Dormant, cx: &Cx, users: &Users) {
        if self.max_dormant == 0 {
            return;
        }
        let newcomer = Due::new(cx.rules.forget_at(&dormant), id);
        while self.dormant.len() >= self.max_dormant {
            let Some(Reverse(oldest)) = self.forget.pop() else {
                break;
            };
            if !self.is_current(oldest, cx) {
                continue;
            }
            if newcomer < oldest {
                self.forget.push(Reverse(oldest));
                return;
            }
            self.remove_dormant(oldest.id(), users);
        }
        self.forget.push(Reverse(newcomer));
        if let Some(user) = dormant.record.user_id() {
            users.dormant.add(user, id);
        }
        self.dormant.insert(id, dormant);
    }

    /// Drops stale queue entries once they outnumber the valid ones, so
    /// that sessions ended early cannot grow the queues without bound.
    fn compact_queues(&mut self, cx: &Cx) {
        if self.expiry.len() > 2 * self.live.len() + 1024 {
            self.expiry = self
                .live
                .iter()
                .map(|s| Reverse(Due::new(s.scheduled, s.id)))
                .collect();
        }
        if self.forget.len() > 2 * self.dormant.len() + 1024 {
            self.forget = self
                .dormant
                .iter()
                .map(|(id, d)| Reverse(Due::new(cx.rules.forget_at(d), *id)))
                .collect();
        }
    }
}

/// What a sweep takes next off a queue.
enum Next {
    Due(Due),
    /// Nothing is due.
    Empty,
    /// The budget is spent, and entries are due.
    Budget,
}

/// The next entry of `queue` due by `now`, popped, if `taken` is under
/// `budget` (and then counted).
fn next_due(
    queue: &mut BinaryHeap<Reverse<Due>>,
    now: i64,
    taken: &mut usize,
    budget: usize,
) -> Next {
    match queue.peek() {
        Some(&Reverse(due)) if due.at <= now => {
            if *taken == budget {
                return Next::Budget;
            }
            *taken += 1;
            queue.pop();
            Next::Due(due)
        }
        _ => Next::Empty,
    }
}

/// Moves `id` in a user index from the user it had to the one it has.
fn move_user(index: &UserIndex, id: SessionId, old: Option<&str>, now: Option<&str>) {
    if old == now {
        return;
    }
    if let Some(old) = old {
        index.remove(old, id);
    }
    if let Some(now) = now {
        index.add(now, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Rules, test_rules};

    fn users() -> Users {
        Users {
            live: UserIndex::new(1),
            dormant: UserIndex::new(1),
        }
    }

    /// What the tracker asks to end a session: settle it, then depart it.
    fn end(shard: &mut Shard, id: SessionId, cx: &mut Cx, users: &Users) {
        let rules: Rules = *cx.rules;
        let now = cx.now;
        shard.update(id, cx, users, &mut |found| rules.end(found, now));
    }

    fn insert(shard: &mut Shard, id: SessionId, at: i64, cx: &mut Cx, users: &Users) {
        shard.update(id, cx, users, &mut |_| {
            Step::Done(Action::Insert(Record::new(at)))
        });
    }

    #[test]
    fn queues_of_sessions_ended_early_stay_bounded() {
        let rules = test_rules();
        let users = users();
        let mut shard = Shard::new(1_000_000, 1_000_000);
        for i in 0..20_000 {
            let mut cx = Cx::new(i, &rules);
            let id = SessionId::new_v7(i);
            insert(&mut shard, id, i, &mut cx, &users);
            end(&mut shard, id, &mut cx, &users);
            assert_eq!(cx.departed.len(), 1);
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
        let rules = test_rules();
        let users = users();
        let mut shard = Shard::new(1_000_000, 1_000_000);
        let mut cx = Cx::new(0, &rules);
        for _ in 0..1_000 {
            insert(&mut shard, SessionId::new_v7(0), 0, &mut cx, &users);
        }
        cx.now = rules.idle_ms;
        for _ in 0..3 {
            assert!(shard.sweep(&mut cx, &users, 300));
        }
        assert!(!shard.sweep(&mut cx, &users, 300));
        assert_eq!((shard.live_len(), cx.departed.len()), (0, 1_000));
    }

    #[test]
    fn eviction_takes_the_earliest_real_deadline() {
        let rules = test_rules();
        let users = users();
        let mut shard = Shard::new(2, 10);
        let (a, b, c) = (
            SessionId::new_v7(0),
            SessionId::new_v7(0),
            SessionId::new_v7(0),
        );
        let mut cx = Cx::new(0, &rules);
        insert(&mut shard, a, 0, &mut cx, &users);
        insert(&mut shard, b, 0, &mut cx, &users);
        cx.now = 10;
        shard.update(a, &mut cx, &users, &mut |found| {
            if let Found::Live(r) = found {
                r.touch(10);
            }
            Step::Done(Action::Changed)
        });
        insert(&mut shard, c, 10, &mut cx, &users);
        assert_eq!(cx.departed.len(), 1);
        assert_eq!(
            (cx.departed[0].id, cx.departed[0].reason),
            (b, EndReason::Evicted)
        );
        assert!(shard.peek(a).is_some());
    }
}
