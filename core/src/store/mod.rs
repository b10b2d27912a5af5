//! The seam between the tracker and where sessions live. The tracker
//! decides (every rule is in `crate::rules`, judged at the tracker's
//! `now`); a store keeps, and carries out what it is told, atomically per
//! session. `docs/stores.md` is the guide for store authors.

mod backend;
mod faulty;
pub(crate) mod memory;
mod redis;
pub(crate) mod reference;

use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::model::{Departure, Dormant, Entry, EntryRef, Record};
use crate::rules::Rules;
use crate::session::{EndReason, Kind, Tick};

pub use self::redis::RedisStore;
pub(crate) use self::redis::redacted;
pub(crate) use backend::Backend;
pub use faulty::{FAULTY_ADDRESS, FaultSwitch, FaultyStore};
pub use memory::MemoryStore;
pub use reference::ReferenceStore;

/// What one call hands a store: the tracker's time and rules (a store
/// never reads a clock of its own), and where the store puts the
/// departures it carries out, each handed to exactly this caller.
pub struct Cx<'a> {
    /// The tracker's clock, in Unix milliseconds.
    pub now: i64,
    /// The rules, for the store to call (never to restate).
    pub rules: &'a Rules,
    /// The sessions that departed during the call, in order.
    pub departed: Vec<Departure>,
}

impl<'a> Cx<'a> {
    /// A context at `now`, with nothing departed yet.
    pub fn new(now: i64, rules: &'a Rules) -> Self {
        Cx {
            now,
            rules,
            departed: Vec::new(),
        }
    }

    /// Records the departure of the live session `id`, taken out of the
    /// store for `reason`; returns the dormant record to remember (if the
    /// rules keep one: `retention` is not zero).
    pub fn depart(&mut self, id: SessionId, record: Record, reason: EndReason) -> Option<Dormant> {
        let departure = self.rules.departure(id, record, reason, self.now);
        let dormant = self.rules.remembers().then(|| departure.dormant());
        self.departed.push(departure);
        dormant
    }
}

/// A session as a store shows it to the tracker within one atomic step.
#[derive(Debug)]
pub enum Found<'a> {
    /// Live (perhaps due: the tracker judges).
    Live(&'a mut Record),
    /// Departed and remembered (perhaps past retention: the tracker judges).
    Dormant(&'a mut Dormant),
    /// Unknown to the store.
    Absent,
}

/// What the tracker asks a store to do with the session it was shown.
#[derive(Debug)]
pub enum Action {
    /// Nothing to write.
    Keep,
    /// The record shown (live or dormant) was changed in place; its user
    /// did not change.
    Changed,
    /// The record shown was changed in place and its user changed: it was
    /// `old`. The store moves the session in its user index.
    UserChanged {
        /// The user before the change.
        old: Option<Box<str>>,
    },
    /// The live session departs for this reason: the store takes it out,
    /// records it with [`Cx::depart`] and keeps the dormant record that
    /// returns (evicting its oldest dormant record if at `max_dormant`).
    Depart(EndReason),
    /// The dormant record is forgotten.
    Forget,
    /// The session (dormant or absent) becomes live with this record
    /// (a dormant record shown is left as it was, for the store to find
    /// its index entries by it, then dropped). A
    /// store at `max_sessions` first evicts the live session closest to
    /// expiry, for the reason [`Rules::eviction_reason`] gives.
    Insert(Record),
}

/// An action, and whether the store shows the session again once it is
/// carried out (the tracker settles a session, expiring it on access,
/// before it acts on it).
#[derive(Debug)]
pub enum Step {
    /// Carry out the action; the step is over.
    Done(Action),
    /// Carry out the action, then show the session again.
    Again(Action),
}

/// Which of a user's sessions a lookup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The live sessions.
    Live,
    /// The dormant records.
    Dormant,
}

/// How many sessions a store holds, due or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    /// Live sessions.
    pub live: u64,
    /// Dormant records.
    pub dormant: u64,
}

