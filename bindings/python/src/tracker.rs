//! The tracker: every operation of the core, with Python arguments. Each
//! converts its arguments, calls the core, then converts the result.
//!
//! Every call that reaches the store gives, once it is done, the warnings
//! the core gave meanwhile on its thread (a sweep that failed: see
//! `warnings.rs`).
//!
//! With a store outside the process (Redis: `Tracker::store_is_remote`),
//! every call that reaches the store releases the GIL while it waits on
//! the network, and so does building such a tracker (it connects). With
//! the memory store the GIL is released around the calls that can run
//! long or wait on something other than a shard lock held briefly: those
//! that visit every shard (`sessions`, `count`, `len`, `stats`,
//! `end_user`, `forget_user`, `end_all`, `reassign_user`, `sweep`),
//! batches (`track_many`), those that write or read a file (`save`, and
//! building a tracker that loads a snapshot), and those that wait for the
//! driver thread (`close`, which may save the tracker's snapshot, and
//! dropping the tracker). The calls on one session keep it:
//! the core never holds a store lock while it calls back (see
//! `docs/architecture.md`), so a thread waiting for the GIL never holds
//! the lock such a call waits for, and the wait is at most another
//! thread's round on that shard: a sweep's or `end_all`'s 256 departures
//! (a few tenths of a millisecond), a batch's 64 ids, or `sessions()`
//! copying one shard's share of the live sessions. Releasing and retaking
//! the GIL costs more (about 45 ns) than most of these calls spend in the
//! core. On Redis a call waits a round trip or more (0.1 ms on loopback,
//! up to `store_timeout`), and `on_end` and the warnings given during it
//! take the GIL back (`ends.rs`, `warnings.rs`).

use std::mem::ManuallyDrop;
use std::sync::Arc;

use pyo3::PyTraverseError;
use pyo3::exceptions::PyTypeError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use sojourn::{Hints, SessionRecord, Signer, Tick, Tracker};

use crate::clock::PyMockClock;
use crate::config::Options;
use crate::convert;
use crate::ends::Callback;
use crate::errors::{self, OrRaise};
use crate::process::Slot;
use crate::session::{self, PySession, PySessionEnd, PyStats, PyTick};
use crate::snapshot::PySnapshotCounts;
use crate::store::PyFaultSwitch;
use crate::warnings;

