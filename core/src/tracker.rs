//! The tracker: every operation of the API, on the memory store.

use std::sync::Arc;
use std::time::Instant;

use crate::attrs::{self, Attrs};
use crate::builder::TrackerBuilder;
use crate::clock::{self, Clock};
use crate::config::{Config, MAX_USER_ID_BYTES, Rules};
use crate::driver::{Driver, Housekeeping};
use crate::ends::Ends;
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::session::{EndReason, Kind, Session, SessionEnd, Stats, Tick, timestamp};
use crate::store::memory::MemoryStore;
use crate::store::record::Record;
use crate::store::shard::{Ctx, Departure, Shard, assign_user};
use crate::store::users::UserIndex;
use crate::sync::MutexGuard;
use crate::tally::Tally;
use crate::token::Tokens;
use crate::warning::Warning;

/// The most consecutive ids of a batch handled under one lock of their
/// shard: enough to make the lock's cost vanish, few enough that other
/// threads wait for a few microseconds at most.
const MAX_RUN: usize = 64;

/// Tracks live sessions: their counters, user, timestamps and attributes,
/// their expiry, revival and ends.
///
/// A `Tracker` is cheap to clone; clones share the same sessions. Dropping
/// the last clone closes it, as [`Tracker::close`] does.
///
/// One tracker serves one process. After `fork()`, a child must not use
/// the parent's tracker (its locks may be held by threads the child does
/// not have): it calls [`Tracker::forked`] for its own, and never touches
/// the parent's again. The Python package does this by itself.
///
/// ```
/// use sojourn::{Kind, Tracker};
///
/// let tracker = Tracker::builder().build()?;
/// let session = tracker.start(Some("user-1"), None)?;
/// let tick = tracker.track(session.id, Kind::View)?;
/// assert_eq!((tick.view_sequence, tick.sequence), (1, 1));
/// # Ok::<(), sojourn::Error>(())
/// ```
#[derive(Clone)]
pub struct Tracker {
    // Before `inner`: the last handle's driver closes the tracker as it
    // drops, while `inner` is still there.
    pub(crate) driver: Arc<Driver>,
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: MemoryStore,
    pub rules: Rules,
    pub tokens: Tokens,
    pub clock: Arc<dyn Clock>,
    pub ends: Arc<Ends>,
    pub tally: Tally,
    pub housekeeping: Housekeeping,
    /// For `forked`: a child's tracker is made anew from it.
    pub config: Config,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("rules", &self.inner.rules)
            .field("signed", &self.inner.tokens.is_signed())
            .field("driver", &self.driver.is_running())
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// A builder with every option at its default.
    pub fn builder() -> TrackerBuilder {
        TrackerBuilder::default()
    }

    /// A tracker with this configuration; refuses one out of range. The
    /// configuration's warnings (no secret without `unsigned_tokens`; a
    /// driver thread that could not start) go to its `on_warning`.
    pub fn new(config: Config) -> Result<Tracker> {
        Tracker::make(config, true)
    }

    fn make(config: Config, warn: bool) -> Result<Tracker> {
        let rules = config.rules()?;
        let tokens = Tokens::new(config.secrets.as_deref().unwrap_or_default())?;
        let ends = Arc::new(Ends::new(&config));
        let inner = Arc::new(Inner {
            store: MemoryStore::new(config.max_sessions, config.max_dormant),
            rules,
            tokens,
            clock: Arc::clone(&config.clock),
            ends: Arc::clone(&ends),
            tally: Tally::default(),
            housekeeping: Housekeeping::new(config.sweep_interval),
            config,
        });
        let interval = inner.config.sweep_interval;
        let (driver, failed) = Driver::start(Arc::downgrade(&inner), ends, interval);
        if warn {
            for warning in inner.config.warnings() {
                inner.config.warn(&warning);
            }
        }
        if let Some(cause) = failed {
            inner.housekeeping.enable();
            inner.config.warn(&Warning::no_driver(&cause));
        }
        Ok(Tracker {
            driver: Arc::new(driver),
            inner,
        })
    }

