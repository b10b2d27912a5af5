//! What the tracker hands out, as Python objects: sessions, ticks, session
//! ends and stats. Each is an immutable snapshot of the core's value; equal
//! when their fields are; convertible to a `dict` (`to_dict`) and to the
//! JSON that every language of sojourn writes (`to_json`).

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use std::sync::OnceLock;

use pyo3::types::{PyString, PyTuple};
use sojourn::{
    EndReason, EndedStats, Outcome, Session, SessionEnd, SessionId, SessionRecord, Signer, Stats,
    Tick,
};

use crate::convert::{attrs_to_py, package_attr};

/// The member of the Python enum `sojourn.Outcome` for a core outcome.
pub fn outcome(py: Python<'_>, outcome: Outcome) -> PyResult<Bound<'_, PyAny>> {
    static MEMBERS: Members = PyOnceLock::new();
    member(py, &MEMBERS, "Outcome", outcome.as_str())
}

fn reason(py: Python<'_>, reason: EndReason) -> PyResult<Bound<'_, PyAny>> {
    static MEMBERS: Members = PyOnceLock::new();
    member(py, &MEMBERS, "EndReason", reason.as_str())
}

/// The members of an enum of the package, with their values.
pub type Members = PyOnceLock<Vec<(String, Py<PyAny>)>>;

/// The member of the enum `class` whose value is `value`, from `members`,
/// listed once: calling the enum runs Python code, which no call should
/// run under a Rust frame (see `errors.rs`).
pub fn member<'py>(
    py: Python<'py>,
    members: &Members,
    class: &str,
    value: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let members = members.get_or_try_init(py, || {
        package_attr(py, class)?
            .try_iter()?
            .map(|m| {
                let m = m?;
                Ok((m.getattr("value")?.extract()?, m.unbind()))
            })
            .collect::<PyResult<_>>()
    })?;
    match members.iter().find(|(v, _)| v == value) {
        Some((_, m)) => Ok(m.bind(py).clone()),
        None => package_attr(py, class)?.call1((value,)),
    }
}

fn json_error(err: serde_json::Error) -> PyErr {
    PyValueError::new_err(err.to_string())
}

/// The `dict` of a value that holds only counts: its JSON, parsed.
fn counts_dict<'py>(py: Python<'py>, json: &str) -> PyResult<Bound<'py, PyDict>> {
    Ok(py
        .import("json")?
        .call_method1("loads", (json,))?
        .cast_into()?)
}

fn id_hash(id: SessionId) -> u64 {
    let bits = id.as_u128();
    (bits as u64) ^ ((bits >> 64) as u64)
}

/// Timestamps in `repr`s: ISO 8601 with milliseconds and `Z`.
const ISO: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

pub(crate) fn repr_of<'py>(value: impl IntoPyObject<'py>, py: Python<'py>) -> PyResult<String> {
    Ok(value.into_bound_py_any(py)?.repr()?.to_cow()?.into_owned())
}

/// A snapshot of a live session. Immutable: the tracker's later changes
/// are seen by asking it again. Equal to another snapshot with the same
/// fields; hashed by id; `to_dict()` and `to_json()` convert it; pickled
/// and copied as its fields.
///
/// It holds the session as the store held it: each field's Python value
/// is made when it is read, and the token is signed when it is first read
/// (then kept), so that a call returning a session costs what is read of
/// it.
#[pyclass(name = "Session", module = "sojourn", frozen)]
pub struct PySession {
    record: SessionRecord,
    signer: Signer,
    token: OnceLock<String>,
}

impl PySession {
    /// A session as the store held it; `signer` signs its token if read.
    pub fn new(record: SessionRecord, signer: Signer) -> Self {
        PySession {
            record,
            signer,
            token: OnceLock::new(),
        }
    }

    /// A session as the store held it, with its token.
    pub fn signed(record: SessionRecord, token: String) -> Self {
        PySession {
            record,
            signer: Signer::unsigned(),
            token: OnceLock::from(token),
        }
    }

