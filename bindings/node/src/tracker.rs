//! The tracker: every operation of the core, with JavaScript arguments
//! converted in and results converted out.

use napi::bindgen_prelude::{
    ClassInstance, FromNapiValue, Function, Null, Object, ToNapiValue, ValidateNapiValue,
};
use napi::{Env, sys};
use napi_derive::napi;
use sojourn::snapshot::Counts;
use sojourn::{Kind, SessionId, SessionRecord, TrackerBuilder};

use crate::clock::MockClock;
use crate::convert::{self, Any, Arg, Attrs, Id, Ids, Text, Token, check};
use crate::error::{self, ErrorValue, OrThrow, Result};
use crate::redis::REDIS_OPTIONS;
use crate::scratch::Scratch;
use crate::session::{Hints, Resumed, Session, SessionEnd, StartOptions, Stats, Tick};
use crate::snapshot::{self, Key, SnapshotCounts};
use crate::store::{self, FaultSwitch};
use crate::task::{Call, Pending, Promised};
use crate::wiring::{Wired, Wiring};

/// The options of a tracker. Every one may be left out: it then takes the
/// core's default, given with each. Durations are in milliseconds. An
/// option that is not one of these is refused (`INVALID_ARGUMENT`), so that
/// a misspelt one is not silently left at its default.
#[napi(object, object_to_js = false)]
pub struct TrackerOptions<'env> {
    /// A session ends after this long without activity (default 30 min:
    /// 1,800,000 ms, as GA4, Snowplow, PostHog and Plausible).
    pub idle_timeout: Option<f64>,
    /// A session ends this long after it started, however active (default
    /// 24 h: 86,400,000 ms).
    pub max_lifetime: Option<f64>,
    /// How long after its last activity a departed session may be revived
    /// by `resume` (default: `idleTimeout`). Raise it for sticky sessions.
    pub revive_window: Option<f64>,
    /// How long departed sessions are remembered, for revival and linkage
    /// (default 24 h: 86,400,000 ms).
    pub retention: Option<f64>,
    /// The most live sessions; past it the one closest to expiry is
    /// evicted (default 1,000,000).
    pub max_sessions: Option<f64>,
    /// The most departed sessions remembered; past it the oldest is
    /// forgotten (default 1,000,000).
    pub max_dormant: Option<f64>,
    /// Signs tokens with this secret (at least 16 bytes): tokens become
    /// `id.signature`, and a client can resume only a session whose token
    /// it was given. Without a secret (or `secrets`), tokens are the bare
    /// id: give `unsignedTokens: true` to choose that on purpose, or the
    /// tracker warns (`SOJOURN_UNSIGNED_TOKENS`).
    #[napi(ts_type = "string")]
    pub secret: Option<Text>,
    /// Signs with the first secret, verifies with every one (key rotation).
    /// Give `secret` or `secrets`, not both; an empty list is refused.
    #[napi(ts_type = "string[]")]
    pub secrets: Option<Vec<Text>>,
    /// Tokens are the bare session id, on purpose (default false): anyone
    /// who learns or guesses an id can then resume that session, with its
    /// user and attributes. Refused together with a secret.
    pub unsigned_tokens: Option<bool>,
    /// The most that a client's counter hints (`viewSequence`,
    /// `eventSequence` given to `resume` or `revive`) may raise a revived
    /// session's counters to (default 100,000); a larger hint is cut down
    /// to it and counted in `stats().hintsClamped`.
    pub max_counter_hint: Option<f64>,
    /// How often the background driver notices expiries and delivers ends
    /// (default 1 s: 1,000 ms); 0 runs no driver, and ends are then
    /// delivered after `sweep()` and by `close()`.
    pub sweep_interval: Option<f64>,
    /// Called once with every session end, on the main thread, after the
    /// call or sweep that ended the session has returned: every end
    /// pending then is delivered, in order, on one turn of the event loop.
    /// A function that throws is reported with `process.emitWarning`, and
    /// the tracker goes on. Holding it never keeps the process alive;
    /// `close()` delivers the pending ends, then lets go of it.
    #[napi(ts_type = "(end: SessionEnd) => void")]
    pub on_end: Option<Arg<Function<'env, SessionEnd, ()>>>,
    /// The most session ends waiting for `onEnd` (default 100,000); past
    /// it the oldest is dropped and counted in `stats().endsDropped`.
    pub max_pending_ends: Option<f64>,
    /// How long `close()` may spend delivering the pending ends to `onEnd`
    /// (default 5 s: 5,000 ms); the ends still pending then are dropped,
    /// and counted in `stats().endsDropped`.
    pub close_timeout: Option<f64>,
    /// The bound on a session's attributes, as compact JSON bytes (default
    /// 4 KiB: 4,096).
    pub max_attrs_bytes: Option<f64>,
    /// The source of time (default: the system clock). A `MockClock` makes
    /// expiry testable without sleeping.
    #[napi(ts_type = "MockClock")]
    pub clock: Option<Arg<ClassInstance<'env, MockClock>>>,
    /// For tests: the store is then the memory store behind a faulty one
    /// that this switch turns on and off (`testing.FaultSwitch`): while it
    /// is on, every call that reaches the store throws `STORE_ERROR`.
    #[napi(ts_type = "FaultSwitch")]
    pub fault_switch: Option<Arg<ClassInstance<'env, FaultSwitch>>>,
    /// A snapshot file to load when the tracker is made (`Tracker.load(path,
    /// options)` says the same): every session in it, live and
    /// remembered, comes back as it was saved, and those whose deadline
    /// passed meanwhile end at it, their ends going to `onEnd`. A file that
    /// cannot be read whole (missing, truncated, corrupt, not a snapshot,
    /// the wrong key or none, a plain file where a key is given) throws
    /// `SNAPSHOT_ERROR`, naming it, and no tracker is made.
    #[napi(ts_type = "string")]
    pub load: Option<Text>,
    /// The tracker's own snapshot file: loaded when the tracker is made, if
    /// it exists (as `load`); saved by the driver every `snapshotInterval`,
    /// once more by `close()`, and when the process or worker thread exits
    /// without `close()`. A save that fails is warned of once
    /// (`SOJOURN_SNAPSHOT_ERROR`), and the previous file stays whole. One
    /// file per process.
    #[napi(ts_type = "string")]
    pub snapshot: Option<Text>,
    /// How often the driver saves `snapshot` (default 60 s: 60,000 ms); 0
    /// saves it only on `close()` and at exit.
    pub snapshot_interval: Option<f64>,
    /// 32 bytes (from a secret store) that encrypt and authenticate the
    /// snapshots this tracker saves (ChaCha20-Poly1305), and open those it
    /// loads: a tracker with a key loads only files of that key, and
    /// refuses a plain one. Anything but a `Uint8Array` (a `Buffer` is
    /// one) of exactly 32 bytes throws `INVALID_ARGUMENT`. The key never
    /// shows in an error.
    #[napi(ts_type = "Uint8Array")]
    pub snapshot_key: Option<Key>,
}