    /// For a child process after `fork()`: a new, empty tracker with this
    /// one's configuration (secrets, options, `on_end`, clock) and a
    /// driver of its own. The live sessions and pending ends stay with the
    /// parent, which reports them; a client of theirs that comes to the
    /// child is revived from its token. This tracker is left as it is and
    /// must not be used, nor dropped, in the child: its locks may be held
    /// by threads that the child does not have (`std::mem::forget` it).
    /// Also gives the thread a fresh random generator, so that parent and
    /// children never make the same session ids.
    pub fn forked(&self) -> Result<Tracker> {
        // Only this thread survives a fork; it is the one that makes ids.
        let _ = rand::rng().reseed();
        let tracker = Tracker::make(self.inner.config.clone(), false)?;
        if self.is_closed() {
            tracker.driver.stop();
        }
        Ok(tracker)
    }

    /// Starts a new session (`session_index` 1).
    pub fn start(&self, user_id: Option<&str>, attrs: Option<Attrs>) -> Result<Session> {
        check_user(user_id)?;
        let attrs = self.inner.new_attrs(attrs)?;
        let mut record = Record::new(self.inner.now());
        if let Some(user) = user_id {
            record.set_user(Some(user));
        }
        if let Some(attrs) = attrs {
            record.extra_mut().attrs = attrs;
        }
        Ok(self.inner.start(record, false))
    }

    /// The live session `id`, touched; `None` if it is not live.
    pub fn get(&self, id: SessionId) -> Option<Session> {
        let inner = &self.inner;
        let session = inner.with(id, |shard, ctx| {
            let record = shard.live_mut(id, ctx)?;
            record.touch(ctx.now);
            Some(inner.snapshot(id, record))
        })?;
        Some(inner.signed(session))
    }

    /// The live session `id` without touching it.
    pub fn peek(&self, id: SessionId) -> Option<Session> {
        let inner = &self.inner;
        let now = inner.now();
        let session = {
            let shard = inner.store.shard(id);
            inner.snapshot(id, shard.peek(id, &inner.rules, now)?)
        };
        Some(inner.signed(session))
    }

    /// Whether `id` is live. Does not touch it.
    pub fn exists(&self, id: SessionId) -> bool {
        let now = self.inner.now();
        self.inner
            .store
            .shard(id)
            .peek(id, &self.inner.rules, now)
            .is_some()
    }

    /// Counts one view or event and returns the counters right after it.
    pub fn track(&self, id: SessionId, kind: Kind) -> Result<Tick> {
        let tick = self
            .inner
            .with(id, |shard, ctx| shard.track(id, kind, ctx))?;
        self.inner.tally.add(kind, 1);
        Ok(tick)
    }

    /// Tracks `kind` once on each id, in order, and returns each item's own
    /// result, exactly as that many [`Tracker::track`] calls would: an id
    /// may repeat (each occurrence counts and sees the earlier ones'
    /// increments); an id that is not live gives
    /// [`Error::SessionNotFound`] and a full counter
    /// [`Error::InvalidArgument`], for that item alone.
    ///
    /// For callers with many operations at once, such as an ingestion
    /// endpoint receiving a batch of events from many clients. It reads the
    /// clock once for the whole batch, and locks a shard once for a run of
    /// consecutive ids that fall in it (up to 64 ids, so that a large
    /// batch never keeps other threads waiting long); items are never
    /// reordered. The batch is not atomic: other calls may come between
    /// two runs. Sessions found expired on the way depart as in `track`,
    /// their ends going to `on_end`. Nothing is allocated but the returned
    /// `Vec` (and the ends of such sessions).
    ///
    /// ```
    /// use sojourn::{Error, Kind, SessionId, Tracker};
    ///
    /// let tracker = Tracker::builder().build()?;
    /// let a = tracker.start(None, None)?.id;
    /// let unknown = SessionId::parse("6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f")?;
    /// let ticks = tracker.track_many(&[a, unknown, a], Kind::View);
    /// assert_eq!(ticks[0].clone()?.view_sequence, 1);
    /// assert_eq!(ticks[1], Err(Error::SessionNotFound { id: unknown }));
    /// assert_eq!(ticks[2].clone()?.view_sequence, 2);
    /// # Ok::<(), sojourn::Error>(())
    /// ```
    pub fn track_many(&self, ids: &[SessionId], kind: Kind) -> Vec<Result<Tick>> {
        let ticks = self
            .inner
            .with_each(ids, |shard, ctx, id| shard.track(id, kind, ctx));
        let tracked = ticks.iter().filter(|t| t.is_ok()).count();
        self.inner.tally.add(kind, tracked as u64);
        ticks
    }

