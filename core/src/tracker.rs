//! The tracker: every operation of the API, written once against the
//! [`Store`] trait. The tracker decides, by the rules; the store keeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::attrs::{self, Attrs};
use crate::builder::TrackerBuilder;
use crate::clock::{self, Clock};
use crate::config::{Config, MAX_USER_ID_BYTES};
use crate::driver::{Chores, Driver, Housekeeping};
use crate::ends::Ends;
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::model::{Departure, Dormant, Record};
use crate::records::Records;
use crate::rules::{Rules, set_user};
use crate::session::{
    EndReason, Kind, Session, SessionEnd, SessionRecord, Stats, Tick, snapshot, timestamp,
};
use crate::snapshot::{self as snapshot_file, Counts};
use crate::store::{Action, Backend, Cx, Found, Step, Store, Which};
use crate::tally::{Count, Tally};
use crate::token::{Signer, Tokens};
use crate::warning::Warning;

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
    pub store: Backend,
    pub rules: Rules,
    pub tokens: Tokens,
    pub signer: Signer,
    pub clock: Arc<dyn Clock>,
    pub ends: Arc<Ends>,
    pub tally: Tally,
    pub housekeeping: Housekeeping,
    /// A background sweep failed and said so: it is not said again until
    /// the store answers.
    store_failing: AtomicBool,
    /// The last save of the tracker's own snapshot, and whether saving it
    /// fails (said once).
    saved_at: crate::sync::Mutex<Instant>,
    save_failing: AtomicBool,
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
            store: config.make_store()?,
            rules,
            signer: Signer::new(&tokens),
            tokens,
            clock: Arc::clone(&config.clock),
            ends: Arc::clone(&ends),
            tally: Tally::default(),
            housekeeping: Housekeeping::new(config.sweep_interval),
            store_failing: AtomicBool::new(false),
            saved_at: crate::sync::Mutex::new(Instant::now()),
            save_failing: AtomicBool::new(false),
            config,
        });
        // A child after fork starts empty: the parent keeps the sessions
        // (and its snapshot: `forked` takes the file away from the child).
        if warn {
            match (&inner.config.load, &inner.config.snapshot) {
                (Some(path), _) => inner.load(path)?,
                (None, Some(path)) if path.exists() => inner.load(path)?,
                _ => {}
            }
        }
        let interval = inner.config.sweep_interval;
        let chores: Arc<dyn Chores> = inner.clone();
        let (driver, failed) = Driver::start(Arc::downgrade(&chores), ends, interval);
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
    /// one's configuration (secrets, options, `on_end`, clock, store
    /// factory: a store of its own) and a driver of its own. The live sessions and pending ends stay with the
    /// parent, which reports them; a client of theirs that comes to the
    /// child is revived from its token. This tracker is left as it is and
    /// must not be used, nor dropped, in the child: its locks may be held
    /// by threads that the child does not have (`std::mem::forget` it).
    /// Also gives the thread a fresh random generator, so that parent and
    /// children never make the same session ids.
    pub fn forked(&self) -> Result<Tracker> {
        // Only this thread survives a fork; it is the one that makes ids.
        let _ = rand::rng().reseed();
        let mut config = self.inner.config.clone();
        // The parent's file is the parent's: two processes saving one path
        // would overwrite each other's sessions.
        config.snapshot = None;
        let tracker = Tracker::make(config, false)?;
        if self.is_closed() {
            tracker.driver.stop();
        }
        Ok(tracker)
    }

    /// Starts a new session (`session_index` 1).
    pub fn start(&self, user_id: Option<&str>, attrs: Option<Attrs>) -> Result<Session> {
        Ok(self.session(&self.records().start(user_id, attrs)?))
    }

    /// The live session `id`, touched; `None` if it is not live.
    pub fn get(&self, id: SessionId) -> Result<Option<Session>> {
        Ok(self.records().get(id)?.map(|r| self.session(&r)))
    }

    /// The live session `id` without touching it.
    pub fn peek(&self, id: SessionId) -> Result<Option<Session>> {
        Ok(self.records().peek(id)?.map(|r| self.session(&r)))
    }

    /// The same calls, handing out each session as the store holds it,
    /// unsigned and unconverted ([`SessionRecord`]): for callers that
    /// build a field only when it is read and sign a token only when it is
    /// sent (the bindings). [`Tracker::session`] makes the [`Session`].
    pub fn records(&self) -> Records<'_> {
        Records::new(self)
    }

    /// The session of a record, its token signed.
    pub fn session(&self, record: &SessionRecord) -> Session {
        record.session(self.inner.signer.token(record.id))
    }

    /// What signs this tracker's tokens (clone it to keep it apart).
    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }

    /// Whether `id` is live. Does not touch it.
    pub fn exists(&self, id: SessionId) -> Result<bool> {
        Ok(self.inner.peek(id, |_| ())?.is_some())
    }

    /// Counts one view or event and returns the counters right after it.
    pub fn track(&self, id: SessionId, kind: Kind) -> Result<Tick> {
        let inner = &self.inner;
        let mut cx = Cx::new(inner.now(), &inner.rules);
        let tick = inner.store.track(id, kind, &mut cx);
        inner.finish(cx);
        let tick = tick??;
        inner.tally.add(kind, 1);
        Ok(tick)
    }

    /// Tracks `kind` once on each id, in order, and returns each item's own
    /// result, exactly as that many [`Tracker::track`] calls would: an id
    /// may repeat (each occurrence counts and sees the earlier ones'
    /// increments); an id that is not live gives
    /// [`Error::SessionNotFound`] and a full counter
    /// [`Error::InvalidArgument`], for that item alone. The outer error is
    /// the store's failure ([`Error::Store`]) before any item was counted;
    /// an item after a failure mid-batch carries it as its own error.
    ///
    /// For callers with many operations at once, such as an ingestion
    /// endpoint receiving a batch of events from many clients. It reads the
    /// clock once for the whole batch; the memory store locks a shard once
    /// for a run of consecutive ids that fall in it (up to 64 ids, so that
    /// a large batch never keeps other threads waiting long); items are never
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
    /// let ticks = tracker.track_many(&[a, unknown, a], Kind::View)?;
    /// assert_eq!(ticks[0].clone()?.view_sequence, 1);
    /// assert_eq!(ticks[1], Err(Error::SessionNotFound { id: unknown }));
    /// assert_eq!(ticks[2].clone()?.view_sequence, 2);
    /// # Ok::<(), sojourn::Error>(())
    /// ```
    pub fn track_many(&self, ids: &[SessionId], kind: Kind) -> Result<Vec<Result<Tick>>> {
        let inner = &self.inner;
        let mut cx = Cx::new(inner.now(), &inner.rules);
        let ticks = inner.store.track_many(ids, kind, &mut cx);
        inner.finish(cx);
        let ticks = ticks?;
        let tracked = ticks.iter().filter(|t| t.is_ok()).count();
        inner.tally.add(kind, tracked as u64);
        Ok(ticks)
    }

    /// Assigns the session to a user.
    pub fn identify(&self, id: SessionId, user_id: &str) -> Result<Session> {
        Ok(self.session(&self.records().identify(id, user_id)?))
    }

    /// Merges attributes into the session's: a key given replaces its value.
    pub fn set_attrs(&self, id: SessionId, attrs: Attrs) -> Result<Session> {
        Ok(self.session(&self.records().set_attrs(id, attrs)?))
    }

    /// Ends a live session (reason `ended`) and returns its end, which
    /// `on_end` also receives, from the driver thread; `None` if it is not
    /// live.
    pub fn end(&self, id: SessionId) -> Result<Option<SessionEnd>> {
        let inner = &self.inner;
        let mut cx = Cx::new(inner.now(), &inner.rules);
        let now = cx.now;
        let done = inner
            .store
            .update(id, &mut cx, &mut |found| inner.rules.end(found, now));
        let end = cx
            .departed
            .iter()
            .find(|d| d.id == id && d.reason == EndReason::Ended)
            .map(|d| inner.summary(d));
        inner.finish(cx);
        done?;
        Ok(end)
    }

    /// The live sessions, all or one user's (from the store's user index,
    /// each re-checked).
    pub fn sessions(&self, user_id: Option<&str>) -> Result<Vec<Session>> {
        let records = self.records().sessions(user_id)?;
        Ok(records.iter().map(|r| self.session(r)).collect())
    }

    /// How many sessions are live, all or one user's (each of the user's
    /// re-checked: a store's user index may be stale).
    pub fn count(&self, user_id: Option<&str>) -> Result<usize> {
        let inner = &self.inner;
        inner.expire_due()?;
        match user_id {
            None => Ok(inner.store.sizes()?.live as usize),
            Some(user) => {
                let mut n = 0;
                for id in inner.store.user_ids(user, Which::Live)? {
                    n += usize::from(inner.peek(id, |r| r.user_id() == Some(user))? == Some(true));
                }
                Ok(n)
            }
        }
    }

    /// How many sessions are live.
    pub fn len(&self) -> Result<usize> {
        self.count(None)
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Logs a user out everywhere: ends the user's live sessions (reason
    /// `ended`, each end delivered with its `user_id`), and makes every
    /// session of theirs the tracker remembers, these and earlier ones,
    /// neither revivable nor a source of the user: a client that comes
    /// back with such a token starts a new session, linked to the old one
    /// but anonymous. `count(user_id)` is 0 afterwards. Returns how many
    /// live sessions ended.
    pub fn end_user(&self, user_id: &str) -> Result<usize> {
        Ok(self.inner.end_user(user_id, bar)?.0)
    }

    /// Erases a user: as [`Tracker::end_user`], and what the tracker
    /// remembers of the user's sessions is deleted (user, counters,
    /// attributes, linkage); only their ids are kept until `retention`, so
    /// that a client that comes back with such a token starts a new
    /// session, unlinked, instead of reviving the id. The ends of the live
    /// sessions are still delivered, with their `user_id`, for the
    /// application to close them downstream (and erase them there).
    /// Returns how many sessions were erased, live and remembered.
    pub fn forget_user(&self, user_id: &str) -> Result<usize> {
        Ok(self.inner.end_user(user_id, erase)?.1)
    }

    /// Ends every session live when it is called, part by part of the
    /// store, in rounds of at most 256 (those already due depart for their
    /// own reason); returns how many it ended (for example at shutdown).
    pub fn end_all(&self) -> Result<usize> {
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
        self.inner
            .each_of_user(old_user_id, Which::Live, |found| match found {
                Found::Live(record) if record.user_id() == Some(old_user_id) => {
                    Some(set_user(record, Some(new_user_id)))
                }
                _ => None,
            })
    }

    /// Writes every session, live and remembered, to a snapshot at `path`
    /// (atomically: the previous file stays whole until the new one is
    /// complete), encrypted with the `snapshot_key` if one was given. The
    /// store is copied one part at a time, so the tracker goes on
    /// answering meanwhile. Load it with [`TrackerBuilder::load`].
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<Counts> {
        self.inner.save(path.as_ref())
    }

    /// The options the tracker was made with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether a call may wait on a store outside this process (Redis, or
    /// a store given to [`TrackerBuilder::store`]) rather than the embedded
    /// memory store: a binding lets its runtime go on around such calls.
    pub fn store_is_remote(&self) -> bool {
        !matches!(self.inner.store, Backend::Memory(_))
    }

    /// Counters since the tracker was made, and the live and dormant counts.
    pub fn stats(&self) -> Result<Stats> {
        let inner = &self.inner;
        inner.expire_due()?;
        let sizes = inner.store.sizes()?;
        let mut stats = Stats {
            live: sizes.live,
            dormant: sizes.dormant,
            ends_dropped: inner.ends.dropped(),
            ends_pending: inner.ends.pending() as u64,
            ..Stats::default()
        };
        inner.tally.fill(&mut stats);
        Ok(stats)
    }

    /// Processes every due expiry now and delivers pending ends; returns how
    /// many sessions departed. The driver does this every `sweep_interval`.
    pub fn sweep(&self) -> Result<usize> {
        let departed = self.inner.expire_due();
        // Ends queued meanwhile by other threads go with the next sweep.
        self.inner.ends.deliver();
        departed
    }

    /// The token a client keeps for the session `id`.
    pub fn token(&self, id: SessionId) -> String {
        self.inner.signer.token(id)
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
/// a store lets go of the part for others: a mass expiry must never make
/// a `track` wait long (measured in release, on the 2-core machine under
/// load: 256 departures take 0.2 ms in a small store, 0.35 ms among a
/// million sessions).
const ROUND: usize = 256;

/// `end_user`'s treatment of a dormant record of the user: no longer
/// revivable, nor a source of the user.
fn bar(d: &mut Dormant) -> Action {
    d.barred = true;
    Action::Changed
}

/// `forget_user`'s: a tombstone, only the id and time left.
fn erase(d: &mut Dormant) -> Action {
    let old = d
        .record
        .extra
        .take()
        .and_then(|e| Arc::unwrap_or_clone(e).user_id);
    *d = Dormant::tombstone(d.ended_at);
    Action::UserChanged { old }
}

impl Chores for Inner {
    fn sweep_due(&self) {
        // A failure is said once (`expire_due`); the next sweep retries.
        let _ = self.expire_due();
        self.autosave(false);
    }

    fn close(&self) -> u64 {
        Inner::close(self)
    }

    fn deliver(&self) -> u64 {
        let deadline = Instant::now() + self.config.close_timeout;
        self.warn_dropped(self.ends.drain(deadline))
    }
}

impl Inner {
    /// The clock's reading, within the range every clock must keep.
    pub fn now(&self) -> i64 {
        clock::in_range(self.clock.now_ms())
    }

    /// The store's atomic step on `id`, the session settled first (due:
    /// departs; past retention: forgotten), then `f` with it and `now`;
    /// the ends of what departed are queued once the step is over.
    pub fn update(&self, id: SessionId, mut f: impl FnMut(Found<'_>, i64) -> Step) -> Result<()> {
        let mut cx = Cx::new(self.now(), &self.rules);
        let now = cx.now;
        let rules = &self.rules;
        let done = self.store.update(id, &mut cx, &mut |found| {
            rules.settle(&found, now).unwrap_or_else(|| f(found, now))
        });
        self.finish(cx);
        done
    }

    /// `f` of the live session `id` if it is live and not due, without
    /// changing it.
    pub fn peek<R>(&self, id: SessionId, mut f: impl FnMut(&Record) -> R) -> Result<Option<R>> {
        let now = self.now();
        let mut out = None;
        self.store.peek(id, &mut |record| {
            out = self.rules.due(record, now).is_none().then(|| f(record));
        })?;
        Ok(out)
    }

    /// Changes a live session with `f` (which may fail and then must change
    /// nothing), touches it, returns its snapshot.
    pub fn modify(
        &self,
        id: SessionId,
        mut f: impl FnMut(&mut Record) -> Result<Action>,
    ) -> Result<SessionRecord> {
        let mut result = Err(Error::SessionNotFound { id });
        self.update(id, |found, now| {
            result = Err(Error::SessionNotFound { id });
            let Found::Live(record) = found else {
                return Step::Done(Action::Keep);
            };
            match f(record) {
                Ok(action) => {
                    record.touch(now);
                    result = Ok(snapshot(&self.rules, id, record));
                    Step::Done(action)
                }
                Err(err) => {
                    result = Err(err);
                    Step::Done(Action::Keep)
                }
            }
        })?;
        result
    }

    /// `Tracker::save`: one part of the store copied at a time.
    fn save(&self, path: &std::path::Path) -> Result<Counts> {
        let key = self.config.snapshot_key.as_ref();
        let writer = snapshot_file::Writer::create(path, key, self.now())?;
        snapshot_file::write_parts(writer, self.store.parts(), |part, f| {
            self.store.export(part, f)
        })
    }

    /// Saves the tracker's own snapshot if one is set and it is time
    /// (`force`: on close); a failure is warned once, until a save works.
    fn autosave(&self, force: bool) {
        let Some(path) = &self.config.snapshot else {
            return;
        };
        let interval = self.config.snapshot_interval;
        {
            let mut saved_at = self.saved_at.lock();
            if !force && (interval.is_zero() || saved_at.elapsed() < interval) {
                return;
            }
            *saved_at = Instant::now();
        }
        match self.save(path) {
            Ok(_) => self.save_failing.store(false, Ordering::Relaxed),
            Err(err) => {
                if !self.save_failing.swap(true, Ordering::Relaxed) {
                    self.config.warn(&Warning::snapshot_error(&err));
                }
            }
        }
    }

    /// Loads the snapshot at `path` into the (new, empty) store: each
    /// session as it was, then a sweep ends those whose deadline passed
    /// while no process held them, each at its deadline.
    fn load(&self, path: &std::path::Path) -> Result<()> {
        let entries = snapshot_file::read(path, self.config.snapshot_key.as_ref())?.entries;
        let loaded = entries.len() as u64;
        let mut cx = Cx::new(self.now(), &self.rules);
        self.store.import_all(entries, &mut cx)?;
        self.tally.add(Count::Loaded, loaded);
        self.finish(cx);
        self.expire_due()?;
        Ok(())
    }

    /// The last sweep and delivery of `close`, once the driver stopped;
    /// returns the ends dropped.
    pub fn close(&self) -> u64 {
        let deadline = Instant::now() + self.config.close_timeout;
        self.housekeeping.disable();
        let _ = self.expire_due();
        self.autosave(true);
        self.warn_dropped(self.ends.drain(deadline))
    }

    /// Warns `ENDS_DROPPED` if `dropped` ends were; returns `dropped`.
    pub fn warn_dropped(&self, dropped: u64) -> u64 {
        if dropped > 0 {
            let warning = Warning::ends_dropped(dropped, self.config.close_timeout);
            self.config.warn(&warning);
        }
        dropped
    }

    /// `end_user` and `forget_user`: `treat` the user's dormant records,
    /// then end the live sessions, each treated in the same step as its
    /// end (a revival racing this call is thus either barred or ended).
    /// Returns how many sessions ended (reason `ended`), and how many
    /// records were treated (every one of the user's: those found due, and
    /// those the first pass missed, too).
    fn end_user(&self, user: &str, treat: fn(&mut Dormant) -> Action) -> Result<(usize, usize)> {
        let earlier = self.dormant_pass(user, treat)?;
        let (mut ended, mut treated) = (0, earlier);
        for id in self.store.user_ids(user, Which::Live)? {
            let mut cx = Cx::new(self.now(), &self.rules);
            let now = cx.now;
            let mut this = false;
            let done = self.store.update(id, &mut cx, &mut |found| {
                if let Some(step) = self.rules.settle(&found, now) {
                    return step;
                }
                this = false;
                match found {
                    Found::Live(r) if r.user_id() == Some(user) => {
                        Step::Again(Action::Depart(EndReason::Ended))
                    }
                    Found::Dormant(d) if d.record.user_id() == Some(user) => {
                        this = true;
                        Step::Done(treat(d))
                    }
                    _ => Step::Done(Action::Keep),
                }
            });
            // Counted from what departed, not from what `f` was shown: a
            // store may show a session more than once.
            ended += cx
                .departed
                .iter()
                .filter(|d| d.id == id && d.reason == EndReason::Ended)
                .count();
            self.finish(cx);
            done?;
            treated += usize::from(this);
        }
        Ok((ended, treated))
    }

    /// Applies `treat` to every dormant record of `user`; returns to how
    /// many it applied.
    fn dormant_pass(&self, user: &str, treat: fn(&mut Dormant) -> Action) -> Result<usize> {
        self.each_of_user(user, Which::Dormant, |found| match found {
            Found::Dormant(d) if d.record.user_id() == Some(user) => Some(treat(d)),
            _ => None,
        })
    }

    /// For each id in the store's index of `user`'s sessions (`which`),
    /// `change` the session, which says by `None` that it is not the
    /// user's (an index may be stale); returns how many were changed.
    fn each_of_user(
        &self,
        user: &str,
        which: Which,
        mut change: impl FnMut(Found<'_>) -> Option<Action>,
    ) -> Result<usize> {
        let mut changed = 0;
        for id in self.store.user_ids(user, which)? {
            let mut this = false;
            self.update(id, |found, _| {
                let action = change(found);
                this = action.is_some();
                Step::Done(action.unwrap_or(Action::Keep))
            })?;
            changed += usize::from(this);
        }
        Ok(changed)
    }

    /// Sends away every session due now and forgets the dormant records
    /// past retention, part by part of the store, in rounds of at most
    /// [`ROUND`]; returns how many departed. A failure is warned once
    /// (`STORE_ERROR`) until the store answers again.
    pub fn expire_due(&self) -> Result<usize> {
        let swept = self.sweep_parts();
        match &swept {
            Ok(_) => self.store_failing.store(false, Ordering::Relaxed),
            Err(err) => {
                if !self.store_failing.swap(true, Ordering::Relaxed) {
                    self.config.warn(&Warning::store_error(err));
                }
            }
        }
        swept
    }

    fn sweep_parts(&self) -> Result<usize> {
        let mut departed = 0;
        for part in 0..self.store.parts() {
            loop {
                let mut cx = Cx::new(self.now(), &self.rules);
                let more = self.store.sweep(part, &mut cx, ROUND);
                departed += cx.departed.len();
                self.queue_ends(cx.departed);
                if !more? {
                    break;
                }
            }
        }
        Ok(departed)
    }

    /// Ends every session live when it is called, part by part, in rounds
    /// of at most [`ROUND`] (those already due depart for their own
    /// reason); returns how many it ended.
    pub fn end_all(&self) -> Result<usize> {
        let mut ended = 0;
        for part in 0..self.store.parts() {
            let mut ids = Vec::new();
            self.store.scan(part, &mut |id, _| ids.push(id))?;
            for round in ids.chunks(ROUND) {
                let mut cx = Cx::new(self.now(), &self.rules);
                let now = cx.now;
                let done = self
                    .store
                    .update_each(round, &mut cx, &mut |_, found| self.rules.end(found, now));
                ended += cx
                    .departed
                    .iter()
                    .filter(|d| d.reason == EndReason::Ended)
                    .count();
                self.queue_ends(cx.departed);
                done?;
            }
        }
        Ok(ended)
    }

    /// Queues the ends of what departed in a call, then, when the driver's
    /// threads could not start, does their work: delivers, and sweeps once
    /// per `sweep_interval`. Inline, with the rare work out of line: every
    /// call on one session ends here (measured: out of line, 45 more
    /// instructions a `track`).
    #[inline]
    fn finish(&self, cx: Cx<'_>) {
        let now = cx.now;
        if !cx.departed.is_empty() {
            self.queue_ends(cx.departed);
        }
        if self.housekeeping.on_calls() {
            self.housekeep(now);
        }
    }

    #[cold]
    fn housekeep(&self, now: i64) {
        if self.housekeeping.sweep_due(now) {
            let _ = self.expire_due();
        }
        self.ends.deliver();
    }

    /// Counts what departed by reason and queues their ends.
    #[inline(never)]
    fn queue_ends(&self, departed: Vec<Departure>) {
        for d in &departed {
            self.tally.add(d.reason, 1);
        }
        if !departed.is_empty() && self.ends.wanted() {
            self.ends
                .push(departed.iter().map(|d| self.summary(d)).collect());
        }
    }

    /// Inserts a new session under a fresh id and counts it as started.
    pub fn start(&self, record: Record, rejected: bool) -> Result<SessionRecord> {
        loop {
            let id = SessionId::new_v7(record.started_at);
            let mut started = None;
            self.update(id, |found, now| {
                started = None;
                if !matches!(found, Found::Absent) {
                    return Step::Done(Action::Keep);
                }
                let mut record = record.clone();
                record.started_at = now;
                record.last_seen = now;
                started = Some(snapshot(&self.rules, id, &record));
                Step::Done(Action::Insert(record))
            })?;
            // A v7 collision needs the same millisecond and 74 equal random
            // bits; should it ever happen, draw again.
            if let Some(session) = started {
                self.tally.add(Count::Started, 1);
                self.tally.add(Count::Rejected, u64::from(rejected));
                return Ok(session);
            }
        }
    }

    /// Checks attributes given for a new or revived session.
    pub fn new_attrs(&self, attrs: Option<Attrs>) -> Result<Option<Attrs>> {
        attrs
            .map(|a| attrs::merged(None, a, self.rules.max_attrs_bytes))
            .transpose()
    }

    pub fn summary(&self, d: &Departure) -> SessionEnd {
        let duration_ms = d
            .record
            .last_seen
            .saturating_sub(d.record.started_at)
            .max(0);
        SessionEnd {
            session: snapshot(&self.rules, d.id, &d.record).session(self.signer.token(d.id)),
            reason: d.reason,
            ended_at: timestamp(d.ended_at),
            duration: std::time::Duration::from_millis(duration_ms as u64),
            revivable: d.revivable,
        }
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
