//! The tracker builder: every option of [`Config`], with its default.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::{Config, RedisTarget};
use crate::error::{Error, Result};
use crate::session::SessionEnd;
use crate::store::Store;
use crate::tracker::Tracker;
use crate::warning::Warning;

/// Builds a [`Tracker`]. Every option has a default (see [`crate::config`]).
///
/// ```
/// use std::time::Duration;
/// let tracker = sojourn::Tracker::builder()
///     .idle_timeout(Duration::from_secs(15 * 60))
///     .secret("a secret of at least sixteen bytes")
///     .on_end(|end| println!("{} ended: {}", end.session.id, end.reason))
///     .build()?;
/// # Ok::<(), sojourn::Error>(())
/// ```
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct TrackerBuilder {
    config: Config,
    /// Which of `secret` and `secrets` were called: one or the other.
    gave_secret: bool,
    gave_secrets: bool,
}

impl TrackerBuilder {
    /// A session ends after this long without activity (default 30 min).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.config.idle_timeout = d;
        self
    }

    /// A session ends this long after it started (default 24 h).
    pub fn max_lifetime(mut self, d: Duration) -> Self {
        self.config.max_lifetime = d;
        self
    }

    /// How long after its last activity a departed session may be revived
    /// by `resume` (default: `idle_timeout`).
    pub fn revive_window(mut self, d: Duration) -> Self {
        self.config.revive_window = Some(d);
        self
    }

    /// How long departed sessions are remembered (default 24 h).
    pub fn retention(mut self, d: Duration) -> Self {
        self.config.retention = d;
        self
    }

    /// The most live sessions (default 1,000,000).
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.config.max_sessions = n;
        self
    }

    /// The most departed sessions remembered (default 1,000,000).
    pub fn max_dormant(mut self, n: usize) -> Self {
        self.config.max_dormant = n;
        self
    }

    /// Signs tokens with this secret (at least 16 bytes).
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.gave_secret = true;
        self.config.secrets = Some(vec![secret.as_ref().to_vec()]);
        self
    }

    /// Signs with the first secret, verifies with every one (key rotation).
    /// An empty list is refused by `build`, and so is `secrets` with
    /// `secret`.
    pub fn secrets<S: AsRef<[u8]>>(mut self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.gave_secrets = true;
        self.config.secrets = Some(secrets.into_iter().map(|s| s.as_ref().to_vec()).collect());
        self
    }

    /// Tokens are the bare session id, on purpose (default false): anyone
    /// who learns an id can then resume that session. Without a secret and
    /// without this, the tracker warns.
    pub fn unsigned_tokens(mut self, yes: bool) -> Self {
        self.config.unsigned_tokens = yes;
        self
    }

    /// The most a client's counter hint may raise a revived session's
    /// counter to (default 100,000); a larger hint is cut down to it and
    /// counted in `Stats::hints_clamped`.
    pub fn max_counter_hint(mut self, n: u64) -> Self {
        self.config.max_counter_hint = n;
        self
    }

    /// How often the background driver sweeps (default 1 s); zero runs no
    /// driver, and ends are then delivered by `sweep` and `close`.
    pub fn sweep_interval(mut self, d: Duration) -> Self {
        self.config.sweep_interval = d;
        self
    }

    /// Called once with every session end, from the driver thread.
    pub fn on_end(mut self, f: impl Fn(SessionEnd) + Send + Sync + 'static) -> Self {
        self.config.on_end = Some(Arc::new(f));
        self
    }

    /// Runs each batch of `on_end` calls inside `scope`, which must call
    /// the function it is given exactly once. For bindings: the Python
    /// binding takes the GIL once per batch, not once per end, so that a
    /// busy interpreter hands the driver its lock once per batch.
    pub fn on_end_scope(
        mut self,
        scope: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static,
    ) -> Self {
        self.config.on_end_scope = Some(Arc::new(scope));
        self
    }

    /// For a binding that delivers ends on a thread of its own, instead of
    /// `on_end`: `ready` is told (from any thread) when ends wait, once
    /// until they have all been taken with [`Tracker::take_ends`].
    pub fn on_ends_ready(mut self, ready: impl Fn() + Send + Sync + 'static) -> Self {
        self.config.on_ends_ready = Some(Arc::new(ready));
        self
    }

    /// The most session ends waiting for delivery (default 100,000); past
    /// it the oldest is dropped and counted in `Stats::ends_dropped`.
    pub fn max_pending_ends(mut self, n: usize) -> Self {
        self.config.max_pending_ends = n;
        self
    }

    /// How long `close` (and dropping the last handle) waits for the
    /// pending ends to be delivered (default 5 s).
    pub fn close_timeout(mut self, d: Duration) -> Self {
        self.config.close_timeout = d;
        self
    }

    /// Where warnings go (default: standard error).
    pub fn on_warning(mut self, f: impl Fn(&Warning) + Send + Sync + 'static) -> Self {
        self.config.on_warning = Some(Arc::new(f));
        self
    }

    /// The bound on a session's attributes, as compact JSON (default 4 KiB).
    pub fn max_attrs_bytes(mut self, n: usize) -> Self {
        self.config.max_attrs_bytes = n;
        self
    }

    /// Where sessions live: `factory` makes the store from the final
    /// configuration (its `max_sessions` and `max_dormant` among it), at
    /// `build` and again in a child process after `fork()`. The default is
    /// the embedded [`crate::MemoryStore`].
    pub fn store(
        mut self,
        factory: impl Fn(&Config) -> Result<Arc<dyn Store>> + Send + Sync + 'static,
    ) -> Self {
        self.config.store = Some(Arc::new(factory));
        self
    }

    /// Keeps sessions in the Redis at `url` (`redis://host:6379/0`), shared
    /// by every tracker pointed at it with the same `key_prefix`; see
    /// `docs/redis.md`. Connects at `build`, so a wrong address fails there.
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.config.redis = Some(RedisTarget::Single(url.into()));
        self
    }

    /// Keeps sessions in a Redis Cluster reached through any of `nodes`
    /// (their URLs), as [`TrackerBuilder::redis`] otherwise.
    pub fn redis_cluster<S: Into<String>>(mut self, nodes: impl IntoIterator<Item = S>) -> Self {
        let nodes = nodes.into_iter().map(Into::into).collect();
        self.config.redis = Some(RedisTarget::Cluster(nodes));
        self
    }

    /// The prefix of the Redis store's keys (default `"sojourn"`): one per
    /// application sharing a Redis.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.key_prefix = prefix.into();
        self
    }

    /// How long a call waits for Redis before it fails with `STORE_ERROR`
    /// (default 250 ms).
    pub fn store_timeout(mut self, d: Duration) -> Self {
        self.config.store_timeout = d;
        self
    }

    /// Loads the snapshot at `path` when the tracker is made (see
    /// [`crate::Tracker::save`]): its sessions come back, those whose
    /// deadline passed meanwhile end at it (their ends go to `on_end`), and
    /// a file that cannot be read whole fails `build` with `SNAPSHOT_ERROR`.
    pub fn load(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.load = Some(path.into());
        self
    }

    /// The tracker's own snapshot file: loaded when the tracker is made
    /// (if it exists; a file that cannot be read whole fails `build`),
    /// saved by the driver every `snapshot_interval` and once more on
    /// `close` (and so at exit in Python and Node). One file per process:
    /// a child after `fork()` neither loads nor saves it.
    pub fn snapshot(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.snapshot = Some(path.into());
        self
    }

    /// How often the driver saves the `snapshot` (default 60 s); zero
    /// saves only on `close`.
    pub fn snapshot_interval(mut self, d: Duration) -> Self {
        self.config.snapshot_interval = d;
        self
    }

    /// Encrypts the snapshots this tracker saves (ChaCha20-Poly1305), and
    /// opens those it loads: a stolen file then gives neither user ids
    /// nor attributes. A tracker with a key refuses to load a plain file.
    pub fn snapshot_key(mut self, key: crate::snapshot::SnapshotKey) -> Self {
        self.config.snapshot_key = Some(key);
        self
    }

    /// The source of time (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The tracker, or an `InvalidArgument` error for an option out of range.
    pub fn build(self) -> Result<Tracker> {
        if self.gave_secret && self.gave_secrets {
            return Err(Error::invalid("secret", "give secret or secrets, not both"));
        }
        Tracker::new(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_and_secrets_together_are_refused() {
        let both = TrackerBuilder::default()
            .secret("sixteen bytes at least")
            .secrets(["another sixteen bytes"])
            .build();
        let err = both.expect_err("refused");
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert!(err.to_string().contains("not both"), "{err}");
        let one = TrackerBuilder::default()
            .secrets(["sixteen bytes at least"])
            .build();
        assert!(one.is_ok());
    }
}