/// The names of the options, as JavaScript gives them: every field of
/// [`TrackerOptions`].
pub(crate) const OPTIONS: [&str; 21] = [
    "idleTimeout",
    "maxLifetime",
    "reviveWindow",
    "retention",
    "maxSessions",
    "maxDormant",
    "secret",
    "secrets",
    "unsignedTokens",
    "maxCounterHint",
    "sweepInterval",
    "onEnd",
    "maxPendingEnds",
    "closeTimeout",
    "maxAttrsBytes",
    "clock",
    "faultSwitch",
    "load",
    "snapshot",
    "snapshotInterval",
    "snapshotKey",
];

/// Tracks live sessions: their counters, user, timestamps and attributes,
/// their expiry, revival and ends. Ids are UUID strings; a malformed one
/// throws `INVALID_SESSION_ID`. Every error is an `Error` with a stable
/// `code`: `SESSION_NOT_FOUND`, `INVALID_SESSION_ID`,
/// `SESSION_NOT_REVIVABLE`, `INVALID_ARGUMENT`, `STORE_ERROR` or
/// `SNAPSHOT_ERROR`.
#[napi]
pub struct Tracker {
    /// The core tracker and what ties it to JavaScript: the delivery of
    /// its ends and warnings.
    pub(crate) wired: Wired,
    /// Where the internal methods put numbers for the wrapper.
    pub(crate) scratch: Scratch,
}