    /// Assigns the session to a user.
    pub fn identify(&self, id: SessionId, user_id: &str) -> Result<Session> {
        check_user(Some(user_id))?;
        self.inner.update(id, |record, users| {
            assign_user(record, id, Some(user_id), users);
            Ok(())
        })
    }

    /// Merges attributes into the session's: a key given replaces its value.
    pub fn set_attrs(&self, id: SessionId, attrs: Attrs) -> Result<Session> {
        let max = self.inner.rules.max_attrs_bytes;
        self.inner.update(id, |record, _| {
            record.extra_mut().attrs = attrs::merged(record.attrs(), attrs, max)?;
            Ok(())
        })
    }

    /// Ends a live session (reason `ended`) and returns its end, which
    /// `on_end` also receives, from the driver thread; `None` if it is not
    /// live.
    pub fn end(&self, id: SessionId) -> Option<SessionEnd> {
        let departure = self.inner.with(id, |shard, ctx| {
            shard
                .end(id, EndReason::Ended, ctx)
                .then(|| ctx.out.last().cloned())
                .flatten()
        })?;
        Some(self.inner.summary(&departure))
    }

    /// The live sessions, all or one user's (from the user index).
    pub fn sessions(&self, user_id: Option<&str>) -> Vec<Session> {
        let inner = &self.inner;
        inner.expire_due();
        let now = inner.now();
        let records: Vec<(SessionId, Record)> = match user_id {
            None => inner
                .store
                .shards()
                .flat_map(|shard| shard.snapshot_all(&inner.rules, now))
                .collect(),
            Some(user) => inner
                .store
                .users
                .ids(user)
                .into_iter()
                .filter_map(|id| {
                    let shard = inner.store.shard(id);
                    let record = shard.peek(id, &inner.rules, now)?;
                    (record.user_id() == Some(user)).then(|| (id, record.clone()))
                })
                .collect(),
        };
        records
            .iter()
            .map(|(id, r)| inner.session(*id, r))
            .collect()
    }

