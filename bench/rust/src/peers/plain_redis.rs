//! What a user writes with the plain `redis` client: a session is a hash,
//! each operation one round trip (a pipeline of `HSET`/`HINCRBY` and
//! `PEXPIRE`), and Redis's TTL is the idle timeout. It keeps the counters
//! shared between processes, and no more: no end is ever reported (a key
//! that expires is gone; keyspace notifications are at-most-once), no
//! capacity bound, no user index, no revival rules.

use std::cell::RefCell;

use redis::{Commands, Connection};

use super::{IDLE_MS, now_ms};
use crate::replay::Contender;

pub struct PlainRedisPeer {
    conn: RefCell<Connection>,
    prefix: String,
}

impl PlainRedisPeer {
    pub fn connect(url: &str, prefix: &str) -> Self {
        let conn = redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .expect("Redis answers");
        PlainRedisPeer {
            conn: RefCell::new(conn),
            prefix: prefix.to_owned(),
        }
    }

    fn key(&self, id: &str) -> String {
        format!("{}:{id}", self.prefix)
    }

    /// A session under `id`, made or made again, with these counters.
    fn create(&self, id: &str, views: u64, events: u64) {
        let now = now_ms();
        let _: () = redis::pipe()
            .hset_multiple(
                self.key(id),
                &[
                    ("started_at", now),
                    ("last_seen", now),
                    ("views", views),
                    ("events", events),
                ],
            )
            .ignore()
            .pexpire(self.key(id), IDLE_MS as i64)
            .ignore()
            .query(&mut *self.conn.borrow_mut())
            .expect("Redis answers");
    }
}

impl Contender for PlainRedisPeer {
    type Id = String;
    type Key = String;

    fn key(&self, uuid: u128) -> String {
        uuid::Uuid::from_u128(uuid).to_string()
    }

    fn start(&self) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.create(&id, 0, 0);
        id
    }

    fn track(&self, id: &String, view: bool) -> u64 {
        let field = if view { "views" } else { "events" };
        let key = self.key(id);
        let (n,): (u64,) = redis::pipe()
            .hincr(&key, field, 1)
            .hset(&key, "last_seen", now_ms())
            .ignore()
            .pexpire(&key, IDLE_MS as i64)
            .ignore()
            .query(&mut *self.conn.borrow_mut())
            .expect("Redis answers");
        n
    }

    fn get(&self, id: &String) -> bool {
        let fields: Vec<(String, String)> = self
            .conn
            .borrow_mut()
            .hgetall(self.key(id))
            .expect("Redis answers");
        !fields.is_empty()
    }

    fn identify(&self, id: &String, user: &str) {
        let key = self.key(id);
        let _: () = redis::pipe()
            .hset(&key, "user_id", user)
            .ignore()
            .pexpire(&key, IDLE_MS as i64)
            .ignore()
            .query(&mut *self.conn.borrow_mut())
            .expect("Redis answers");
    }

    fn revive(&self, key: &String) -> String {
        self.create(key, 0, 0);
        key.clone()
    }

    fn revive_hinted(&self, key: &String, views: u64, events: u64) -> String {
        self.create(key, views, events);
        key.clone()
    }
}