/// Tracks live sessions: their view and event counters, user, timestamps
/// and attributes, their expiry, revival and ends.
///
/// Every option is keyword-only and optional; ``None`` keeps the core's
/// default. Durations are seconds (int or float) or ``timedelta``s.
///
/// - ``idle_timeout``: a session ends after this long without activity.
/// - ``max_lifetime``: and this long after it started, however active.
/// - ``revive_window``: how long after its last activity a departed session
///   may be revived by ``resume``.
/// - ``retention``: how long departed sessions are remembered.
/// - ``max_sessions``: live sessions; past it the one closest to expiry is
///   evicted.
/// - ``max_dormant``: remembered sessions; past it the oldest is forgotten.
/// - ``secret`` / ``secrets``: HMAC-SHA256 keys (str or bytes, 16 bytes or
///   more); tokens become ``id.signature``; the first key signs, all verify.
///   Without either, the tracker warns (``SojournWarning``, code
///   ``UNSIGNED_TOKENS``) unless ``unsigned_tokens=True``.
/// - ``unsigned_tokens``: tokens are bare session ids, on purpose: anyone
///   who learns an id can resume that session.
/// - ``max_counter_hint``: the most a client's counter hint may raise a
///   revived session's counter to; a larger one is cut down to it.
/// - ``sweep_interval``: how often the background driver notices expiries
///   and delivers ends; 0 runs no driver (``sweep()`` does it then), and
///   anything else is at least 1 ms.
/// - ``on_end``: any callable, called once with every ``SessionEnd`` from
///   the driver's delivery thread, with the GIL taken; what it raises is
///   reported through ``sys.unraisablehook`` and the tracker goes on.
/// - ``max_pending_ends``: ends waiting for ``on_end`` at most; past it the
///   oldest is dropped and counted in ``stats().ends_dropped``.
/// - ``close_timeout``: how long ``close()`` (and exit) waits for the
///   pending ends to be delivered before dropping the rest.
/// - ``max_attrs_bytes``: bound on a session's attributes as compact JSON.
/// - ``clock``: a ``MockClock``, to test expiry without sleeping.
/// - ``fault_switch``: a ``sojourn.testing.FaultSwitch``, to test what an
///   application does when the store fails: while it is on, every call
///   that reaches the store raises ``StoreError`` and changes nothing.
/// - ``redis_url``: keep the sessions in the Redis at this URL
///   (``redis://host:6379/0``, ``rediss://``, ``redis+unix:///path``),
///   shared by every tracker pointed at it with the same ``key_prefix``:
///   several processes then see one set of sessions and report each end
///   once. The tracker connects when it is made: an unreachable Redis
///   raises ``StoreError`` there.
/// - ``redis_cluster``: the same on a Redis Cluster, reached through any
///   of these nodes' URLs (a list of str). Give one of the two.
/// - ``key_prefix``: the prefix of every Redis key (1 to 64 bytes, no
///   braces): trackers that share it share their sessions.
/// - ``store_timeout``: how long a call waits for Redis (to connect, and
///   for each answer) before it raises ``StoreError``.
/// - ``load``: a snapshot file (``str`` or ``os.PathLike``) to load when
///   the tracker is made (``Tracker.load(path, ...)`` says the same): its
///   sessions come back with their counters, users and attributes, and
///   those whose deadline passed meanwhile end at it (their ends go to
///   ``on_end``). A file that cannot be read whole raises
///   ``SnapshotError`` and no tracker is made.
/// - ``snapshot``: the tracker's own snapshot file: loaded when it is made
///   if it exists, saved every ``snapshot_interval`` by the driver, and on
///   ``close()`` (so at exit too). One file per process: a child after
///   ``fork()`` neither loads nor saves it. A save that fails warns once
///   (``SojournWarning``, code ``SNAPSHOT_ERROR``); the previous file stays
///   whole.
/// - ``snapshot_interval``: how often the driver saves ``snapshot``; 0
///   saves only on ``close()``.
/// - ``snapshot_key``: 32 ``bytes`` that encrypt the snapshots the tracker
///   saves and open those it loads (it refuses a plain file then). It
///   never shows in a ``repr`` or an error.
///
/// A tracker is a context manager: leaving the block calls ``close()``.
/// Trackers still open when the interpreter exits are closed then (which
/// saves their ``snapshot``). In a child process after ``fork()``, a
/// tracker made before it is a new, empty tracker with the same options
/// and a driver of its own, without the parent's ``snapshot`` file.
#[pyclass(name = "Tracker", module = "sojourn", frozen, weakref)]
pub struct PyTracker {
    /// Taken only by `Drop`.
    slot: ManuallyDrop<Arc<Slot>>,
    callback: Option<Arc<Callback>>,
    /// `Tracker::store_is_remote`, which a renewal after fork keeps: read
    /// once, so that a call on the memory store pays one test for it.
    remote: bool,
    /// Signs the tokens of the sessions handed out, if they are read (a
    /// renewal after fork keeps the secrets).
    signer: Signer,
}

impl PyTracker {
    /// A session handed out: its token signed only if it is read.
    fn session(&self, record: SessionRecord) -> PySession {
        PySession::new(record, self.signer.clone())
    }

    /// The core tracker, for one call.
    fn core(&self) -> arc_swap::Guard<Arc<Tracker>> {
        self.slot.get()
    }