    /// How many sessions are live, all or one user's.
    pub fn count(&self, user_id: Option<&str>) -> usize {
        self.inner.expire_due();
        match user_id {
            None => self.inner.store.shards().map(|s| s.live_len()).sum(),
            Some(user) => self.inner.store.users.count(user),
        }
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.count(None)
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Logs a user out everywhere: ends the user's live sessions (reason
    /// `ended`, each end delivered with its `user_id`), and makes every
    /// session of theirs the tracker remembers, these and earlier ones,
    /// neither revivable nor a source of the user: a client that comes
    /// back with such a token starts a new session, linked to the old one
    /// but anonymous. `count(user_id)` is 0 afterwards. Returns how many
    /// live sessions ended.
    pub fn end_user(&self, user_id: &str) -> usize {
        self.inner.end_user(user_id, Shard::bar_dormant)
    }

    /// Erases a user: as [`Tracker::end_user`], and what the tracker
    /// remembers of the user's sessions is deleted (user, counters,
    /// attributes, linkage); only their ids are kept until `retention`, so
    /// that a client that comes back with such a token starts a new
    /// session, unlinked, instead of reviving the id. The ends of the live
    /// sessions are still delivered, with their `user_id`, for the
    /// application to close them downstream (and erase them there).
    /// Returns how many sessions were erased, live and remembered.
    pub fn forget_user(&self, user_id: &str) -> usize {
        let erased = self.inner.dormant_pass(user_id, Shard::erase_dormant);
        erased + self.inner.end_user(user_id, Shard::erase_dormant)
    }

    /// Ends every live session (for example at shutdown).
    pub fn end_all(&self) -> usize {
        self.inner.end_all()
    }

    /// Moves the live sessions of `old_user_id` to `new_user_id` (an
    /// anonymous visitor who logs in); returns how many moved.
    pub fn reassign_user(&self, old_user_id: &str, new_user_id: &str) -> Result<usize> {
        check_user(Some(old_user_id))?;
        check_user(Some(new_user_id))?;
        if old_user_id == new_user_id {
            return Ok(0);
        }
        let ids = self.inner.store.users.ids(old_user_id);
        Ok(ids
            .into_iter()
            .filter(|&id| {
                self.inner.with(id, |shard, ctx| {
                    let owned = shard.peek(id, ctx.rules, ctx.now).and_then(Record::user_id)
                        == Some(old_user_id);
                    if owned {
                        shard.set_user(id, Some(new_user_id), ctx.users);
                    }
                    owned
                })
            })
            .count())
    }

    /// Counters since the tracker was made, and the live and dormant counts.
    pub fn stats(&self) -> Stats {
        self.inner.expire_due();
        let (views, events) = self.inner.tally.totals();
        let mut stats = Stats {
            views,
            events,
            ..Stats::default()
        };
        stats.ends_dropped = self.inner.ends.dropped();
        stats.ends_pending = self.inner.ends.pending() as u64;
        for shard in self.inner.store.shards() {
            let s = &shard.stats;
            stats.live += shard.live_len() as u64;
            stats.dormant += shard.dormant_len() as u64;
            stats.started += s.started;
            stats.revived += s.revived;
            stats.resumed += s.resumed;
            stats.rejected += s.rejected;
            stats.hints_clamped += s.hints_clamped;
            stats.attrs_dropped += s.attrs_dropped;
            for reason in EndReason::ALL {
                let n = match reason {
                    EndReason::Idle => s.ended.idle,
                    EndReason::Lifetime => s.ended.lifetime,
                    EndReason::Ended => s.ended.ended,
                    EndReason::Evicted => s.ended.evicted,
                };
                stats.ended.add(reason, n);
            }
        }
        stats
    }

    /// Processes every due expiry now and delivers pending ends; returns how
    /// many sessions departed. The driver does this every `sweep_interval`.
    pub fn sweep(&self) -> usize {
        self.inner.sweep()
    }

    /// The token a client keeps for the session `id`.
    pub fn token(&self, id: SessionId) -> String {
        self.inner.tokens.token(id)
    }

    /// Up to `max` of the pending session ends, oldest first, for a
    /// tracker built with [`crate::TrackerBuilder::on_ends_ready`], whose
    /// owner delivers them itself; empty for any other.
    pub fn take_ends(&self, max: usize) -> Vec<SessionEnd> {
        self.inner.ends.take(max)
    }

    /// For a tracker built with [`crate::TrackerBuilder::on_ends_ready`]
    /// whose owner gives up delivering (its `close` ran out of time): drops
    /// every pending end, counts it, and `undelivered` more that the owner
    /// took but will not deliver, in `Stats::ends_dropped`, and warns
    /// `ENDS_DROPPED`. Returns how many were dropped.
    pub fn drop_ends(&self, undelivered: usize) -> usize {
        let dropped = self.inner.ends.discard(undelivered as u64);
        self.inner.warn_dropped(dropped) as usize
    }

    /// Stops the background driver, makes a last sweep, and delivers what
    /// is pending to `on_end`, waiting for that up to `close_timeout`
    /// (first for another thread's delivery in progress); the ends still
    /// pending then are dropped. Returns how many were dropped: 0 when all
    /// were delivered. Once it returns, nothing is pending (but what calls
    /// made since by other threads end). The tracker still answers calls;
    /// their ends are delivered by [`Tracker::sweep`]. Called from inside
    /// `on_end`, it does not wait: the delivery in progress goes on with
    /// what is pending. With `on_ends_ready`, the owner takes the last
    /// ends with [`Tracker::take_ends`].
    pub fn close(&self) -> usize {
        self.driver.stop();
        self.inner.close() as usize
    }

    /// Whether [`Tracker::close`] was called (on this tracker or a clone).
    pub fn is_closed(&self) -> bool {
        self.driver.is_closed()
    }
}

/// Departures in one round of a sweep or of `end_all`, at most, before
/// the shard's lock is let go for others: a mass expiry must never make a
/// `track` wait long (measured in release, on the 2-core machine under
/// load: 256 departures take 0.2 ms in a small store, 0.35 ms among a
/// million sessions).
const ROUND: usize = 256;

impl Inner {
    /// The clock's reading, within the range every clock must keep.
    pub fn now(&self) -> i64 {
        clock::in_range(self.clock.now_ms())
    }