#[napi]
impl Tracker {
    /// A tracker with these options; throws `INVALID_ARGUMENT` for an
    /// option out of range, of the wrong type, or unknown, and
    /// `SNAPSHOT_ERROR` for a snapshot (`load`, `snapshot`) that cannot be
    /// read whole. (`ready` is the
    /// package's: called with no argument on the main thread when session
    /// ends wait, it takes them with `_takeEnds` and calls `onEnd`. Ends
    /// are kept for it when it is given, and only then. `warned` is the
    /// package's too: called with no argument on the main thread after a
    /// warning was given on another thread, it takes the warnings with
    /// `_takeWarnings` and emits them.)
    #[napi(constructor)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "TrackerOptions")] options: Option<Any>,
        #[napi(ts_arg_type = "() => void")] ready: Option<Arg<Function<'_, (), ()>>>,
        #[napi(ts_arg_type = "() => void")] warned: Option<Arg<Function<'_, (), ()>>>,
    ) -> Result<Self> {
        let options = match options {
            // SAFETY: the value is an argument of this call.
            Some(value) => Some(unsafe {
                check_options(env.raw(), value.raw(), &[&OPTIONS])?;
                tracker_options(env.raw(), value.raw())?
            }),
            None => None,
        };
        let builder = match options {
            Some(options) => configure(options)?,
            None => sojourn::Tracker::builder(),
        };
        // SAFETY: this call's `env`, on its thread.
        let (builder, wiring) = unsafe { Wiring::new(env.raw(), builder, ready, warned)? };
        let inner = builder.build().or_throw()?;
        Ok(Tracker {
            // SAFETY: as above; a tracker is dropped on the main thread of
            // its environment.
            wired: unsafe { wiring.attach(env.raw(), inner)? },
            scratch: Scratch::default(),
        })
    }

    /// Starts a new session (`sessionIndex` 1).
    #[napi]
    pub fn start(
        &self,
        #[napi(ts_arg_type = "StartOptions")] options: Option<Arg<StartOptions>>,
    ) -> Result<Session> {
        self.core_start(options).map(|r| self.public(r))
    }

    /// The live session `id`, touched; `null` if it is not live.
    #[napi]
    pub fn get(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<Option<Session>> {
        Ok(self
            .wired
            .inner
            .get(id.get()?)
            .or_throw()?
            .map(Session::from))
    }

    /// The live session `id` without touching it; `null` if it is not live.
    #[napi]
    pub fn peek(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<Option<Session>> {
        Ok(self
            .wired
            .inner
            .peek(id.get()?)
            .or_throw()?
            .map(Session::from))
    }

    /// Whether `id` is live. Does not touch it.
    #[napi]
    pub fn exists(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<bool> {
        self.wired.inner.exists(id.get()?).or_throw()
    }

    /// Counts one view or event and returns the counters right after it;
    /// throws `SESSION_NOT_FOUND` if the session is not live.
    #[napi]
    pub fn track(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "'view' | 'event'")] kind: Arg<Text>,
    ) -> Result<Tick> {
        let id = id.get()?;
        let kind = kind_of(kind)?;
        self.wired.inner.track(id, kind).or_throw().map(Tick::from)
    }

    /// Counts one view or event on each id in turn, as that many `track`
    /// calls would, in one call: for an ingestion endpoint with a batch of
    /// events from many clients. Returns, for each id in order, its tick;
    /// `null` if its session is not live; or, for any other error of that
    /// item (a counter at its maximum: `INVALID_ARGUMENT`), an `Error` with
    /// its `code`, returned and not thrown: the items are independent
    /// operations, and every other one is tracked. An id may repeat: each
    /// occurrence counts.
    ///
    /// Every id is checked before anything is tracked, and a bad one
    /// throws for the whole call: `INVALID_ARGUMENT` if `ids` is not an
    /// array of strings, `INVALID_SESSION_ID` for a malformed one.
    #[napi(ts_return_type = "Array<Tick | null | Error>")]
    pub fn track_many(
        &self,
        #[napi(ts_arg_type = "string[]")] ids: Ids,
        #[napi(ts_arg_type = "'view' | 'event'")] kind: Arg<Text>,
    ) -> Result<Vec<Item>> {
        let ids = ids.get()?;
        let kind = kind_of(kind)?;
        let items = self.core_track_many(&ids, kind)?;
        Ok(items.into_iter().map(Item::from).collect())
    }

    /// Assigns the session to a user (at most 256 bytes).
    #[napi]
    pub fn identify(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "string")] user_id: Arg<Text>,
    ) -> Result<Session> {
        self.core_identify(id, user_id).map(|r| self.public(r))
    }

    /// Merges attributes into the session's: a key given replaces its value.
    #[napi]
    pub fn set_attrs(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "Record<string, string | number | boolean | null>")] attrs: Arg<Attrs>,
    ) -> Result<Session> {
        self.core_set_attrs(id, attrs).map(|r| self.public(r))
    }

    /// Brings the session `id` back with its counters (the maximum of what
    /// the tracker knew and the hints), or returns it if live. Throws
    /// `SESSION_NOT_REVIVABLE` for a session that ended, reached its
    /// lifetime, or whose UUIDv7 time is out of range.
    #[napi]
    pub fn revive(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "Hints")] hints: Option<Arg<Hints>>,
    ) -> Result<Session> {
        self.core_revive(id, hints).map(|r| self.public(r))
    }

    /// What a web request calls with the token its client holds: the live
    /// session (`existing`), the same session brought back (`revived`), or
    /// a new one (`started`, linked to the old one when there was one). A
    /// bad token is never an error: it starts a session and is counted in
    /// `stats().rejected`. Errors are for bad hints only.
    #[napi]
    pub fn resume(
        &self,
        #[napi(ts_arg_type = "string | null")] token: Option<Arg<Token>>,
        #[napi(ts_arg_type = "Hints")] hints: Option<Arg<Hints>>,
    ) -> Result<Resumed> {
        let (record, token, outcome) = self.core_resume(token, hints)?;
        let session = match token {
            Some(token) => record.session(token),
            None => self.wired.inner.session(&record),
        };
        Ok(Resumed::from((session, outcome)))
    }

    /// Ends a live session (reason `ended`) and returns its end; `null` if
    /// it is not live.
    #[napi]
    pub fn end(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<Option<SessionEnd>> {
        Ok(self
            .wired
            .inner
            .end(id.get()?)
            .or_throw()?
            .map(SessionEnd::from))
    }

    /// The live sessions, all or one user's (from the user index).
    #[napi]
    pub fn sessions(
        &self,
        #[napi(ts_arg_type = "string")] user_id: Option<Arg<Text>>,
    ) -> Result<Vec<Session>> {
        let user_id = convert::opt_string(user_id, "userId")?;
        let sessions = self.wired.inner.sessions(user_id.as_deref()).or_throw()?;
        Ok(sessions.into_iter().map(Session::from).collect())
    }

    // `size` is defined over `count()` by the package's wrapper: napi
    // defines getters without the receiver check its methods have, so a
    // native getter applied to another of this addon's objects would read
    // it as a tracker. (So is `MockClock::now` a method.)
    /// How many sessions are live, all or one user's.
    #[napi]
    pub fn count(&self, #[napi(ts_arg_type = "string")] user_id: Option<Arg<Text>>) -> Result<f64> {
        let user_id = convert::opt_string(user_id, "userId")?;
        Ok(self.wired.inner.count(user_id.as_deref()).or_throw()? as f64)
    }

    /// Logs a user out everywhere: ends every live session of the user
    /// (reason `ended`, each end delivered with its `userId`), and makes
    /// every session of theirs that the tracker remembers neither
    /// revivable nor a source of the user: a client that comes back with
    /// such a token starts a new, anonymous session, linked to the old one.
    /// Returns how many live sessions ended.
    #[napi]
    pub fn end_user(&self, #[napi(ts_arg_type = "string")] user_id: Arg<Text>) -> Result<f64> {
        let user_id = String::from(user_id.get("userId")?);
        Ok(self.wired.inner.end_user(&user_id).or_throw()? as f64)
    }

    /// Erases a user: as `endUser`, and what the tracker remembers of the
    /// user's sessions is deleted (user, counters, attributes, linkage);
    /// only their ids are kept until `retention`, so that a client that
    /// comes back with such a token starts a new session, unlinked. The
    /// ends of the live sessions are still delivered to `onEnd`, with their
    /// `userId`, for the application to close (and erase) them downstream.
    /// Returns how many sessions were erased, live and remembered.
    #[napi]
    pub fn forget_user(&self, #[napi(ts_arg_type = "string")] user_id: Arg<Text>) -> Result<f64> {
        let user_id = String::from(user_id.get("userId")?);
        Ok(self.wired.inner.forget_user(&user_id).or_throw()? as f64)
    }

    /// Ends every live session (for example at shutdown); returns how many
    /// ended.
    #[napi]
    pub fn end_all(&self) -> Result<f64> {
        Ok(self.wired.inner.end_all().or_throw()? as f64)
    }

    /// Moves the live sessions of `oldUserId` to `newUserId` (an anonymous
    /// visitor who logs in); returns how many moved.
    #[napi]
    pub fn reassign_user(
        &self,
        #[napi(ts_arg_type = "string")] old_user_id: Arg<Text>,
        #[napi(ts_arg_type = "string")] new_user_id: Arg<Text>,
    ) -> Result<f64> {
        let old = String::from(old_user_id.get("oldUserId")?);
        let new = String::from(new_user_id.get("newUserId")?);
        self.wired
            .inner
            .reassign_user(&old, &new)
            .or_throw()
            .map(|n| n as f64)
    }

    /// Counters since the tracker was made, the live and dormant counts,
    /// and the session ends pending and dropped.
    #[napi]
    pub fn stats(&self) -> Result<Stats> {
        Ok(self.wired.inner.stats().or_throw()?.into())
    }

    /// Processes every due expiry now; returns how many sessions departed.
    /// Their ends go to `onEnd` on a later turn of the event loop (after
    /// `close()`, at once). The driver does this every `sweepInterval`.
    #[napi]
    pub fn sweep(&self) -> Result<f64> {
        Ok(self.wired.inner.sweep().or_throw()? as f64)
    }

    /// Writes every session, live and remembered, to a snapshot at `path`,
    /// encrypted with `snapshotKey` if there is one; resolves to how many
    /// it wrote. The file is written on libuv's thread pool, the store
    /// copied one part at a time: the event loop, and this tracker's
    /// calls, go on meanwhile. It replaces the previous file at once when
    /// complete: a crash at any moment leaves the previous one whole.
    /// Rejects with `SNAPSHOT_ERROR`, naming the file, when it cannot be
    /// written (`INVALID_ARGUMENT` if `path` is not a string).
    #[napi(ts_return_type = "Promise<SnapshotCounts>")]
    pub fn save(
        &self,
        #[napi(ts_arg_type = "string")] path: Arg<Text>,
    ) -> Pending<Counts, SnapshotCounts> {
        let tracker = self.wired.inner.clone();
        Promised::of(snapshot::path(path).map(|path| {
            Call::new(
                tracker,
                move |t: &sojourn::Tracker| t.save(&path),
                SnapshotCounts::from,
            )
        }))
    }

    /// As `save`, on this thread: returns when the file is written.
    #[napi]
    pub fn save_sync(
        &self,
        #[napi(ts_arg_type = "string")] path: Arg<Text>,
    ) -> Result<SnapshotCounts> {
        let path = snapshot::path(path)?;
        self.wired
            .inner
            .save(path)
            .or_throw()
            .map(SnapshotCounts::from)
    }

    /// The token a client keeps for the session `id`.
    #[napi]
    pub fn token(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<String> {
        Ok(self.wired.inner.token(id.get()?))
    }

    /// Stops the background driver after a last sweep, saves the
    /// `snapshot` if there is one, delivers every pending end to `onEnd`
    /// before it returns (for at most `closeTimeout`; the ends still
    /// pending then are dropped), and lets go of the threadsafe function.
    /// Returns how many ends it dropped: 0 when all were delivered. The
    /// tracker still answers calls; the ends of later calls are delivered
    /// by `sweep()` and `close()`, at once.
    #[napi]
    pub fn close(&self) -> f64 {
        let dropped = self.wired.inner.close();
        self.wired.release();
        dropped as f64
    }
}

/// The operations that take more than one step from their arguments to the
/// core's result, shared by the public methods above and the internal ones
/// (`internal.rs`), which hand the same result out in another form.
/// Arguments are converted in the order they are given, so that the first
/// bad one is the one reported.
impl Tracker {
    pub(crate) fn core_start(&self, options: Option<Arg<StartOptions>>) -> Result<SessionRecord> {
        let o = options.map(|o| o.get("options")).transpose()?;
        let (user_id, attrs) = o.map_or((None, None), |o| (o.user_id, o.attrs));
        let user_id = user_id.map(String::from);
        let session = self
            .wired
            .inner
            .records()
            .start(user_id.as_deref(), attrs.map(|a| a.0));
        session.or_throw()
    }

    /// The public `Session` of a record, its token signed.
    pub(crate) fn public(&self, record: SessionRecord) -> Session {
        Session::from(self.wired.inner.session(&record))
    }

    /// Each id's result, as the core gives it.
    pub(crate) fn core_track_many(
        &self,
        ids: &[SessionId],
        kind: Kind,
    ) -> Result<Vec<sojourn::Result<sojourn::Tick>>> {
        self.wired.inner.track_many(ids, kind).or_throw()
    }

    pub(crate) fn core_identify(&self, id: Id, user_id: Arg<Text>) -> Result<SessionRecord> {
        let id = id.get()?;
        let user_id = String::from(user_id.get("userId")?);
        self.wired.inner.records().identify(id, &user_id).or_throw()
    }

    pub(crate) fn core_set_attrs(&self, id: Id, attrs: Arg<Attrs>) -> Result<SessionRecord> {
        let id = id.get()?;
        let attrs = convert::attrs(attrs)?;
        self.wired.inner.records().set_attrs(id, attrs).or_throw()
    }

    pub(crate) fn core_revive(&self, id: Id, hints: Option<Arg<Hints>>) -> Result<SessionRecord> {
        let id = id.get()?;
        let hints = hints_of(hints)?;
        self.wired.inner.records().revive(id, hints).or_throw()
    }

    /// `revive` with hints given field by field (see `_reviveHinted`).
    pub(crate) fn core_revive_hinted(&self, id: Id, hints: Hinted) -> Result<SessionRecord> {
        let id = id.get()?;
        let hints = hints.into_core()?;
        self.wired.inner.records().revive(id, hints).or_throw()
    }

    /// `resume`: the session, its token when tokens are signed (the one
    /// given back when it is the session's, see `Signer::given_back`;
    /// else it is the id) and the outcome.
    pub(crate) fn core_resume(
        &self,
        token: Option<Arg<Token>>,
        hints: Option<Arg<Hints>>,
    ) -> Result<(SessionRecord, Option<String>, sojourn::Outcome)> {
        let token = token
            .map(|t| t.get("token").map(String::from))
            .transpose()?;
        let hints = hints_of(hints)?;
        self.resume_with(token, hints)
    }

    /// `resume` with hints given field by field (see `_resumeHinted`).
    pub(crate) fn core_resume_hinted(
        &self,
        token: Option<Arg<Token>>,
        hints: Hinted,
    ) -> Result<(SessionRecord, Option<String>, sojourn::Outcome)> {
        let token = token
            .map(|t| t.get("token").map(String::from))
            .transpose()?;
        self.resume_with(token, hints.into_core()?)
    }

    fn resume_with(
        &self,
        token: Option<String>,
        hints: sojourn::Hints,
    ) -> Result<(SessionRecord, Option<String>, sojourn::Outcome)> {
        let core = &self.wired.inner;
        let (record, outcome) = core.records().resume(token.as_deref(), hints).or_throw()?;
        let signer = core.signer();
        let token = signer.is_signed().then(|| {
            signer
                .given_back(outcome, token.as_deref())
                .unwrap_or_else(|| signer.token(record.id))
        });
        Ok((record, token, outcome))
    }
}

/// Checks that `value`, the options of a tracker, is an object whose own
/// enumerable keys are all names in `names` (a misspelt option is refused,
/// not ignored).
///
/// # Safety
///
/// `env` and `value` must be those of the current call.
pub(crate) unsafe fn check_options(
    env: sys::napi_env,
    value: sys::napi_value,
    names: &[&[&str]],
) -> Result<()> {
    // SAFETY (every napi call here): `env` and `value` are the call's, each
    // out-pointer is to a local, and each value read is of this call.
    unsafe { <Object as ValidateNapiValue>::validate(env, value) }
        .map_err(|e| error::invalid_value("options", e))?;
    let mut keys = std::ptr::null_mut();
    check(unsafe {
        sys::napi_get_all_property_names(
            env,
            value,
            sys::KeyCollectionMode::own_only,
            sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
            sys::KeyConversion::numbers_to_strings,
            &mut keys,
        )
    })
    .or_throw()?;
    let mut length = 0;
    check(unsafe { sys::napi_get_array_length(env, keys, &mut length) }).or_throw()?;
    for i in 0..length {
        let mut key = std::ptr::null_mut();
        check(unsafe { sys::napi_get_element(env, keys, i, &mut key) }).or_throw()?;
        // Any name that is not an option's is refused, whatever it holds:
        // read with replacement, for the message.
        let name = String::from(unsafe { Token::from_napi_value(env, key) }.or_throw()?);
        if names.iter().any(|group| group.contains(&name.as_str())) {
            continue;
        }
        let reason = match REDIS_OPTIONS.contains(&name.as_str()) {
            true => format!(
                "unknown option {name:?}: a tracker keeps its sessions in memory; \
                 `await RedisTracker.connect(options)` keeps them in Redis"
            ),
            false => format!(
                "unknown option {name:?}; the options are {}",
                names.concat().join(", ")
            ),
        };
        return Err(error::invalid("options", reason));
    }
    Ok(())
}

/// The options of a tracker in `value`, converted; its keys checked first
/// ([`check_options`]).
///
/// # Safety
///
/// `env` and `value` must be those of the current call.
pub(crate) unsafe fn tracker_options<'env>(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Result<TrackerOptions<'env>> {
    // SAFETY: as the caller's.
    unsafe { TrackerOptions::from_napi_value(env, value) }
        .map_err(|e| error::invalid_value("options", e))
}

/// A builder with the options given (all but `onEnd`, which the wrapper
/// calls: the constructor's `ready` decides whether ends are kept).
pub(crate) fn configure(o: TrackerOptions) -> Result<TrackerBuilder> {
    let mut b = sojourn::Tracker::builder();
    // Each numeric option is the builder method of the same name.
    macro_rules! set {
        ($option:ident, $name:literal, $convert:path) => {
            if let Some(value) = o.$option {
                b = b.$option($convert(value, $name)?);
            }
        };
    }
    set!(idle_timeout, "idleTimeout", convert::millis);
    set!(max_lifetime, "maxLifetime", convert::millis);
    set!(revive_window, "reviveWindow", convert::millis);
    set!(retention, "retention", convert::millis);
    set!(max_sessions, "maxSessions", convert::size);
    set!(max_dormant, "maxDormant", convert::size);
    set!(max_attrs_bytes, "maxAttrsBytes", convert::size);
    set!(max_counter_hint, "maxCounterHint", convert::count);
    set!(max_pending_ends, "maxPendingEnds", convert::size);
    set!(close_timeout, "closeTimeout", convert::millis);
    set!(sweep_interval, "sweepInterval", convert::millis);
    // Both given is refused by the core's `build`, as in every language.
    if let Some(secret) = o.secret {
        b = b.secret(String::from(secret));
    }
    if let Some(secrets) = o.secrets {
        b = b.secrets(secrets.into_iter().map(String::from));
    }
    if let Some(unsigned) = o.unsigned_tokens {
        b = b.unsigned_tokens(unsigned);
    }
    if let Some(clock) = o.clock {
        b = b.clock(clock.get("clock")?.inner.clone());
    }
    if let Some(switch) = o.fault_switch {
        b = b.store(store::faulty(switch.get("faultSwitch")?.inner.clone()));
    }
    if let Some(on_end) = o.on_end {
        // Checked here; called by the wrapper.
        on_end.get("onEnd")?;
    }
    let snapshots = snapshot::Options {
        load: o.load,
        snapshot: o.snapshot,
        snapshot_interval: o.snapshot_interval,
        snapshot_key: o.snapshot_key,
    };
    snapshot::configure(b, snapshots)
}

/// A kind argument: `'view'` or `'event'`.
pub(crate) fn kind_of(kind: Arg<Text>) -> Result<Kind> {
    String::from(kind.get("kind")?).parse::<Kind>().or_throw()
}

/// One item of `trackMany`: its tick, `null` when its session is not live,
/// or its error, as a value.
pub enum Item {
    Tick(sojourn::Tick),
    NotLive,
    Error(sojourn::Error),
}

impl From<sojourn::Result<sojourn::Tick>> for Item {
    fn from(result: sojourn::Result<sojourn::Tick>) -> Item {
        match sojourn::Tick::batch_item(result) {
            Ok(Some(tick)) => Item::Tick(tick),
            Ok(None) => Item::NotLive,
            Err(error) => Item::Error(error),
        }
    }
}

impl ToNapiValue for Item {
    unsafe fn to_napi_value(env: sys::napi_env, item: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: `env` is the one napi hands to every conversion.
        unsafe {
            match item {
                Item::Tick(tick) => Tick::to_napi_value(env, tick.into()),
                Item::NotLive => Null::to_napi_value(env, Null),
                Item::Error(error) => ErrorValue::to_napi_value(env, ErrorValue(error)),
            }
        }
    }
}

/// Hints without attributes, given one argument a field by the wrapper:
/// napi reads an object's properties one slow call each, which cost
/// `revive` and `resume` more than all the rest of their work.
pub(crate) struct Hinted {
    pub user_id: Option<Arg<Text>>,
    pub view_sequence: Option<f64>,
    pub event_sequence: Option<f64>,
}

impl Hinted {
    fn into_core(self) -> Result<sojourn::Hints> {
        Hints {
            user_id: self
                .user_id
                .map(|u| u.within("Hints.userId").get("hints"))
                .transpose()?,
            attrs: None,
            view_sequence: self.view_sequence,
            event_sequence: self.event_sequence,
        }
        .into_core()
    }
}

pub(crate) fn hints_of(hints: Option<Arg<Hints>>) -> Result<sojourn::Hints> {
    match hints {
        Some(hints) => hints.get("hints")?.into_core(),
        None => Ok(sojourn::Hints::default()),
    }
}
