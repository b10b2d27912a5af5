//! Configuration and its defaults. Every default lives here, once; the
//! bindings read them from here rather than repeating them.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::session::SessionEnd;

/// Default idle timeout: 30 minutes, as GA4, Snowplow, PostHog and Plausible.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default absolute session lifetime: 24 hours, as PostHog.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// Default time a departed session is remembered: 24 hours.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// Default bound on live sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 1_000_000;
/// Default bound on remembered (dormant) sessions.
pub const DEFAULT_MAX_DORMANT: usize = 1_000_000;
/// Default period of the background sweep.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Default bound on a session's encoded attributes: 4 KiB.
pub const DEFAULT_MAX_ATTRS_BYTES: usize = 4 * 1024;
/// The longest `user_id` accepted, in bytes.
pub const MAX_USER_ID_BYTES: usize = 256;
/// The largest value a view or event counter can hold.
pub const MAX_COUNTER: u64 = u32::MAX as u64;
/// How far in the future an unknown UUIDv7 may claim to have been made.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// A callback given every session end.
pub type OnEnd = Arc<dyn Fn(SessionEnd) + Send + Sync + 'static>;

/// Runs a batch of `on_end` calls (the argument) in a context of the
/// caller's: see [`crate::TrackerBuilder::on_end_scope`].
pub type OnEndScope = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync + 'static>;

/// A tracker's configuration. Build one with [`crate::Tracker::builder`].
#[derive(Clone)]
pub struct Config {
    /// A session ends after this long without activity.
    pub idle_timeout: Duration,
    /// A session ends this long after it started, however active.
    pub max_lifetime: Duration,
    /// How long after its last activity a departed session may still be
    /// revived by `resume`; `None` means equal to `idle_timeout`.
    pub revive_window: Option<Duration>,
    /// How long a departed session is remembered, for revival and linkage.
    pub retention: Duration,
    /// The most live sessions; past it the one closest to expiry is evicted.
    pub max_sessions: usize,
    /// The most departed sessions remembered; past it the oldest is forgotten.
    pub max_dormant: usize,
    /// HMAC keys: the first signs tokens, every one verifies them.
    pub secrets: Vec<Vec<u8>>,
    /// How often the background driver sweeps; zero runs no driver.
    pub sweep_interval: Duration,
    /// Called once with every session end.
    pub on_end: Option<OnEnd>,
    /// Runs each batch of `on_end` calls, for a binding that must enter
    /// its runtime once per batch rather than once per end.
    pub on_end_scope: Option<OnEndScope>,
    /// The bound on a session's attributes, as compact JSON bytes.
    pub max_attrs_bytes: usize,
    /// The source of time.
    pub clock: Arc<dyn Clock>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            revive_window: None,
            retention: DEFAULT_RETENTION,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_dormant: DEFAULT_MAX_DORMANT,
            secrets: Vec::new(),
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            on_end: None,
            on_end_scope: None,
            max_attrs_bytes: DEFAULT_MAX_ATTRS_BYTES,
            clock: Arc::new(SystemClock),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("revive_window", &self.revive_window)
            .field("retention", &self.retention)
            .field("max_sessions", &self.max_sessions)
            .field("max_dormant", &self.max_dormant)
            .field("secrets", &format_args!("[{} hidden]", self.secrets.len()))
            .field("sweep_interval", &self.sweep_interval)
            .field("on_end", &self.on_end.is_some())
            .field("on_end_scope", &self.on_end_scope.is_some())
            .field("max_attrs_bytes", &self.max_attrs_bytes)
            .finish_non_exhaustive()
    }
}

/// Durations kept as milliseconds, so the hot path compares integers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub idle_ms: i64,
    pub lifetime_ms: i64,
    pub window_ms: i64,
    pub retention_ms: i64,
    pub max_attrs_bytes: usize,
}

// Far enough for "forever", near enough that sums never overflow.
const FOREVER_MS: i64 = i64::MAX / 4;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).map_or(FOREVER_MS, |ms| ms.min(FOREVER_MS))
}

impl Config {
    pub(crate) fn rules(&self) -> Result<Rules> {
        if self.idle_timeout.as_millis() == 0 {
            return Err(Error::invalid("idle_timeout", "must be at least 1 ms"));
        }
        if self.max_lifetime.as_millis() == 0 {
            return Err(Error::invalid("max_lifetime", "must be at least 1 ms"));
        }
        if self.max_sessions == 0 {
            return Err(Error::invalid("max_sessions", "must be at least 1"));
        }
        if self.max_attrs_bytes < 2 {
            return Err(Error::invalid(
                "max_attrs_bytes",
                "must be at least 2, the size of {}",
            ));
        }
        Ok(Rules {
            idle_ms: millis(self.idle_timeout),
            lifetime_ms: millis(self.max_lifetime),
            window_ms: millis(self.revive_window.unwrap_or(self.idle_timeout)),
            retention_ms: millis(self.retention),
            max_attrs_bytes: self.max_attrs_bytes,
        })
    }
}
