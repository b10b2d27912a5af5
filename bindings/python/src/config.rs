//! The tracker's options, from Python keywords to the core's builder, and
//! their defaults, read from the core (`DEFAULTS`, `LIMITS`, and the
//! `Tracker` docstring). A keyword left at `None` keeps the core default.
//! The snapshot key never shows in any of them, nor in an error.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyString};
use sojourn::config::{
    MAX_CLOCK_MS, MAX_CLOCK_SKEW, MAX_COUNTER, MAX_DURATION, MAX_KEY_PREFIX_BYTES,
    MAX_USER_ID_BYTES, MIN_SWEEP_INTERVAL,
};
use sojourn::{Config, MIN_SECRET_BYTES, TrackerBuilder};

use crate::clock::PyMockClock;
use crate::convert;
use crate::errors::invalid;
use crate::store::PyFaultSwitch;

/// The keywords of `Tracker(...)`, as Python gave them.
pub struct Options<'a, 'py> {
    pub idle_timeout: Option<&'a Bound<'py, PyAny>>,
    pub max_lifetime: Option<&'a Bound<'py, PyAny>>,
    pub revive_window: Option<&'a Bound<'py, PyAny>>,
    pub retention: Option<&'a Bound<'py, PyAny>>,
    pub max_sessions: Option<&'a Bound<'py, PyAny>>,
    pub max_dormant: Option<&'a Bound<'py, PyAny>>,
    pub secret: Option<&'a Bound<'py, PyAny>>,
    pub secrets: Option<&'a Bound<'py, PyAny>>,
    pub unsigned_tokens: Option<&'a Bound<'py, PyAny>>,
    pub max_counter_hint: Option<&'a Bound<'py, PyAny>>,
    pub sweep_interval: Option<&'a Bound<'py, PyAny>>,
    pub max_pending_ends: Option<&'a Bound<'py, PyAny>>,
    pub close_timeout: Option<&'a Bound<'py, PyAny>>,
    pub max_attrs_bytes: Option<&'a Bound<'py, PyAny>>,
    pub clock: Option<&'a Bound<'py, PyMockClock>>,
    pub fault_switch: Option<&'a Bound<'py, PyFaultSwitch>>,
    pub redis_url: Option<&'a Bound<'py, PyAny>>,
    pub redis_cluster: Option<&'a Bound<'py, PyAny>>,
    pub key_prefix: Option<&'a Bound<'py, PyAny>>,
    pub store_timeout: Option<&'a Bound<'py, PyAny>>,
    pub load: Option<&'a Bound<'py, PyAny>>,
    pub snapshot: Option<&'a Bound<'py, PyAny>>,
    pub snapshot_interval: Option<&'a Bound<'py, PyAny>>,
    pub snapshot_key: Option<&'a Bound<'py, PyAny>>,
}