    /// A session the core made whole (its token signed).
    pub fn of(session: &Session) -> Self {
        PySession {
            record: SessionRecord::of(session),
            signer: Signer::unsigned(),
            token: OnceLock::from(session.token.clone()),
        }
    }

    fn token_text(&self) -> &str {
        self.token.get_or_init(|| self.signer.token(self.record.id))
    }

    /// The whole core session, for `to_json` and the like.
    fn session(&self) -> Session {
        self.record.session(self.token_text().to_owned())
    }

    fn attrs_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match self.record.record.attrs() {
            Some(attrs) => attrs_to_py(py, attrs),
            None => Ok(PyDict::new(py)),
        }
    }

    fn fill<'py>(&self, py: Python<'py>, dict: &Bound<'py, PyDict>) -> PyResult<()> {
        dict.set_item("id", self.id(py))?;
        dict.set_item("token", self.token_text())?;
        dict.set_item("user_id", self.user_id())?;
        dict.set_item("view_sequence", self.view_sequence())?;
        dict.set_item("event_sequence", self.event_sequence())?;
        dict.set_item("sequence", self.sequence())?;
        dict.set_item("session_index", self.session_index())?;
        dict.set_item("previous_id", self.previous_id())?;
        dict.set_item("started_at", self.started_at(py)?)?;
        dict.set_item("last_seen", self.last_seen(py)?)?;
        dict.set_item("expires_at", self.expires_at(py)?)?;
        dict.set_item("revivals", self.revivals())?;
        dict.set_item("attrs", self.attrs_dict(py)?)?;
        Ok(())
    }

    fn fields(&self, py: Python<'_>) -> PyResult<String> {
        let r = &self.record.record;
        let iso = |ms: i64| timestamp(ms).format(ISO).to_string();
        Ok(format!(
            "id='{}', user_id={}, view_sequence={}, event_sequence={}, sequence={}, \
             session_index={}, previous_id={}, started_at={}, last_seen={}, expires_at={}, \
             revivals={}, attrs={}",
            self.record.id,
            repr_of(self.user_id(), py)?,
            r.views,
            r.events,
            self.record.sequence(),
            r.session_index,
            repr_of(self.previous_id(), py)?,
            iso(r.started_at),
            iso(r.last_seen),
            iso(self.record.expires_at),
            r.revivals,
            repr_of(self.attrs_dict(py)?, py)?,
        ))
    }
}

impl PartialEq for PySession {
    fn eq(&self, other: &Self) -> bool {
        self.record == other.record && self.token_text() == other.token_text()
    }
}