    /// Runs `f` on the shard of `id` under its lock, then queues the ends of
    /// whatever departed meanwhile (built outside the lock).
    pub fn with<R>(&self, id: SessionId, f: impl FnOnce(&mut Shard, &mut Ctx) -> R) -> R {
        let mut out = Vec::new();
        let now;
        let result = {
            let mut shard = self.store.shard(id);
            let mut ctx = self.ctx(&mut out);
            now = ctx.now;
            f(&mut shard, &mut ctx)
        };
        self.finish(out, now);
        result
    }

    /// The last sweep and delivery of `close`, once the driver stopped;
    /// returns the ends dropped.
    pub fn close(&self) -> u64 {
        let deadline = Instant::now() + self.config.close_timeout;
        self.housekeeping.disable();
        self.expire_due();
        self.warn_dropped(self.ends.drain(deadline))
    }

    /// Warns `ENDS_DROPPED` if `dropped` ends were; returns `dropped`.
    fn warn_dropped(&self, dropped: u64) -> u64 {
        if dropped > 0 {
            let warning = Warning::ends_dropped(dropped, self.config.close_timeout);
            self.config.warn(&warning);
        }
        dropped
    }

    /// `end_user` and `forget_user`: `treat` the user's dormant records,
    /// then end the live sessions, each treated in the same step as its
    /// end (a revival racing this call is thus either barred or ended).
    fn end_user(
        &self,
        user: &str,
        treat: fn(&mut Shard, SessionId, &str, &mut Ctx) -> bool,
    ) -> usize {
        self.dormant_pass(user, treat);
        self.store
            .users
            .ids(user)
            .into_iter()
            .filter(|&id| {
                self.with(id, |shard, ctx| {
                    let owned =
                        shard.peek(id, ctx.rules, ctx.now).and_then(Record::user_id) == Some(user);
                    let ended = owned && shard.end(id, EndReason::Ended, ctx);
                    if ended {
                        treat(shard, id, user, ctx);
                    }
                    ended
                })
            })
            .count()
    }

    /// Applies `treat` to every dormant record of `user`; returns to how
    /// many it applied.
    fn dormant_pass(
        &self,
        user: &str,
        treat: fn(&mut Shard, SessionId, &str, &mut Ctx) -> bool,
    ) -> usize {
        self.store
            .dormant_users
            .ids(user)
            .into_iter()
            .filter(|&id| self.with(id, |shard, ctx| treat(shard, id, user, ctx)))
            .count()
    }

