//! Configuration and its defaults. Every default and every bound lives
//! here, once; the bindings read them from here rather than repeating them.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::rules::Rules;
use crate::session::SessionEnd;
use crate::snapshot::SnapshotKey;
use crate::store::{Backend, MemoryStore, RedisStore, Store, redacted};
use crate::warning::Warning;

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
/// The shortest sweep period but zero (no driver): a shorter one would keep
/// a core busy waking up.
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(1);
/// Default bound on a session's encoded attributes: 4 KiB.
pub const DEFAULT_MAX_ATTRS_BYTES: usize = 4 * 1024;
/// The largest `max_attrs_bytes` accepted: attributes are for a visit's
/// entry page and campaign, and a snapshot frame must hold a session's.
pub const MAX_ATTRS_BYTES: usize = 1 << 20;
/// Default bound on the counters a client reports for a revival: more views
/// or events than a person makes in 24 hours (over one a second, non-stop).
pub const DEFAULT_MAX_COUNTER_HINT: u64 = 100_000;
/// Default bound on session ends waiting for `on_end`: about 40 MB of ends
/// at most; past it the oldest is dropped (see `docs/semantics.md`).
pub const DEFAULT_MAX_PENDING_ENDS: usize = 100_000;
/// Default time `close()` (and process exit) waits for pending ends.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `user_id` accepted, in bytes.
pub const MAX_USER_ID_BYTES: usize = 256;
/// The largest value a view or event counter can hold.
pub const MAX_COUNTER: u64 = u32::MAX as u64;
/// How far in the future an unknown UUIDv7 may claim to have been made.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// The longest duration an option takes: 100 years, "forever" for sessions.
pub const MAX_DURATION: Duration = Duration::from_secs(36_525 * 24 * 60 * 60);
/// The latest time a tracker hands out: 9999-12-31T23:59:59.999Z, the last
/// instant that every language's date type holds (Python's `datetime`).
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;
/// The latest time a clock may read: any deadline up to [`MAX_DURATION`]
/// later is still at most [`MAX_TIME_MS`].
pub const MAX_CLOCK_MS: i64 = MAX_TIME_MS - MAX_DURATION.as_millis() as i64;

/// Default prefix of the keys a Redis store writes.
pub const DEFAULT_KEY_PREFIX: &str = "sojourn";
/// Default time a call waits for Redis (to connect, and for each answer)
/// before it fails with `STORE_ERROR`: well under a web request's budget,
/// well over a loopback or same-zone round trip.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(250);
/// The longest key prefix accepted, in bytes.
pub const MAX_KEY_PREFIX_BYTES: usize = 64;

/// Default period of the saves of a tracker's `snapshot`.
pub const DEFAULT_SNAPSHOT_INTERVAL: Duration = Duration::from_secs(60);

/// A callback given every session end.
pub type OnEnd = Arc<dyn Fn(SessionEnd) + Send + Sync + 'static>;

/// Runs a batch of `on_end` calls (the argument) in a context of the
/// caller's: see [`crate::TrackerBuilder::on_end_scope`].
pub type OnEndScope = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync + 'static>;

/// Told that session ends are waiting to be taken with
/// [`crate::Tracker::take_ends`]: see [`crate::TrackerBuilder::on_ends_ready`].
pub type OnEndsReady = Arc<dyn Fn() + Send + Sync + 'static>;

/// Given each warning about the configuration or the tracker's state.
pub type OnWarning = Arc<dyn Fn(&Warning) + Send + Sync + 'static>;