/// The text of an id as a `str`, made from its 36 ASCII bytes.
fn id_text(py: Python<'_>, id: SessionId) -> Bound<'_, PyString> {
    let text = id.encode();
    // The encoding is ASCII hex and hyphens by construction.
    PyString::new(py, std::str::from_utf8(&text).unwrap_or_default())
}

/// The time of a timestamp in Unix milliseconds (the core keeps them in
/// range).
fn timestamp(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A datetime of a timestamp in Unix milliseconds.
fn datetime(py: Python<'_>, ms: i64) -> PyResult<Bound<'_, PyAny>> {
    timestamp(ms).into_bound_py_any(py)
}

#[pymethods]
impl PySession {
    /// The session id: a UUID in canonical lowercase form (UUIDv7 when the
    /// tracker made it).
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        id_text(py, self.record.id)
    }

    /// What the client keeps: the id, or `id.signature` when signing.
    #[getter]
    fn token(&self) -> &str {
        self.token_text()
    }

    /// The user, once identified; `None` before.
    #[getter]
    fn user_id(&self) -> Option<&str> {
        self.record.record.user_id()
    }

    /// Views tracked so far.
    #[getter]
    fn view_sequence(&self) -> u64 {
        self.record.record.views.into()
    }

    /// Events tracked so far.
    #[getter]
    fn event_sequence(&self) -> u64 {
        self.record.record.events.into()
    }

    /// `view_sequence + event_sequence`: the session's global order.
    #[getter]
    fn sequence(&self) -> u64 {
        self.record.sequence()
    }

    /// 1 for a client's first session, previous + 1 after that.
    #[getter]
    fn session_index(&self) -> u32 {
        self.record.record.session_index
    }

    /// The id of the session this one follows, if any.
    #[getter]
    fn previous_id(&self) -> Option<String> {
        self.record.record.previous_id().map(|id| id.to_string())
    }

    /// When the session started (aware UTC datetime, millisecond precision).
    #[getter]
    fn started_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.record.record.started_at)
    }

    /// The last activity (aware UTC datetime).
    #[getter]
    fn last_seen<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.record.record.last_seen)
    }

    /// When the session ends unless touched: `min(last_seen + idle_timeout,
    /// started_at + max_lifetime)` (aware UTC datetime).
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.record.expires_at)
    }

    /// How many times this id came back to life.
    #[getter]
    fn revivals(&self) -> u32 {
        self.record.record.revivals
    }

    /// Entry page, referrer, campaign and the like: a new `dict` of JSON
    /// scalars at each access (changing it changes nothing).
    #[getter]
    fn attrs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.attrs_dict(py)
    }

    /// Every field in a new `dict` (timestamps as `datetime`s).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        self.fill(py, &dict)?;
        Ok(dict)
    }

    /// The JSON object that every language of sojourn writes for a session
    /// (timestamps as ISO 8601 strings with milliseconds and `Z`).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.session()).map_err(json_error)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PySession>()
            .is_ok_and(|other| self == other.get())
    }

    fn __hash__(&self) -> u64 {
        id_hash(self.record.id)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Session({})", self.fields(py)?))
    }

    /// Pickling and `copy`: the session rebuilt from its fields (its token
    /// as it was signed), by `sojourn._native._session`.
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let r = &self.record.record;
        let state = (
            self.id(py),
            self.token_text(),
            self.user_id(),
            (r.views, r.events, r.session_index, r.revivals),
            self.previous_id(),
            (r.started_at, r.last_seen, self.record.expires_at),
            self.attrs_dict(py)?,
        );
        let restore = py.import("sojourn._native")?.getattr("_session")?;
        Ok((restore, (state,).into_pyobject(py)?))
    }
}

/// The state `__reduce__` gives a session.
type State<'py> = (
    Bound<'py, PyAny>,
    String,
    Option<String>,
    (u32, u32, u32, u32),
    Option<Bound<'py, PyAny>>,
    (i64, i64, i64),
    Bound<'py, PyAny>,
);

/// A pickled session back (`Session.__reduce__`): every part checked, as
/// a pickle is bytes from anywhere.
#[pyfunction]
#[pyo3(name = "_session")]
pub fn restore(state: State<'_>) -> PyResult<PySession> {
    let (id, token, user_id, counts, previous_id, times, attrs) = state;
    let (views, events, session_index, revivals) = counts;
    let (started_at, last_seen, expires_at) = times;
    let extra = sojourn::Extra {
        user_id: user_id.map(Into::into),
        previous_id: previous_id
            .map(|id| crate::convert::session_id(&id))
            .transpose()?,
        attrs: crate::convert::attrs(&attrs)?,
    };
    let record = sojourn::Record {
        started_at,
        last_seen,
        views,
        events,
        session_index,
        revivals,
        extra: extra.into_record(),
    };
    let record = SessionRecord {
        id: crate::convert::session_id(&id)?,
        record,
        expires_at,
    };
    Ok(PySession {
        record,
        signer: Signer::unsigned(),
        token: OnceLock::from(token),
    })
}