/// Where sessions live. Every method may fail with [`Error::Store`]; a
/// failed call changed nothing. See `docs/stores.md` for what each method
/// must guarantee, and `core/tests/conformance.rs` for the suite that
/// checks a store against them.
pub trait Store: Send + Sync + 'static {
    /// An atomic read-modify-write of the session `id`: shows it to `f`,
    /// carries out the action `f` returns, and shows it again while `f`
    /// says [`Step::Again`]. No other call sees the session in between.
    /// `f` may be called again from the start (a store that retries on
    /// conflict), so it must depend on nothing but what it is shown.
    fn update(
        &self,
        id: SessionId,
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) -> Result<()>;

    /// `update` for each id in turn, in order; `f` is told each item's
    /// index. Each item is atomic on its own, the batch is not.
    fn update_each(
        &self,
        ids: &[SessionId],
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(usize, Found<'_>) -> Step,
    ) -> Result<()> {
        for (i, &id) in ids.iter().enumerate() {
            self.update(id, cx, &mut |found| f(i, found))?;
        }
        Ok(())
    }

    /// Shows the live session `id` to `f` without changing it (not called
    /// when it is not live; it may be due, the tracker judges).
    fn peek(&self, id: SessionId, f: &mut dyn FnMut(&Record)) -> Result<()>;

    /// Into how many parts the store splits its work: each [`Store::scan`]
    /// and [`Store::sweep`] visits one.
    fn parts(&self) -> usize;

    /// Shows every live session of `part` to `f` (some may be due).
    fn scan(&self, part: usize, f: &mut dyn FnMut(SessionId, &Record)) -> Result<()>;

    /// Departs the live sessions of `part` due by `cx.now` (for the reason
    /// [`Rules::due`] gives), each into `cx.departed` of exactly one
    /// caller however many sweep at once, and forgets the dormant records
    /// past [`Rules::forget_at`]; at most `budget` of each. Returns
    /// whether some are left.
    fn sweep(&self, part: usize, cx: &mut Cx<'_>, budget: usize) -> Result<bool>;

    /// The ids of `user`'s live sessions or dormant records. May be stale
    /// (hold ids no longer the user's, or gone): the tracker re-checks
    /// each, in an `update` or `peek`.
    fn user_ids(&self, user: &str, which: Which) -> Result<Vec<SessionId>>;

    /// How many sessions the store holds.
    fn sizes(&self) -> Result<Sizes>;

    /// Shows every session of `part`, live and dormant, to `f`.
    fn export(&self, part: usize, f: &mut dyn FnMut(EntryRef<'_>)) -> Result<()>;

    /// Adds a session as it is (a live session under capacity as an
    /// `Insert` would be); an id the store holds is replaced.
    fn import(&self, entry: Entry, cx: &mut Cx<'_>) -> Result<()>;

    /// Adds every session of `entries` (a snapshot, in any order) as
    /// `import` does, oldest first ([`oldest_first`]), so that a store
    /// smaller than the snapshot keeps what its capacity rules keep. A
    /// store may do it faster than one by one, keeping that order among
    /// the sessions that compete for the same room (the memory store
    /// imports its shards on several threads).
    fn import_all(&self, entries: Vec<Entry>, cx: &mut Cx<'_>) -> Result<()> {
        let rules = cx.rules;
        for entry in oldest_first(entries, |e| rules.import_order(e)) {
            self.import(entry, cx)?;
        }
        Ok(())
    }

    /// Counts one view or event on the live session `id`: `Ok(Err(..))` is
    /// the item's own error ([`Rules::track`]). A store may specialise it
    /// (one script on Redis); the default is an `update`.
    fn track(&self, id: SessionId, kind: Kind, cx: &mut Cx<'_>) -> Result<Result<Tick>> {
        let (rules, now) = (cx.rules, cx.now);
        let mut tick = Err(Error::SessionNotFound { id });
        self.update(id, cx, &mut |found| {
            rules.settle(&found, now).unwrap_or_else(|| {
                let (result, step) = rules.track(found, id, kind, now);
                tick = result;
                step
            })
        })?;
        Ok(tick)
    }

    /// `track` for each id, in order, each item with its own result. The
    /// outer error is a failure before any item was counted; an item after
    /// a failure carries it as its own. The default is a `track` an item.
    fn track_many(
        &self,
        ids: &[SessionId],
        kind: Kind,
        cx: &mut Cx<'_>,
    ) -> Result<Vec<Result<Tick>>> {
        track_each(self, ids, kind, cx)
    }
}

/// `Store::track_many` done as a `track` an item, in order: the trait's
/// default, for a store that specialises it only in some cases.
pub fn track_each<S: Store + ?Sized>(
    store: &S,
    ids: &[SessionId],
    kind: Kind,
    cx: &mut Cx<'_>,
) -> Result<Vec<Result<Tick>>> {
    let mut ticks = Vec::with_capacity(ids.len());
    for &id in ids {
        match store.track(id, kind, cx) {
            Ok(tick) => ticks.push(tick),
            Err(err) if ticks.is_empty() => return Err(err),
            Err(err) => ticks.push(Err(err)),
        }
    }
    Ok(ticks)
}

/// `items` in the order of their `key`, least first: sorted as small keys,
/// then each moved once (an entry is large).
pub fn oldest_first<T, K: Ord>(items: Vec<T>, key: impl Fn(&T) -> K) -> impl Iterator<Item = T> {
    let mut order: Vec<(K, usize)> = items.iter().map(key).zip(0..).collect();
    order.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(move |(_, i)| slots[i].take())
}
