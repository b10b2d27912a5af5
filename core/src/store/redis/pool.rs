//! Connections to one Redis or one Redis Cluster, kept for reuse: a call
//! takes one (or opens one, within the timeout), and gives it back unless
//! it failed; a failure also drops the idle ones, so that a restarted
//! Redis costs one failed call and the store reconnects by itself.

use std::time::Duration;

use redis::cluster::ClusterClient;
use redis::{Client, ConnectionLike, RedisResult};

use super::redacted;
use crate::error::{Error, Result};
use crate::sync::Mutex;

/// At most this many idle connections are kept.
const KEEP: usize = 16;

type Conn = Box<dyn ConnectionLike + Send>;

enum Target {
    Single(Client),
    Cluster(ClusterClient),
}

pub(super) struct Pool {
    target: Target,
    address: String,
    timeout: Duration,
    idle: Mutex<Vec<Conn>>,
}

impl Pool {
    /// One Redis at `url`.
    pub fn single(url: &str, timeout: Duration) -> Result<Self> {
        let address = redacted(url);
        let client = Client::open(url).map_err(bad_url)?;
        Ok(Pool::new(Target::Single(client), address, timeout))
    }

    /// A Cluster, reached through any of `nodes`.
    pub fn cluster(nodes: &[&str], timeout: Duration) -> Result<Self> {
        let address = nodes
            .iter()
            .map(|n| redacted(n))
            .collect::<Vec<_>>()
            .join(",");
        for node in nodes {
            redis::parse_redis_url(node).ok_or_else(|| {
                Error::invalid("redis_cluster", "a node's address is not a Redis URL")
            })?;
        }
        let client = ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .build()
            .map_err(|e| Error::store(&address, e))?;
        Ok(Pool::new(Target::Cluster(client), address, timeout))
    }

    fn new(target: Target, address: String, timeout: Duration) -> Self {
        Pool {
            target,
            address,
            timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Where the store is, for errors: the URL (or the nodes) as given.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn open(&self) -> RedisResult<Conn> {
        Ok(match &self.target {
            Target::Single(client) => {
                let connection = client.get_connection_with_timeout(self.timeout)?;
                connection.set_read_timeout(Some(self.timeout))?;
                connection.set_write_timeout(Some(self.timeout))?;
                Box::new(connection)
            }
            Target::Cluster(client) => Box::new(client.get_connection()?),
        })
    }

    /// Whether a pipeline may hold commands on any keys: one Redis, not a
    /// Cluster (whose pipelines go to one node).
    pub fn pipelines(&self) -> bool {
        matches!(self.target, Target::Single(_))
    }

    /// `f` on a connection; its failure as `STORE_ERROR` naming the address.
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn ConnectionLike) -> RedisResult<T>) -> Result<T> {
        let taken = self.idle.lock().pop();
        let mut connection = match taken {
            Some(c) => c,
            None => self.open().map_err(|e| self.error(e))?,
        };
        match f(connection.as_mut()) {
            Ok(value) => {
                let mut idle = self.idle.lock();
                if idle.len() < KEEP {
                    idle.push(connection);
                }
                Ok(value)
            }
            Err(e) => {
                // The others idle since are likely broken the same way
                // (Redis restarted): only this call fails for it.
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    self.idle.lock().clear();
                }
                Err(self.error(e))
            }
        }
    }

    /// `STORE_ERROR` naming the address; a timeout says it is one (the
    /// socket's own words are "resource temporarily unavailable").
    fn error(&self, e: redis::RedisError) -> Error {
        if e.is_timeout() {
            let after = self.timeout;
            Error::store(&self.address, TimedOut { after, source: e })
        } else {
            Error::store(&self.address, e)
        }
    }
}

/// A URL the client refuses is the caller's mistake, not the store's:
/// `INVALID_ARGUMENT`, without the text given (which may not be a URL
/// at all, and so have no password we could find and hide).
fn bad_url(e: redis::RedisError) -> Error {
    let why = e.kind();
    Error::invalid(
        "redis",
        format!(
            "not a Redis URL the client takes ({why:?}): give redis://[user:password@]host[:port][/db]"
        ),
    )
}

/// Redis gave no answer within the store's timeout.
#[derive(Debug)]
struct TimedOut {
    after: Duration,
    source: redis::RedisError,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no answer within {:?} (store_timeout)", self.after)
    }
}

impl std::error::Error for TimedOut {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
