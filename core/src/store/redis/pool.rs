//! Connections to one Redis, kept for reuse: a call takes one (or opens
//! one, within the timeout), and gives it back unless it failed, so that a
//! broken connection is never reused and the store reconnects by itself
//! once Redis is back.

use std::time::Duration;

use redis::{Client, Connection, RedisResult};

use crate::error::{Error, Result};
use crate::sync::Mutex;

/// At most this many idle connections are kept.
const KEEP: usize = 16;

pub(super) struct Pool {
    client: Client,
    address: String,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    pub fn new(url: &str, timeout: Duration) -> Result<Self> {
        let client = Client::open(url).map_err(|e| Error::store(url, e))?;
        Ok(Pool {
            client,
            address: url.to_owned(),
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Where the store is, for errors: the URL as given.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn open(&self) -> RedisResult<Connection> {
        let connection = self.client.get_connection_with_timeout(self.timeout)?;
        connection.set_read_timeout(Some(self.timeout))?;
        connection.set_write_timeout(Some(self.timeout))?;
        Ok(connection)
    }

    /// `f` on a connection; its failure as `STORE_ERROR` naming the address.
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T> {
        let taken = self.idle.lock().pop();
        let mut connection = match taken {
            Some(c) => c,
            None => self.open().map_err(|e| Error::store(&self.address, e))?,
        };
        match f(&mut connection) {
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
                Err(Error::store(&self.address, e))
            }
        }
    }
}