    /// `with` for each id in turn, at one time for all: one clock read,
    /// and one lock of a shard for a run of consecutive ids in it (at most
    /// [`MAX_RUN`]). Returns what `f` returned for each id, in order.
    pub fn with_each<R>(
        &self,
        ids: &[SessionId],
        mut f: impl FnMut(&mut Shard, &mut Ctx, SessionId) -> R,
    ) -> Vec<R> {
        let mut results = Vec::with_capacity(ids.len());
        let mut out = Vec::new();
        let mut ctx = self.ctx(&mut out);
        let mut held: Option<(usize, MutexGuard<'_, Shard>)> = None;
        let mut run = 0;
        for &id in ids {
            let index = self.store.shard_index(id);
            let shard = match held.as_mut() {
                Some((at, shard)) if *at == index && run < MAX_RUN => shard,
                _ => {
                    // One shard at a time: a thread holding one while it
                    // waits for another could deadlock with another batch.
                    drop(held.take());
                    run = 0;
                    &mut held.insert((index, self.store.shard_at(index))).1
                }
            };
            run += 1;
            results.push(f(shard, &mut ctx, id));
        }
        drop(held);
        let now = ctx.now;
        self.finish(out, now);
        results
    }

    fn ctx<'a>(&'a self, out: &'a mut Vec<Departure>) -> Ctx<'a> {
        Ctx {
            now: self.now(),
            rules: &self.rules,
            users: &self.store.users,
            dormant_users: &self.store.dormant_users,
            out,
        }
    }

    /// Changes a live session with `f` (which may fail and then must change
    /// nothing), touches it, returns its snapshot.
    fn update(
        &self,
        id: SessionId,
        f: impl FnOnce(&mut Record, &UserIndex) -> Result<()>,
    ) -> Result<Session> {
        let session = self.with(id, |shard, ctx| {
            let (users, now) = (ctx.users, ctx.now);
            let record = shard
                .live_mut(id, ctx)
                .ok_or(Error::SessionNotFound { id })?;
            f(record, users)?;
            record.touch(now);
            Ok(self.snapshot(id, record))
        })?;
        Ok(self.signed(session))
    }

    /// Sends away every session due now and forgets the dormant records
    /// past retention, shard by shard, in rounds of at most [`ROUND`]
    /// under one lock; returns how many departed.
    pub fn expire_due(&self) -> usize {
        let mut departed = 0;
        for index in 0..self.store.shard_count() {
            loop {
                let (n, more) = self.round(index, |shard, ctx| shard.sweep(ctx, ROUND));
                departed += n;
                if !more {
                    break;
                }
            }
        }
        departed
    }

    /// One round of a sweep or of `end_all`: `f` on the shard at `index`
    /// under its lock, then the ends of what departed queued outside it.
    /// (No housekeeping: a sweep is the housekeeping.)
    fn round<R>(&self, index: usize, f: impl FnOnce(&mut Shard, &mut Ctx) -> R) -> R {
        let mut out = Vec::new();
        let result = f(&mut self.store.shard_at(index), &mut self.ctx(&mut out));
        self.queue_ends(out);
        result
    }

    /// Ends every session live when it is called, shard by shard, in
    /// rounds of at most [`ROUND`] under one lock (those already due
    /// depart for their own reason); returns how many it ended.
    pub fn end_all(&self) -> usize {
        let mut ended = 0;
        for index in 0..self.store.shard_count() {
            let ids = self.store.shard_at(index).live_ids();
            for round in ids.chunks(ROUND) {
                ended += self.round(index, |shard, ctx| {
                    let ended = round
                        .iter()
                        .filter(|&&id| shard.end(id, EndReason::Ended, ctx));
                    ended.count()
                });
            }
        }
        ended
    }

    pub fn sweep(&self) -> usize {
        let departed = self.expire_due();
        // Ends queued meanwhile by other threads go with the next sweep.
        self.ends.deliver();
        departed
    }

    /// Queues the ends of what departed, then, when the driver's threads
    /// could not start, does their work: delivers, and sweeps once per
    /// `sweep_interval`. Inline, with the rare work out of line: every
    /// call on one session ends here (measured: out of line, 45 more
    /// instructions a `track`).
    #[inline]
    fn finish(&self, out: Vec<Departure>, now: i64) {
        if !out.is_empty() {
            self.queue_ends(out);
        }
        if self.housekeeping.on_calls() {
            self.housekeep(now);
        }
    }

    #[cold]
    fn housekeep(&self, now: i64) {
        if self.housekeeping.sweep_due(now) {
            self.expire_due();
        }
        self.ends.deliver();
    }

    #[inline(never)]
    fn queue_ends(&self, out: Vec<Departure>) {
        if !out.is_empty() && self.ends.wanted() {
            self.ends
                .push(out.iter().map(|d| self.summary(d)).collect());
        }
    }

    /// Inserts a new session under a fresh id and counts it as started.
    pub fn start(&self, record: Record, rejected: bool) -> Session {
        loop {
            let id = SessionId::new_v7(record.started_at);
            let started = self.with(id, |shard, ctx| {
                if shard.contains(id) {
                    return None;
                }
                let mut record = record.clone();
                record.started_at = ctx.now;
                record.last_seen = ctx.now;
                let session = self.snapshot(id, &record);
                shard.insert(id, record, ctx);
                shard.stats.started += 1;
                shard.stats.rejected += u64::from(rejected);
                Some(session)
            });
            // A v7 collision needs the same millisecond and 74 equal random
            // bits; should it ever happen, draw again.
            if let Some(session) = started {
                return self.signed(session);
            }
        }
    }

    /// Checks attributes given for a new or revived session.
    pub fn new_attrs(&self, attrs: Option<Attrs>) -> Result<Option<Attrs>> {
        attrs
            .map(|a| attrs::merged(None, a, self.rules.max_attrs_bytes))
            .transpose()
    }

    /// The session `id` with its token.
    pub fn session(&self, id: SessionId, r: &Record) -> Session {
        self.signed(self.snapshot(id, r))
    }

    /// See [`snapshot`].
    pub fn snapshot(&self, id: SessionId, r: &Record) -> Session {
        snapshot(&self.rules, id, r)
    }

    pub fn signed(&self, mut session: Session) -> Session {
        session.token = self.tokens.token(session.id);
        session
    }

    pub fn summary(&self, d: &Departure) -> SessionEnd {
        let duration_ms = d
            .record
            .last_seen
            .saturating_sub(d.record.started_at)
            .max(0);
        SessionEnd {
            session: self.session(d.id, &d.record),
            reason: d.reason,
            ended_at: timestamp(d.ended_at),
            duration: std::time::Duration::from_millis(duration_ms as u64),
            revivable: d.revivable,
        }
    }
}

/// The snapshot of a record, built under its shard's lock without
/// copying the record; its token is left empty for `Inner::signed`
/// to fill once the lock is let go (signing takes a while).
pub(crate) fn snapshot(rules: &Rules, id: SessionId, r: &Record) -> Session {
    Session {
        id,
        token: String::new(),
        user_id: r.user_id().map(str::to_owned),
        view_sequence: r.views.into(),
        event_sequence: r.events.into(),
        sequence: u64::from(r.views) + u64::from(r.events),
        session_index: r.session_index,
        previous_id: r.previous_id(),
        started_at: timestamp(r.started_at),
        last_seen: timestamp(r.last_seen),
        expires_at: timestamp(rules.expires_at(r)),
        revivals: r.revivals,
        attrs: r.attrs().cloned().unwrap_or_default(),
    }
}

/// Refuses an empty or oversized user id.
pub(crate) fn check_user(user_id: Option<&str>) -> Result<()> {
    match user_id {
        Some("") => Err(Error::invalid("user_id", "must not be empty")),
        Some(user) if user.len() > MAX_USER_ID_BYTES => Err(Error::invalid(
            "user_id",
            format!(
                "{} bytes is over the limit of {MAX_USER_ID_BYTES}",
                user.len()
            ),
        )),
        _ => Ok(()),
    }
}