/// The counters right after one `track`, read in the same step as the
/// increment: two concurrent tracks never see the same tick.
#[pyclass(name = "Tick", module = "sojourn", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash)]
pub struct PyTick(pub Tick);

#[pymethods]
impl PyTick {
    /// Views tracked so far, this one included.
    #[getter]
    fn view_sequence(&self) -> u64 {
        self.0.view_sequence
    }

    /// Events tracked so far, this one included.
    #[getter]
    fn event_sequence(&self) -> u64 {
        self.0.event_sequence
    }

    /// `view_sequence + event_sequence`: the session's global order.
    #[getter]
    fn sequence(&self) -> u64 {
        self.0.sequence
    }

    /// The three counters in a new `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        counts_dict(py, &self.to_json()?)
    }

    /// The tick as JSON, as every language of sojourn writes it.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.0).map_err(json_error)
    }

    pub(crate) fn __repr__(&self) -> String {
        let t = &self.0;
        format!(
            "Tick(view_sequence={}, event_sequence={}, sequence={})",
            t.view_sequence, t.event_sequence, t.sequence
        )
    }
}

/// The summary delivered once when a session leaves the live store: the
/// session as it was, why and when it left, and whether it may come back.
#[pyclass(name = "SessionEnd", module = "sojourn", frozen, eq)]
#[derive(PartialEq)]
pub struct PySessionEnd(pub SessionEnd);

#[pymethods]
impl PySessionEnd {
    /// The session as it was when it left.
    #[getter]
    fn session(&self) -> PySession {
        PySession::of(&self.0.session)
    }

    /// Why it left: a `sojourn.EndReason` (`idle`, `lifetime`, `ended`,
    /// `evicted`).
    #[getter]
    fn reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        reason(py, self.0.reason)
    }

    /// When it left: `expires_at` for `idle` and `lifetime`, the time of
    /// the call for `ended` and `evicted` (aware UTC datetime).
    #[getter]
    fn ended_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.0.ended_at.into_bound_py_any(py)
    }

    /// `last_seen - started_at`, as a `timedelta`.
    #[getter]
    fn duration<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.0.duration.into_bound_py_any(py)
    }

    /// Whether `resume` could still bring it back (see the revival rules).
    #[getter]
    fn revivable(&self) -> bool {
        self.0.revivable
    }

    /// Every session field, then `reason`, `ended_at`, `duration` and
    /// `revivable`, in a new `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        PySession::of(&self.0.session).fill(py, &dict)?;
        dict.set_item("reason", reason(py, self.0.reason)?)?;
        dict.set_item("ended_at", self.0.ended_at)?;
        dict.set_item("duration", self.0.duration)?;
        dict.set_item("revivable", self.0.revivable)?;
        Ok(dict)
    }

    /// The JSON object that every language of sojourn writes for a session
    /// end: the session's fields, `reason`, `ended_at`, `duration_ms` and
    /// `revivable`.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.0).map_err(json_error)
    }

    fn __hash__(&self) -> u64 {
        id_hash(self.0.session.id)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let end = &self.0;
        Ok(format!(
            "SessionEnd(reason='{}', ended_at={}, duration={}, revivable={}, session=Session({}))",
            end.reason,
            end.ended_at.format(ISO),
            repr_of(end.duration, py)?,
            if end.revivable { "True" } else { "False" },
            PySession::of(&end.session).fields(py)?,
        ))
    }
}

/// Sessions ended since the tracker was made, by reason.
#[pyclass(name = "EndedStats", module = "sojourn", frozen, eq)]
#[derive(PartialEq)]
pub struct PyEndedStats(pub EndedStats);

#[pymethods]
impl PyEndedStats {
    /// Idled out.
    #[getter]
    fn idle(&self) -> u64 {
        self.0.idle
    }

    /// Reached `max_lifetime`.
    #[getter]
    fn lifetime(&self) -> u64 {
        self.0.lifetime
    }