/// Makes the store of a tracker from its configuration (bounds included);
/// called again for a child's tracker after `fork()`, so that the child
/// never shares the parent's store handle (its connections, its locks).
pub type StoreFactory = Arc<dyn Fn(&Config) -> Result<Arc<dyn Store>> + Send + Sync + 'static>;

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
    /// HMAC keys: the first signs tokens, every one verifies them. `None`
    /// signs nothing (and then `unsigned_tokens` must say so); an empty
    /// list is refused.
    pub secrets: Option<Vec<Vec<u8>>>,
    /// Tokens are the bare session id, on purpose: anyone who learns an id
    /// can resume that session. Without it, a tracker without secrets warns.
    pub unsigned_tokens: bool,
    /// The most a client's counter hint may raise a revived session's
    /// counter to; a larger hint is cut down to it.
    pub max_counter_hint: u64,
    /// How often the background driver sweeps; zero runs no driver.
    pub sweep_interval: Duration,
    /// Called once with every session end.
    pub on_end: Option<OnEnd>,
    /// Runs each batch of `on_end` calls, for a binding that must enter
    /// its runtime once per batch rather than once per end.
    pub on_end_scope: Option<OnEndScope>,
    /// Instead of `on_end`: told when ends wait to be taken.
    pub on_ends_ready: Option<OnEndsReady>,
    /// The most session ends waiting for delivery; past it the oldest is
    /// dropped and counted in `Stats::ends_dropped`.
    pub max_pending_ends: usize,
    /// How long `close()` waits for the pending ends to be delivered
    /// before it drops the rest.
    pub close_timeout: Duration,
    /// Given each warning; `None` writes them to standard error.
    pub on_warning: Option<OnWarning>,
    /// The bound on a session's attributes, as compact JSON bytes.
    pub max_attrs_bytes: usize,
    /// The source of time.
    pub clock: Arc<dyn Clock>,
    /// Where sessions live, given as a factory; `None` is the embedded
    /// [`MemoryStore`] (or the Redis of `redis`).
    pub store: Option<StoreFactory>,
    /// Sessions in Redis (one server, or a Cluster) instead of in memory.
    pub redis: Option<RedisTarget>,
    /// The prefix of every key the Redis store writes: trackers that share
    /// a prefix share their sessions.
    pub key_prefix: String,
    /// How long a call waits for Redis before it fails with `STORE_ERROR`.
    pub store_timeout: Duration,
    /// A snapshot to load when the tracker is made.
    pub load: Option<PathBuf>,
    /// The tracker's own snapshot: loaded when it is made (if the file
    /// exists), saved every `snapshot_interval` and on `close`.
    pub snapshot: Option<PathBuf>,
    /// How often the driver saves `snapshot`; zero saves only on `close`.
    pub snapshot_interval: Duration,
    /// The key that encrypts the snapshots this tracker saves, and opens
    /// those it loads.
    pub snapshot_key: Option<SnapshotKey>,
}

/// Where a Redis store is. Its `Debug` hides the passwords of the URLs.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisTarget {
    /// One Redis at this URL (`redis://127.0.0.1:6379/0`, `rediss://`,
    /// `redis+unix:///path`).
    Single(String),
    /// A Redis Cluster, reached through any of these nodes' URLs.
    Cluster(Vec<String>),
}

impl fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisTarget::Single(url) => f.debug_tuple("Single").field(&redacted(url)).finish(),
            RedisTarget::Cluster(nodes) => {
                let nodes: Vec<String> = nodes.iter().map(|n| redacted(n)).collect();
                f.debug_tuple("Cluster").field(&nodes).finish()
            }
        }
    }
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
            secrets: None,
            unsigned_tokens: false,
            max_counter_hint: DEFAULT_MAX_COUNTER_HINT,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            on_end: None,
            on_end_scope: None,
            on_ends_ready: None,
            max_pending_ends: DEFAULT_MAX_PENDING_ENDS,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            on_warning: None,
            max_attrs_bytes: DEFAULT_MAX_ATTRS_BYTES,
            clock: Arc::new(SystemClock),
            store: None,
            redis: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            store_timeout: DEFAULT_STORE_TIMEOUT,
            load: None,
            snapshot: None,
            snapshot_interval: DEFAULT_SNAPSHOT_INTERVAL,
            snapshot_key: None,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secrets = self.secrets.as_ref().map(Vec::len);
        f.debug_struct("Config")
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("revive_window", &self.revive_window)
            .field("retention", &self.retention)
            .field("max_sessions", &self.max_sessions)
            .field("max_dormant", &self.max_dormant)
            .field("secrets", &format_args!("{secrets:?} hidden"))
            .field("unsigned_tokens", &self.unsigned_tokens)
            .field("max_counter_hint", &self.max_counter_hint)
            .field("sweep_interval", &self.sweep_interval)
            .field("on_end", &self.on_end.is_some())
            .field("on_end_scope", &self.on_end_scope.is_some())
            .field("on_ends_ready", &self.on_ends_ready.is_some())
            .field("max_pending_ends", &self.max_pending_ends)
            .field("close_timeout", &self.close_timeout)
            .field("on_warning", &self.on_warning.is_some())
            .field("max_attrs_bytes", &self.max_attrs_bytes)
            .field("store", &self.store.is_some())
            .field("redis", &self.redis)
            .field("key_prefix", &self.key_prefix)
            .field("store_timeout", &self.store_timeout)
            .field("load", &self.load)
            .field("snapshot", &self.snapshot)
            .field("snapshot_interval", &self.snapshot_interval)
            .field("snapshot_key", &self.snapshot_key)
            .finish_non_exhaustive()
    }
}

/// A duration option in milliseconds, refused past [`MAX_DURATION`].
fn millis(name: &'static str, d: Duration) -> Result<i64> {
    if d > MAX_DURATION {
        return Err(Error::invalid(
            name,
            format!("{d:?} is over the limit of 100 years"),
        ));
    }
    // At most MAX_DURATION: fits.
    Ok(d.as_millis() as i64)
}

/// A duration option that must be at least one millisecond.
fn positive_millis(name: &'static str, d: Duration) -> Result<i64> {
    match millis(name, d)? {
        0 => Err(Error::invalid(name, "must be at least 1 ms")),
        ms => Ok(ms),
    }
}