    /// `f` on the core tracker: its result, after the warnings it gave
    /// (a sweep that failed), or its error raised. The GIL is kept on the
    /// memory store, let go on a remote one (see above). The web layer's
    /// `visit` and `collect` (`web.rs`) run through it too.
    #[inline]
    pub(crate) fn call<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Tracker) -> sojourn::Result<R> + Send,
    ) -> PyResult<R> {
        let result = if self.remote || self.slot.is_stale() {
            self.remote_call(py, f)
        } else {
            f(&self.core())
        };
        warnings::give(py)?;
        result.or_raise(py)
    }

    /// `f` with the GIL let go, on a slot renewed first if it is stale;
    /// out of line, so that [`Self::call`] stays as small on the memory
    /// store as it was without it.
    #[inline(never)]
    fn remote_call<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Tracker) -> sojourn::Result<R> + Send,
    ) -> sojourn::Result<R> {
        let slot: &Slot = &self.slot;
        py.detach(|| slot.current().and_then(|core| f(&core)))
    }

    /// As [`Self::call`], with the GIL let go whatever the store (see
    /// above for which calls).
    fn detached<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Tracker) -> sojourn::Result<R> + Send,
    ) -> PyResult<R> {
        let slot: &Slot = &self.slot;
        let result = py.detach(|| slot.current().and_then(|core| f(&core)));
        warnings::give(py)?;
        result.or_raise(py)
    }
}

impl Drop for PyTracker {
    fn drop(&mut self) {
        // SAFETY: `slot` is never used again: this is the object's end.
        let slot = unsafe { ManuallyDrop::take(&mut self.slot) };
        // Dropping the last handle closes the tracker, which waits for the
        // driver, which may be waiting for the GIL to call `on_end`: let go
        // of the GIL meanwhile. During interpreter shutdown, attaching is
        // not possible; the trackers were closed at exit then.
        let mut slot = Some(slot);
        Python::try_attach(|py| {
            py.detach(|| drop(slot.take()));
            // Closing may have dropped ends: say so, as close() would.
            if let Err(err) = warnings::give(py) {
                err.write_unraisable(py, None);
            }
        });
        drop(slot);
    }
}

fn hints(
    user_id: Option<&Bound<'_, PyAny>>,
    attrs: Option<&Bound<'_, PyAny>>,
    view_sequence: Option<&Bound<'_, PyAny>>,
    event_sequence: Option<&Bound<'_, PyAny>>,
) -> PyResult<Hints> {
    let mut hints = Hints {
        user_id: convert::opt_text("user_id", user_id)?,
        attrs: attrs.map(convert::attrs).transpose()?,
        ..Hints::default()
    };
    if let Some(n) = view_sequence {
        hints.view_sequence = convert::count("view_sequence", n)?;
    }
    if let Some(n) = event_sequence {
        hints.event_sequence = convert::count("event_sequence", n)?;
    }
    Ok(hints)
}