    /// Ended by the application.
    #[getter]
    fn ended(&self) -> u64 {
        self.0.ended
    }

    /// Evicted by the capacity bound.
    #[getter]
    fn evicted(&self) -> u64 {
        self.0.evicted
    }

    /// The four counts in a new `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        counts_dict(py, &serde_json::to_string(&self.0).map_err(json_error)?)
    }

    fn __repr__(&self) -> String {
        let e = &self.0;
        format!(
            "EndedStats(idle={}, lifetime={}, ended={}, evicted={})",
            e.idle, e.lifetime, e.ended, e.evicted
        )
    }
}

/// Counters of a tracker since it was made, and the live and dormant
/// counts now.
#[pyclass(name = "Stats", module = "sojourn", frozen, eq)]
#[derive(PartialEq)]
pub struct PyStats(pub Stats);

#[pymethods]
impl PyStats {
    /// Live sessions now.
    #[getter]
    fn live(&self) -> u64 {
        self.0.live
    }

    /// Departed sessions remembered now.
    #[getter]
    fn dormant(&self) -> u64 {
        self.0.dormant
    }

    /// New sessions, however started.
    #[getter]
    fn started(&self) -> u64 {
        self.0.started
    }

    /// Sessions brought back with their id.
    #[getter]
    fn revived(&self) -> u64 {
        self.0.revived
    }

    /// `resume` calls that found their session live.
    #[getter]
    fn resumed(&self) -> u64 {
        self.0.resumed
    }

    /// Tokens refused by `resume` (garbage, forged, badly signed).
    #[getter]
    fn rejected(&self) -> u64 {
        self.0.rejected
    }

    /// Revivals whose client counter hints were over `max_counter_hint`,
    /// and were cut down to it.
    #[getter]
    fn hints_clamped(&self) -> u64 {
        self.0.hints_clamped
    }

    /// Revivals by `resume` whose given attributes were left out, as
    /// merging them would have passed `max_attrs_bytes`.
    #[getter]
    fn attrs_dropped(&self) -> u64 {
        self.0.attrs_dropped
    }

    /// Session ends dropped: more than `max_pending_ends` were waiting, or
    /// `close` ran out of time.
    #[getter]
    fn ends_dropped(&self) -> u64 {
        self.0.ends_dropped
    }

    /// Session ends waiting for delivery now.
    #[getter]
    fn ends_pending(&self) -> u64 {
        self.0.ends_pending
    }

    /// Sessions ended, by reason.
    #[getter]
    fn ended(&self) -> PyEndedStats {
        PyEndedStats(self.0.ended)
    }

    /// Views tracked.
    #[getter]
    fn views(&self) -> u64 {
        self.0.views
    }

    /// Events tracked.
    #[getter]
    fn events(&self) -> u64 {
        self.0.events
    }

    /// Sessions, live and remembered, loaded from a snapshot when the
    /// tracker was made (those that ended on load included).
    #[getter]
    fn loaded(&self) -> u64 {
        self.0.loaded
    }

    /// Every count in a new `dict` (`ended` as a nested `dict`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        counts_dict(py, &self.to_json()?)
    }

    /// The stats as JSON, as every language of sojourn writes them.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.0).map_err(json_error)
    }

    fn __repr__(&self) -> String {
        let s = &self.0;
        format!(
            "Stats(live={}, dormant={}, started={}, revived={}, resumed={}, rejected={}, \
             hints_clamped={}, attrs_dropped={}, ends_dropped={}, ends_pending={}, \
             ended={}, views={}, events={}, loaded={})",
            s.live,
            s.dormant,
            s.started,
            s.revived,
            s.resumed,
            s.rejected,
            s.hints_clamped,
            s.attrs_dropped,
            s.ends_dropped,
            s.ends_pending,
            PyEndedStats(s.ended).__repr__(),
            s.views,
            s.events,
            s.loaded
        )
    }
}