impl Config {
    /// Checks every option and returns the rules they make.
    pub(crate) fn rules(&self) -> Result<Rules> {
        let idle_ms = positive_millis("idle_timeout", self.idle_timeout)?;
        let lifetime_ms = positive_millis("max_lifetime", self.max_lifetime)?;
        let window_ms = match self.revive_window {
            Some(window) => millis("revive_window", window)?,
            None => idle_ms,
        };
        let retention_ms = millis("retention", self.retention)?;
        millis("close_timeout", self.close_timeout)?;
        millis("snapshot_interval", self.snapshot_interval)?;
        if !self.sweep_interval.is_zero() && self.sweep_interval < MIN_SWEEP_INTERVAL {
            return Err(Error::invalid(
                "sweep_interval",
                format!("{:?} is under 1 ms (0 runs no driver)", self.sweep_interval),
            ));
        }
        millis("sweep_interval", self.sweep_interval)?;
        if self.max_sessions == 0 {
            return Err(Error::invalid("max_sessions", "must be at least 1"));
        }
        if self.max_pending_ends == 0 {
            return Err(Error::invalid("max_pending_ends", "must be at least 1"));
        }
        if !(2..=MAX_ATTRS_BYTES).contains(&self.max_attrs_bytes) {
            return Err(Error::invalid(
                "max_attrs_bytes",
                "must be 2 (the size of {}) to 1 MiB",
            ));
        }
        let max_counter_hint = u32::try_from(self.max_counter_hint).map_err(|_| {
            Error::invalid(
                "max_counter_hint",
                format!(
                    "{} is over the largest counter, {MAX_COUNTER}",
                    self.max_counter_hint
                ),
            )
        })?;
        match &self.secrets {
            Some(secrets) if secrets.is_empty() => {
                return Err(Error::invalid(
                    "secrets",
                    "an empty list signs nothing: give at least one secret, or unsigned_tokens",
                ));
            }
            Some(_) if self.unsigned_tokens => {
                return Err(Error::invalid(
                    "unsigned_tokens",
                    "contradicts the secrets given: tokens are signed with them",
                ));
            }
            _ => {}
        }
        self.check_store()?;
        if self.on_end.is_some() && self.on_ends_ready.is_some() {
            return Err(Error::invalid(
                "on_ends_ready",
                "give on_end or on_ends_ready, not both",
            ));
        }
        Ok(Rules {
            idle_ms,
            lifetime_ms,
            window_ms,
            retention_ms,
            max_attrs_bytes: self.max_attrs_bytes,
            max_counter_hint,
        })
    }

    /// The store options: one store, a prefix that keeps a session's keys
    /// in its own Cluster slot, a timeout that waits at all.
    fn check_store(&self) -> Result<()> {
        positive_millis("store_timeout", self.store_timeout)?;
        if self.store.is_some() && self.redis.is_some() {
            return Err(Error::invalid("redis", "give a store or redis, not both"));
        }
        let prefix = &self.key_prefix;
        if prefix.is_empty() || prefix.len() > MAX_KEY_PREFIX_BYTES {
            return Err(Error::invalid(
                "key_prefix",
                format!("must be 1 to {MAX_KEY_PREFIX_BYTES} bytes"),
            ));
        }
        // A brace would become the Cluster hash tag of every key: all of
        // them in one slot, and a user index sharing a session's.
        if prefix.contains(['{', '}']) || prefix.chars().any(char::is_control) {
            return Err(Error::invalid(
                "key_prefix",
                "must not hold braces or control characters",
            ));
        }
        match &self.redis {
            Some(RedisTarget::Cluster(nodes)) if nodes.is_empty() => Err(Error::invalid(
                "redis_cluster",
                "give at least one node's URL",
            )),
            _ => Ok(()),
        }
    }

    /// The store this configuration asks for.
    pub(crate) fn make_store(&self) -> Result<Backend> {
        let (n, d, prefix, timeout) = (
            self.max_sessions,
            self.max_dormant,
            self.key_prefix.as_str(),
            self.store_timeout,
        );
        Ok(match (&self.store, &self.redis) {
            (Some(factory), _) => Backend::Other(factory(self)?),
            (None, Some(target)) => {
                Backend::Other(Arc::new(RedisStore::open(target, prefix, n, d, timeout)?))
            }
            (None, None) => Backend::Memory(MemoryStore::new(n, d)),
        })
    }

    /// The warnings this configuration deserves, whatever happens later.
    pub(crate) fn warnings(&self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        if self.secrets.is_none() && !self.unsigned_tokens {
            warnings.push(Warning::unsigned_tokens());
        }
        warnings
    }

    /// Reports a warning where the configuration says.
    pub(crate) fn warn(&self, warning: &Warning) {
        match &self.on_warning {
            Some(hook) => hook(warning),
            None => eprintln!("sojourn: warning: {warning}"),
        }
    }
}