impl Options<'_, '_> {
    /// The core's builder with every option given; `on_end` is added by the
    /// caller.
    pub fn builder(&self) -> PyResult<TrackerBuilder> {
        let mut b = TrackerBuilder::default();
        let seconds = |name, value: Option<&Bound<'_, PyAny>>| {
            value.map(|v| convert::duration(name, v)).transpose()
        };
        let size = |name, value: Option<&Bound<'_, PyAny>>| {
            value.map(|v| convert::size(name, v)).transpose()
        };
        if let Some(d) = seconds("idle_timeout", self.idle_timeout)? {
            b = b.idle_timeout(d);
        }
        if let Some(d) = seconds("max_lifetime", self.max_lifetime)? {
            b = b.max_lifetime(d);
        }
        if let Some(d) = seconds("revive_window", self.revive_window)? {
            b = b.revive_window(d);
        }
        if let Some(d) = seconds("retention", self.retention)? {
            b = b.retention(d);
        }
        if let Some(d) = seconds("sweep_interval", self.sweep_interval)? {
            b = b.sweep_interval(d);
        }
        if let Some(d) = seconds("close_timeout", self.close_timeout)? {
            b = b.close_timeout(d);
        }
        if let Some(n) = size("max_pending_ends", self.max_pending_ends)? {
            b = b.max_pending_ends(n);
        }
        if let Some(n) = self.max_counter_hint {
            b = b.max_counter_hint(convert::count("max_counter_hint", n)?);
        }
        if let Some(yes) = self.unsigned_tokens {
            let yes = yes
                .cast::<PyBool>()
                .map_err(|_| PyTypeError::new_err("unsigned_tokens must be a bool"))?;
            b = b.unsigned_tokens(yes.is_true());
        }
        if let Some(n) = size("max_sessions", self.max_sessions)? {
            b = b.max_sessions(n);
        }
        if let Some(n) = size("max_dormant", self.max_dormant)? {
            b = b.max_dormant(n);
        }
        if let Some(n) = size("max_attrs_bytes", self.max_attrs_bytes)? {
            b = b.max_attrs_bytes(n);
        }
        // Both given is refused by the core's `build`, as in every language.
        if let Some(secret) = self.secret {
            b = b.secret(convert::secret("secret", secret)?);
        }
        if let Some(secrets) = self.secrets {
            b = b.secrets(secret_list(secrets)?);
        }
        if let Some(clock) = self.clock {
            b = b.clock(clock.get().0.clone());
        }
        if let Some(switch) = self.fault_switch {
            b = switch.get().store(b);
        }
        b = self.redis(b)?;
        b = self.snapshots(b)?;
        Ok(b)
    }

    /// Whether building the tracker may wait: on Redis it connects; with a
    /// snapshot it reads a file (a million sessions take about a second).
    pub fn build_may_wait(&self) -> bool {
        self.redis_url.is_some()
            || self.redis_cluster.is_some()
            || self.load.is_some()
            || self.snapshot.is_some()
    }

    /// The snapshot options: every rule (a file that is missing, bad, or
    /// keyed otherwise; an interval out of range) is the core's, at `build`.
    fn snapshots(&self, mut b: TrackerBuilder) -> PyResult<TrackerBuilder> {
        if let Some(path) = self.load {
            b = b.load(convert::path("load", path)?);
        }
        if let Some(path) = self.snapshot {
            b = b.snapshot(convert::path("snapshot", path)?);
        }
        if let Some(d) = self.snapshot_interval {
            b = b.snapshot_interval(convert::duration("snapshot_interval", d)?);
        }
        if let Some(key) = self.snapshot_key {
            b = b.snapshot_key(convert::snapshot_key(key)?);
        }
        Ok(b)
    }

    /// The Redis options. A Redis store and a fault switch together, an
    /// empty list of nodes, a bad prefix or timeout: refused by the core's
    /// `build`, as in every language.
    fn redis(&self, mut b: TrackerBuilder) -> PyResult<TrackerBuilder> {
        let url = self
            .redis_url
            .map(|v| convert::text("redis_url", v))
            .transpose()?;
        let nodes = self
            .redis_cluster
            .map(|v| convert::texts("redis_cluster", v))
            .transpose()?;
        if let (Some(given), Some(_), Some(_)) = (self.redis_url, &url, &nodes) {
            // The core's builder keeps one target (the last given): both
            // given is a mistake it cannot see.
            return Err(invalid(
                given.py(),
                "redis_cluster",
                "give redis_url or redis_cluster, not both",
            ));
        }
        if let Some(url) = url {
            b = b.redis(url);
        }
        if let Some(nodes) = nodes {
            b = b.redis_cluster(nodes);
        }
        if let Some(prefix) = self.key_prefix {
            b = b.key_prefix(convert::text("key_prefix", prefix)?);
        }
        if let Some(d) = self.store_timeout {
            b = b.store_timeout(convert::duration("store_timeout", d)?);
        }
        Ok(b)
    }
}

fn secret_list(secrets: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    if secrets.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "secrets must be a list of str or bytes, not a single str (use secret=)",
        ));
    }
    secrets
        .try_iter()
        .map_err(|_| PyTypeError::new_err("secrets must be a list of str or bytes"))?
        .map(|item| convert::secret("secrets", &item?))
        .collect()
}