#[pymethods]
impl PyTracker {
    #[new]
    #[pyo3(signature = (
        *,
        idle_timeout = None,
        max_lifetime = None,
        revive_window = None,
        retention = None,
        max_sessions = None,
        max_dormant = None,
        secret = None,
        secrets = None,
        unsigned_tokens = None,
        max_counter_hint = None,
        sweep_interval = None,
        on_end = None,
        max_pending_ends = None,
        close_timeout = None,
        max_attrs_bytes = None,
        clock = None,
        fault_switch = None,
        redis_url = None,
        redis_cluster = None,
        key_prefix = None,
        store_timeout = None,
        load = None,
        snapshot = None,
        snapshot_interval = None,
        snapshot_key = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        idle_timeout: Option<&Bound<'_, PyAny>>,
        max_lifetime: Option<&Bound<'_, PyAny>>,
        revive_window: Option<&Bound<'_, PyAny>>,
        retention: Option<&Bound<'_, PyAny>>,
        max_sessions: Option<&Bound<'_, PyAny>>,
        max_dormant: Option<&Bound<'_, PyAny>>,
        secret: Option<&Bound<'_, PyAny>>,
        secrets: Option<&Bound<'_, PyAny>>,
        unsigned_tokens: Option<&Bound<'_, PyAny>>,
        max_counter_hint: Option<&Bound<'_, PyAny>>,
        sweep_interval: Option<&Bound<'_, PyAny>>,
        on_end: Option<Bound<'_, PyAny>>,
        max_pending_ends: Option<&Bound<'_, PyAny>>,
        close_timeout: Option<&Bound<'_, PyAny>>,
        max_attrs_bytes: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyMockClock>>,
        fault_switch: Option<&Bound<'_, PyFaultSwitch>>,
        redis_url: Option<&Bound<'_, PyAny>>,
        redis_cluster: Option<&Bound<'_, PyAny>>,
        key_prefix: Option<&Bound<'_, PyAny>>,
        store_timeout: Option<&Bound<'_, PyAny>>,
        load: Option<&Bound<'_, PyAny>>,
        snapshot: Option<&Bound<'_, PyAny>>,
        snapshot_interval: Option<&Bound<'_, PyAny>>,
        snapshot_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let options = Options {
            idle_timeout,
            max_lifetime,
            revive_window,
            retention,
            max_sessions,
            max_dormant,
            secret,
            secrets,
            unsigned_tokens,
            max_counter_hint,
            sweep_interval,
            max_pending_ends,
            close_timeout,
            max_attrs_bytes,
            clock,
            fault_switch,
            redis_url,
            redis_cluster,
            key_prefix,
            store_timeout,
            load,
            snapshot,
            snapshot_interval,
            snapshot_key,
        };
        let mut builder = options.builder()?.on_warning(warnings::hook);
        let callback = match on_end {
            Some(f) if !f.is_callable() => {
                return Err(PyTypeError::new_err(format!(
                    "on_end must be callable, not {}",
                    f.get_type().name()?
                )));
            }
            Some(f) => Some(Callback::new(f)),
            None => None,
        };
        if let Some(callback) = &callback {
            builder = builder
                .on_end(callback.on_end())
                .on_end_scope(Callback::scope());
        }
        // Building on Redis connects, and loading a snapshot reads a file:
        // other threads go on meanwhile.
        let core = if options.build_may_wait() {
            py.detach(|| builder.build())
        } else {
            builder.build()
        };
        let core = core.or_raise(py)?;
        let tracker = PyTracker {
            remote: core.store_is_remote(),
            signer: core.signer().clone(),
            slot: ManuallyDrop::new(Slot::register(core)),
            callback,
        };
        warnings::give(py)?;
        Ok(tracker)
    }

    /// A tracker that loads the snapshot at ``path`` (``str`` or
    /// ``os.PathLike``) when it is made, with the other options given as
    /// keywords: the same as ``Tracker(load=path, **options)``. A file that
    /// cannot be read whole raises ``SnapshotError``.
    #[classmethod]
    #[pyo3(signature = (path, **options))]
    fn load<'py>(
        cls: &Bound<'py, PyType>,
        path: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kwargs = match options {
            Some(options) => options.copy()?,
            None => PyDict::new(cls.py()),
        };
        if kwargs.contains("load")? {
            return Err(PyTypeError::new_err(
                "Tracker.load() takes the path once: as its first argument, not load=",
            ));
        }
        kwargs.set_item("load", path)?;
        cls.call((), Some(&kwargs))
    }

    /// Saves every live and remembered session to the file ``path`` (``str``
    /// or ``os.PathLike``) and returns how many it wrote. The file is
    /// written beside it under another name and renamed over it once whole,
    /// so a crash at any moment leaves the previous file as it was;
    /// encrypted with ``snapshot_key`` if the tracker has one. Lets the GIL
    /// go for the whole save: other threads keep tracking (one part of the
    /// store is copied at a time). On Redis, it saves every session under
    /// the tracker's ``key_prefix``. A file that cannot be written raises
    /// ``SnapshotError``.
    fn save(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<PySnapshotCounts> {
        let path = convert::path("path", path)?;
        self.detached(py, |core| core.save(&path))
            .map(PySnapshotCounts)
    }

    /// Starts a new session (``session_index`` 1), with an optional user
    /// and attributes.
    #[pyo3(signature = (user_id = None, attrs = None))]
    fn start(
        &self,
        py: Python<'_>,
        user_id: Option<&Bound<'_, PyAny>>,
        attrs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySession> {
        let user_id = convert::opt_text("user_id", user_id)?;
        let attrs = attrs.map(convert::attrs).transpose()?;
        self.call(py, |core| core.records().start(user_id.as_deref(), attrs))
            .map(|r| self.session(r))
    }

    /// The live session ``id``, touched (``last_seen`` becomes now);
    /// ``None`` if it is not live.
    fn get(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Option<PySession>> {
        let id = convert::session_id(id)?;
        Ok(self
            .call(py, |core| core.records().get(id))?
            .map(|r| self.session(r)))
    }

    /// The live session ``id`` without touching it; ``None`` if it is not
    /// live.
    fn peek(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Option<PySession>> {
        let id = convert::session_id(id)?;
        Ok(self
            .call(py, |core| core.records().peek(id))?
            .map(|r| self.session(r)))
    }

    /// Whether ``id`` is live. Does not touch it.
    fn exists(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let id = convert::session_id(id)?;
        self.call(py, |core| core.exists(id))
    }

    /// Counts one ``"view"`` or ``"event"`` and returns the counters right
    /// after it. Raises ``SessionNotFound`` if the session is not live.
    fn track(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        kind: &Bound<'_, PyAny>,
    ) -> PyResult<PyTick> {
        let id = convert::session_id(id)?;
        let kind = convert::kind(kind)?;
        self.call(py, |core| core.track(id, kind)).map(PyTick)
    }

    /// Counts one ``"view"`` or ``"event"`` on each id in turn, as that many
    /// ``track`` calls would, in one call that releases the GIL once: for
    /// an ingestion endpoint with a batch of events from many clients.
    /// Returns, for each id in order, its ``Tick``; ``None`` if its session
    /// is not live; or, for any other error of that item (a counter at its
    /// maximum), the ``SojournError`` that ``track`` would raise, returned,
    /// not raised: every item is tracked or not on its own, and the caller
    /// sees every outcome. An id may repeat: each occurrence counts.
    ///
    /// ``ids`` is any iterable of ids (not a ``str``). Every id is checked
    /// before anything is tracked: a malformed one raises
    /// ``InvalidSessionId``, one of the wrong type ``TypeError``.
    fn track_many(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        kind: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Py<PyAny>>> {
        let ids = convert::session_ids(ids)?;
        let kind = convert::kind(kind)?;
        let results = self.detached(py, |core| core.track_many(&ids, kind))?;
        results
            .into_iter()
            .map(|result| match Tick::batch_item(result) {
                Ok(Some(tick)) => Ok(Py::new(py, PyTick(tick))?.into_any()),
                Ok(None) => Ok(py.None()),
                Err(err) => Ok(errors::raise(py, err).into_value(py).into_any()),
            })
            .collect()
    }

    /// Assigns the session to a user; returns it, touched.
    fn identify(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        user_id: &Bound<'_, PyAny>,
    ) -> PyResult<PySession> {
        let id = convert::session_id(id)?;
        let user_id = convert::text_ref("user_id", user_id)?;
        self.call(py, |core| core.records().identify(id, user_id))
            .map(|r| self.session(r))
    }

    /// Merges attributes into the session's (a key given replaces its
    /// value; others stay); returns it, touched.
    fn set_attrs(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        attrs: &Bound<'_, PyAny>,
    ) -> PyResult<PySession> {
        let id = convert::session_id(id)?;
        let attrs = convert::attrs(attrs)?;
        self.call(py, |core| core.records().set_attrs(id, attrs))
            .map(|r| self.session(r))
    }

    /// Brings the session ``id`` back with its counters (the maximum of
    /// what the tracker knew and the hints), or returns it, touched, if it
    /// is live. Raises ``SessionNotRevivable`` for a session that ended,
    /// reached its lifetime, or whose UUIDv7 time is out of range.
    #[pyo3(signature = (id, *, user_id = None, view_sequence = None, event_sequence = None, attrs = None))]
    fn revive(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        user_id: Option<&Bound<'_, PyAny>>,
        view_sequence: Option<&Bound<'_, PyAny>>,
        event_sequence: Option<&Bound<'_, PyAny>>,
        attrs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySession> {
        let id = convert::session_id(id)?;
        let hints = hints(user_id, attrs, view_sequence, event_sequence)?;
        self.call(py, |core| core.records().revive(id, hints))
            .map(|r| self.session(r))
    }

    /// What a web request calls with the token its client holds (``None``
    /// at first): returns ``(session, outcome)``, where ``outcome`` is
    /// ``Outcome.EXISTING`` (the live session, touched), ``REVIVED`` (the
    /// same session brought back) or ``STARTED`` (a new one, linked to the
    /// old one when there was one). A bad token is never an error: it
    /// starts a session and is counted in ``stats().rejected`` (a ``str``
    /// that is not valid Unicode too). The counter hints are what the
    /// client counted, used when the session is revived (cut down to
    /// ``max_counter_hint``).
    #[pyo3(signature = (token = None, *, user_id = None, attrs = None, view_sequence = None, event_sequence = None))]
    fn resume<'py>(
        &self,
        py: Python<'py>,
        token: Option<&Bound<'py, PyAny>>,
        user_id: Option<&Bound<'py, PyAny>>,
        attrs: Option<&Bound<'py, PyAny>>,
        view_sequence: Option<&Bound<'py, PyAny>>,
        event_sequence: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(PySession, Bound<'py, PyAny>)> {
        let token = token.map(convert::token).transpose()?;
        let hints = hints(user_id, attrs, view_sequence, event_sequence)?;
        let (found, outcome) =
            self.call(py, |core| core.records().resume(token.as_deref(), hints))?;
        let session = match self.signer.given_back(outcome, token.as_deref()) {
            Some(token) => PySession::signed(found, token),
            None => self.session(found),
        };
        Ok((session, session::outcome(py, outcome)?))
    }

    /// Ends a live session (reason ``ended``) and returns its end; ``None``
    /// if it is not live.
    fn end(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Option<PySessionEnd>> {
        let id = convert::session_id(id)?;
        Ok(self.call(py, |core| core.end(id))?.map(PySessionEnd))
    }

    /// The live sessions, all or one user's (from the user index).
    #[pyo3(signature = (user_id = None))]
    fn sessions(
        &self,
        py: Python<'_>,
        user_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<PySession>> {
        let user_id = convert::opt_text("user_id", user_id)?;
        let sessions = self.detached(py, |core| core.records().sessions(user_id.as_deref()))?;
        Ok(sessions.into_iter().map(|r| self.session(r)).collect())
    }

    /// How many sessions are live, all or one user's.
    #[pyo3(signature = (user_id = None))]
    fn count(&self, py: Python<'_>, user_id: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let user_id = convert::opt_text("user_id", user_id)?;
        self.detached(py, |core| core.count(user_id.as_deref()))
    }

    /// Logs a user out everywhere: ends their live sessions (each end
    /// delivered with its ``user_id``) and makes every session of theirs
    /// the tracker remembers neither revivable nor a source of the user (a
    /// returning token starts a new, anonymous session linked to the old
    /// one). Returns how many live sessions ended.
    fn end_user(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<usize> {
        let user_id = convert::text("user_id", user_id)?;
        self.detached(py, |core| core.end_user(&user_id))
    }

    /// Erases a user: as ``end_user``, and deletes what the tracker
    /// remembers of their sessions (a returning token starts a new session,
    /// unlinked). The ends of their live sessions are still delivered, with
    /// the ``user_id``, to close them downstream. Returns how many sessions
    /// were erased, live and remembered.
    fn forget_user(&self, py: Python<'_>, user_id: &Bound<'_, PyAny>) -> PyResult<usize> {
        let user_id = convert::text("user_id", user_id)?;
        self.detached(py, |core| core.forget_user(&user_id))
    }

    /// Ends every live session (for example at shutdown); returns how many
    /// ended.
    fn end_all(&self, py: Python<'_>) -> PyResult<usize> {
        self.detached(py, |core| core.end_all())
    }

    /// Moves the live sessions of user ``old`` to user ``new`` (an
    /// anonymous visitor who logs in); returns how many moved.
    fn reassign_user(
        &self,
        py: Python<'_>,
        old: &Bound<'_, PyAny>,
        new: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let old = convert::text("old", old)?;
        let new = convert::text("new", new)?;
        self.detached(py, |core| core.reassign_user(&old, &new))
    }

    /// How many sessions are live (``len(tracker)``).
    #[getter]
    fn size(&self, py: Python<'_>) -> PyResult<usize> {
        self.__len__(py)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.detached(py, |core| core.len())
    }

    /// Counters since the tracker was made, and the live and dormant counts.
    fn stats(&self, py: Python<'_>) -> PyResult<PyStats> {
        self.detached(py, |core| core.stats()).map(PyStats)
    }

    /// Processes every due expiry now and delivers pending ends (on this
    /// thread); returns how many sessions departed. The driver does this
    /// every ``sweep_interval``.
    fn sweep(&self, py: Python<'_>) -> PyResult<usize> {
        self.detached(py, |core| core.sweep())
    }

    /// The token a client keeps for the session ``id``.
    fn token(&self, id: &Bound<'_, PyAny>) -> PyResult<String> {
        let id = convert::session_id(id)?;
        let core = self.core();
        Ok(core.token(id))
    }

    /// Stops the background driver, makes a last sweep, saves the tracker's
    /// ``snapshot`` if it has one (a failure warns ``SNAPSHOT_ERROR``), and
    /// delivers the pending ends to ``on_end`` (on this thread, once the
    /// delivery in progress is done), waiting at most ``close_timeout``;
    /// the ends still pending then are dropped. Returns how many were
    /// dropped (0 when all were delivered). The tracker still answers
    /// calls; ends are then delivered by ``sweep()``. Calling it again
    /// delivers what is pending (and saves the snapshot again).
    fn close(&self, py: Python<'_>) -> PyResult<usize> {
        let slot: &Slot = &self.slot;
        let dropped = py.detach(|| match slot.current() {
            Ok(core) => core.close(),
            // A child after fork that could not reach its Redis yet has
            // no tracker of its own: nothing pending.
            Err(_) => {
                slot.close_stale();
                0
            }
        });
        // Ends dropped past `close_timeout` say so, as a last sweep that
        // failed does.
        warnings::give(py)?;
        Ok(dropped)
    }

    /// Whether ``close()`` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.slot.is_closed()
    }

    /// Whether the sessions are in a store outside this process (Redis),
    /// whose calls wait on the network: every call that reaches it lets
    /// other Python threads run meanwhile (``AsyncTracker`` runs them in
    /// its threads). ``False`` for the memory store.
    #[getter]
    fn store_is_remote(&self) -> bool {
        self.remote
    }

    /// Returns the tracker itself.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the tracker; never swallows the exception.
    #[pyo3(signature = (exc_type, exc, traceback))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        exc: &Bound<'_, PyAny>,
        traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let _ = (exc_type, exc, traceback);
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        // A repr never raises: a store that cannot answer shows as `?`, and
        // a warning (a sweep that failed) waits for the next call.
        let slot: &Slot = &self.slot;
        let live = py
            .detach(|| slot.current().and_then(|core| core.len()))
            .map_or_else(|_| "?".to_owned(), |n| n.to_string());
        format!(
            "<sojourn.Tracker live={live}{}>",
            if self.closed() { " closed" } else { "" }
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        match &self.callback {
            Some(callback) => callback.traverse(&visit),
            None => Ok(()),
        }
    }

    fn __clear__(&self) {
        if let Some(callback) = &self.callback {
            callback.clear();
        }
    }
}