/// Every option of `Tracker(...)` with its default, from `Config::default()`.
pub fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let c = Config::default();
    let d = PyDict::new(py);
    d.set_item("idle_timeout", c.idle_timeout)?;
    d.set_item("max_lifetime", c.max_lifetime)?;
    d.set_item("revive_window", c.revive_window)?;
    d.set_item("retention", c.retention)?;
    d.set_item("max_sessions", c.max_sessions)?;
    d.set_item("max_dormant", c.max_dormant)?;
    d.set_item("secret", py.None())?;
    d.set_item("secrets", py.None())?;
    d.set_item("unsigned_tokens", c.unsigned_tokens)?;
    d.set_item("max_counter_hint", c.max_counter_hint)?;
    d.set_item("sweep_interval", c.sweep_interval)?;
    d.set_item("on_end", py.None())?;
    d.set_item("max_pending_ends", c.max_pending_ends)?;
    d.set_item("close_timeout", c.close_timeout)?;
    d.set_item("max_attrs_bytes", c.max_attrs_bytes)?;
    d.set_item("clock", py.None())?;
    d.set_item("fault_switch", py.None())?;
    d.set_item("redis_url", py.None())?;
    d.set_item("redis_cluster", py.None())?;
    d.set_item("key_prefix", &c.key_prefix)?;
    d.set_item("store_timeout", c.store_timeout)?;
    d.set_item("load", py.None())?;
    d.set_item("snapshot", py.None())?;
    d.set_item("snapshot_interval", c.snapshot_interval)?;
    d.set_item("snapshot_key", py.None())?;
    Ok(d)
}

/// The core's fixed bounds.
pub fn limits(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("max_user_id_bytes", MAX_USER_ID_BYTES)?;
    d.set_item("min_secret_bytes", MIN_SECRET_BYTES)?;
    d.set_item("max_clock_skew", MAX_CLOCK_SKEW)?;
    d.set_item("max_counter", MAX_COUNTER)?;
    d.set_item("max_duration", MAX_DURATION)?;
    d.set_item("min_sweep_interval", MIN_SWEEP_INTERVAL)?;
    d.set_item("max_clock", crate::convert::datetime(py, MAX_CLOCK_MS)?)?;
    d.set_item("max_key_prefix_bytes", MAX_KEY_PREFIX_BYTES)?;
    Ok(d)
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs();
    match (s % 3600, s % 60) {
        _ if s == 0 || d.subsec_nanos() != 0 => format!("{} s", d.as_secs_f64()),
        (0, _) => format!("{s} s ({} h)", s / 3600),
        (_, 0) => format!("{s} s ({} min)", s / 60),
        _ => format!("{s} s"),
    }
}

/// The defaults, as the end of the `Tracker` docstring.
pub fn defaults_doc() -> String {
    let c = Config::default();
    format!(
        "\n\nDefaults, read from the core (``sojourn.DEFAULTS``):\n\n\
         - idle_timeout: {}\n\
         - max_lifetime: {}\n\
         - revive_window: equal to idle_timeout\n\
         - retention: {}\n\
         - max_sessions: {}\n\
         - max_dormant: {}\n\
         - secret / secrets: none (a warning, unless unsigned_tokens)\n\
         - unsigned_tokens: False\n\
         - max_counter_hint: {}\n\
         - sweep_interval: {} (0 runs no driver)\n\
         - on_end: none\n\
         - max_pending_ends: {}\n\
         - close_timeout: {}\n\
         - max_attrs_bytes: {}\n\
         - clock: the system clock\n\
         - fault_switch: none (a store that never fails on purpose)\n\
         - redis_url / redis_cluster: none (sessions in this process's memory)\n\
         - key_prefix: {:?}\n\
         - store_timeout: {}\n\
         - load: none\n\
         - snapshot: none (sessions are not kept across a restart)\n\
         - snapshot_interval: {} (0 saves only on close)\n\
         - snapshot_key: none (snapshots are written in plain)",
        seconds(c.idle_timeout),
        seconds(c.max_lifetime),
        seconds(c.retention),
        c.max_sessions,
        c.max_dormant,
        c.max_counter_hint,
        seconds(c.sweep_interval),
        c.max_pending_ends,
        seconds(c.close_timeout),
        c.max_attrs_bytes,
        c.key_prefix,
        seconds(c.store_timeout),
        seconds(c.snapshot_interval),
    )
}
