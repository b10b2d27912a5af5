//! The Redis tracker: the same operations as [`crate::tracker::Tracker`],
//! on sessions kept in Redis (one server or a Cluster), each returning a
//! Promise. The arguments are converted on the main thread, when the call
//! is made; the core's call, which waits on Redis, runs on libuv's thread
//! pool (a napi-rs [`Task`]); its result is converted into JavaScript on
//! the main thread again, where the Promise settles ([`crate::task`]). A
//! bad argument rejects the Promise, with the error the memory tracker
//! throws, and nothing is queued. Connecting waits on Redis too:
//! `_connect` is a task as well, which gives a [`RedisConnection`] for the
//! wrapper to make the tracker of (`node/sojourn.js`:
//! `RedisTracker.connect(options)`).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::bindgen_prelude::{ClassInstance, FromNapiValue, Function, ToNapiValue};
use napi::{Env, JsError, Task};
use napi_derive::napi;
use sojourn::TrackerBuilder;
use sojourn::snapshot::Counts;

use crate::convert::{self, Any, Arg, Attrs, Id, Ids, Text, Token};
use crate::error::{self, ErrorValue, Result};
use crate::session::{Hints, Resumed, Session, SessionEnd, StartOptions, Stats, Tick};
use crate::snapshot::{self, SnapshotCounts};
use crate::task::{self, Call, Pending, Promised};
use crate::tracker::{self, Item, OPTIONS, hints_of, kind_of};
use crate::wiring::{Wired, Wiring};

/// The names of the Redis options, as JavaScript gives them: every field
/// of [`RedisOptions`].
pub(crate) const REDIS_OPTIONS: [&str; 4] =
    ["redisUrl", "redisCluster", "keyPrefix", "storeTimeout"];

/// Where a Redis tracker keeps its sessions: the options that
/// `RedisTracker.connect` takes beside every option of a tracker. Give
/// `redisUrl` or `redisCluster`, not both.
#[napi(object, object_to_js = false)]
pub struct RedisOptions {
    /// The Redis that keeps the sessions: `redis://host:6379/0`
    /// (`rediss://` for TLS, `redis://user:password@host`,
    /// `redis+unix:///path/to/socket`).
    #[napi(ts_type = "string")]
    pub redis_url: Option<Text>,
    /// A Redis Cluster that keeps the sessions, reached through any of
    /// these nodes' URLs.
    #[napi(ts_type = "string[]")]
    pub redis_cluster: Option<Vec<Text>>,
    /// The prefix of every key the tracker writes (default `"sojourn"`):
    /// trackers with the same prefix on the same Redis share their
    /// sessions; another application on that Redis takes another prefix.
    /// 1 to 64 bytes, without braces or control characters.
    #[napi(ts_type = "string")]
    pub key_prefix: Option<Text>,
    /// How long a call waits for Redis, to connect and for each answer,
    /// before it fails with `STORE_ERROR` (default 250 ms); at least 1.
    pub store_timeout: Option<f64>,
}

/// A Redis tracker's builder: the tracker's options, then the store's.
fn configure(options: tracker::TrackerOptions, redis: RedisOptions) -> Result<TrackerBuilder> {
    let mut b = tracker::configure(options)?;
    b = match (redis.redis_url, redis.redis_cluster) {
        (Some(url), None) => b.redis(String::from(url)),
        (None, Some(nodes)) => b.redis_cluster(nodes.into_iter().map(String::from)),
        (Some(_), Some(_)) => {
            return Err(error::invalid(
                "options",
                "give redisUrl or redisCluster, not both",
            ));
        }
        (None, None) => {
            return Err(error::invalid(
                "options",
                "give redisUrl (one Redis) or redisCluster (a Redis Cluster's nodes)",
            ));
        }
    };
    if let Some(prefix) = redis.key_prefix {
        b = b.key_prefix(String::from(prefix));
    }
    if let Some(timeout) = redis.store_timeout {
        b = b.store_timeout(convert::millis(timeout, "storeTimeout")?);
    }
    Ok(b)
}

/// A tracker whose sessions are in Redis, made with `await
/// RedisTracker.connect(options)`: every process, and every worker thread,
/// whose tracker has the same Redis and `keyPrefix` shares the same
/// sessions, each counted once and each end reported once, by one of
/// them. Every operation that reaches Redis returns a Promise; it waits
/// on libuv's thread pool, never on the main thread. A Promise rejects
/// with the `Error` (with its `code`) that the memory tracker would throw:
/// for a bad argument (nothing is sent to Redis then), or `STORE_ERROR`,
/// naming Redis's address, when Redis does not answer within
/// `storeTimeout`.
#[napi]
pub struct RedisTracker {
    pub(crate) wired: Wired,
}

/// A connected Redis tracker, until it is made into a `RedisTracker`
/// (`node/sojourn.js`). Dropped unused, it closes.
#[napi]
pub struct RedisConnection {
    wired: Cell<Option<Wired>>,
}

#[napi]
impl RedisTracker {
    /// The tracker of a `connection` that `_connect` gave; an application
    /// calls `await RedisTracker.connect(options)` instead.
    #[napi(constructor)]
    pub fn new(
        #[napi(ts_arg_type = "RedisConnection")] connection: Arg<ClassInstance<RedisConnection>>,
    ) -> Result<Self> {
        let wired = connection
            .get("connection")
            .ok()
            .and_then(|c| c.wired.take());
        match wired {
            Some(wired) => Ok(RedisTracker { wired }),
            None => Err(error::invalid(
                "connection",
                "a RedisTracker is made with `await RedisTracker.connect(options)`",
            )),
        }
    }

    /// @internal Connects to Redis and makes the tracker, off the main
    /// thread: a Promise of the connection for the constructor. Rejects
    /// with `INVALID_ARGUMENT` for an option out of range, of the wrong
    /// type, or unknown, and with `STORE_ERROR`, naming the address, when
    /// Redis cannot be reached. (`ready` and `warned` are the package's,
    /// as for `Tracker`.)
    #[napi(js_name = "_connect", ts_return_type = "Promise<RedisConnection>")]
    pub fn connect(
        env: Env,
        #[napi(ts_arg_type = "TrackerOptions & RedisOptions")] options: Option<Any>,
        #[napi(ts_arg_type = "() => void")] ready: Option<Arg<Function<'_, (), ()>>>,
        #[napi(ts_arg_type = "() => void")] warned: Option<Arg<Function<'_, (), ()>>>,
    ) -> Promised<Connect> {
        let connect = || {
            let Some(options) = options else {
                return Err(error::invalid(
                    "options",
                    "give redisUrl (one Redis) or redisCluster (a Redis Cluster's nodes)",
                ));
            };
            let (env, value) = (env.raw(), options.raw());
            // SAFETY: the value is an argument of this call.
            let builder = unsafe {
                tracker::check_options(env, value, &[&OPTIONS, &REDIS_OPTIONS])?;
                let redis = RedisOptions::from_napi_value(env, value)
                    .map_err(|e| error::invalid_value("options", e))?;
                configure(tracker::tracker_options(env, value)?, redis)?
            };
            // SAFETY: this call's `env`, on its thread.
            let (builder, wiring) = unsafe { Wiring::new(env, builder, ready, warned)? };
            Ok(Connect {
                builder: Some(builder),
                wiring: Some(wiring),
            })
        };
        Promised::of(connect())
    }

    /// Starts a new session (`sessionIndex` 1).
    #[napi(ts_return_type = "Promise<Session>")]
    pub fn start(
        &self,
        #[napi(ts_arg_type = "StartOptions")] options: Option<Arg<StartOptions>>,
    ) -> Pending<sojourn::Session, Session> {
        self.call(Session::from, || {
            let o = options.map(|o| o.get("options")).transpose()?;
            let (user_id, attrs) = o.map_or((None, None), |o| (o.user_id, o.attrs));
            let (user_id, attrs) = (user_id.map(String::from), attrs.map(|a| a.0));
            Ok(move |t: &sojourn::Tracker| t.start(user_id.as_deref(), attrs))
        })
    }

    /// The live session `id`, touched; `null` if it is not live.
    #[napi(ts_return_type = "Promise<Session | null>")]
    pub fn get(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
    ) -> Pending<Option<sojourn::Session>, Option<Session>> {
        self.call(session_or_null, || {
            let id = id.get()?;
            Ok(move |t: &sojourn::Tracker| t.get(id))
        })
    }

    /// The live session `id` without touching it; `null` if it is not live.
    #[napi(ts_return_type = "Promise<Session | null>")]
    pub fn peek(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
    ) -> Pending<Option<sojourn::Session>, Option<Session>> {
        self.call(session_or_null, || {
            let id = id.get()?;
            Ok(move |t: &sojourn::Tracker| t.peek(id))
        })
    }

    /// Whether `id` is live. Does not touch it.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn exists(&self, #[napi(ts_arg_type = "string")] id: Id) -> Pending<bool, bool> {
        self.call(same, || {
            let id = id.get()?;
            Ok(move |t: &sojourn::Tracker| t.exists(id))
        })
    }

    /// Counts one view or event and resolves to the counters right after
    /// it, read in the same step as the increment, whichever process
    /// tracks the session at the same time; rejects with
    /// `SESSION_NOT_FOUND` if the session is not live.
    #[napi(ts_return_type = "Promise<Tick>")]
    pub fn track(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "'view' | 'event'")] kind: Arg<Text>,
    ) -> Pending<sojourn::Tick, Tick> {
        self.call(Tick::from, || {
            let id = id.get()?;
            let kind = kind_of(kind)?;
            Ok(move |t: &sojourn::Tracker| t.track(id, kind))
        })
    }

    /// Counts one view or event on each id in turn, in one call, as
    /// `Tracker.trackMany` does: resolves, for each id in order, to its
    /// tick; `null` if its session is not live; or that item's own error,
    /// as a value. A malformed id rejects the whole call before anything
    /// is tracked.
    #[napi(ts_return_type = "Promise<Array<Tick | null | Error>>")]
    pub fn track_many(
        &self,
        #[napi(ts_arg_type = "string[]")] ids: Ids,
        #[napi(ts_arg_type = "'view' | 'event'")] kind: Arg<Text>,
    ) -> Pending<Vec<sojourn::Result<sojourn::Tick>>, Vec<Item>> {
        self.call(items, || {
            let ids = ids.get()?;
            let kind = kind_of(kind)?;
            Ok(move |t: &sojourn::Tracker| t.track_many(&ids, kind))
        })
    }

    /// Assigns the session to a user (at most 256 bytes).
    #[napi(ts_return_type = "Promise<Session>")]
    pub fn identify(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "string")] user_id: Arg<Text>,
    ) -> Pending<sojourn::Session, Session> {
        self.call(Session::from, || {
            let id = id.get()?;
            let user_id = String::from(user_id.get("userId")?);
            Ok(move |t: &sojourn::Tracker| t.identify(id, &user_id))
        })
    }

    /// Merges attributes into the session's: a key given replaces its value.
    #[napi(ts_return_type = "Promise<Session>")]
    pub fn set_attrs(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "Record<string, string | number | boolean | null>")] attrs: Arg<Attrs>,
    ) -> Pending<sojourn::Session, Session> {
        self.call(Session::from, || {
            let id = id.get()?;
            let attrs = convert::attrs(attrs)?;
            Ok(move |t: &sojourn::Tracker| t.set_attrs(id, attrs))
        })
    }

    /// Brings the session `id` back with its counters (the maximum of what
    /// the tracker knew and the hints), or resolves to it if live. Rejects
    /// with `SESSION_NOT_REVIVABLE` for a session that ended, reached its
    /// lifetime, or whose UUIDv7 time is out of range.
    #[napi(ts_return_type = "Promise<Session>")]
    pub fn revive(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "Hints")] hints: Option<Arg<Hints>>,
    ) -> Pending<sojourn::Session, Session> {
        self.call(Session::from, || {
            let id = id.get()?;
            let hints = hints_of(hints)?;
            Ok(move |t: &sojourn::Tracker| t.revive(id, hints))
        })
    }

    /// What a web request calls with the token its client holds: the live
    /// session (`existing`), the same session brought back (`revived`), or
    /// a new one (`started`). A bad token is never an error: it starts a
    /// session, counted in `stats().rejected`.
    #[napi(ts_return_type = "Promise<Resumed>")]
    pub fn resume(
        &self,
        #[napi(ts_arg_type = "string | null")] token: Option<Arg<Token>>,
        #[napi(ts_arg_type = "Hints")] hints: Option<Arg<Hints>>,
    ) -> Pending<(sojourn::Session, sojourn::Outcome), Resumed> {
        self.call(Resumed::from, || {
            let token = token
                .map(|t| t.get("token").map(String::from))
                .transpose()?;
            let hints = hints_of(hints)?;
            Ok(move |t: &sojourn::Tracker| t.resume(token.as_deref(), hints))
        })
    }

    /// Ends a live session (reason `ended`) and resolves to its end;
    /// `null` if it is not live.
    #[napi(ts_return_type = "Promise<SessionEnd | null>")]
    pub fn end(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
    ) -> Pending<Option<sojourn::SessionEnd>, Option<SessionEnd>> {
        self.call(end_or_null, || {
            let id = id.get()?;
            Ok(move |t: &sojourn::Tracker| t.end(id))
        })
    }

    /// The live sessions, all or one user's.
    #[napi(ts_return_type = "Promise<Array<Session>>")]
    pub fn sessions(
        &self,
        #[napi(ts_arg_type = "string")] user_id: Option<Arg<Text>>,
    ) -> Pending<Vec<sojourn::Session>, Vec<Session>> {
        self.call(sessions, || {
            let user_id = convert::opt_string(user_id, "userId")?;
            Ok(move |t: &sojourn::Tracker| t.sessions(user_id.as_deref()))
        })
    }

    /// How many sessions are live, all or one user's.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn count(
        &self,
        #[napi(ts_arg_type = "string")] user_id: Option<Arg<Text>>,
    ) -> Pending<usize, f64> {
        self.call(number, || {
            let user_id = convert::opt_string(user_id, "userId")?;
            Ok(move |t: &sojourn::Tracker| t.count(user_id.as_deref()))
        })
    }

    /// Logs a user out everywhere, as `Tracker.endUser`; resolves to how
    /// many live sessions ended.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn end_user(
        &self,
        #[napi(ts_arg_type = "string")] user_id: Arg<Text>,
    ) -> Pending<usize, f64> {
        self.call(number, || {
            let user_id = String::from(user_id.get("userId")?);
            Ok(move |t: &sojourn::Tracker| t.end_user(&user_id))
        })
    }

    /// Erases a user, as `Tracker.forgetUser`; resolves to how many
    /// sessions were erased, live and remembered.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn forget_user(
        &self,
        #[napi(ts_arg_type = "string")] user_id: Arg<Text>,
    ) -> Pending<usize, f64> {
        self.call(number, || {
            let user_id = String::from(user_id.get("userId")?);
            Ok(move |t: &sojourn::Tracker| t.forget_user(&user_id))
        })
    }

    /// Ends every live session in Redis under this `keyPrefix` (every
    /// process's); resolves to how many ended.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn end_all(&self) -> Pending<usize, f64> {
        self.call(number, || Ok(|t: &sojourn::Tracker| t.end_all()))
    }

    /// Moves the live sessions of `oldUserId` to `newUserId`; resolves to
    /// how many moved.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn reassign_user(
        &self,
        #[napi(ts_arg_type = "string")] old_user_id: Arg<Text>,
        #[napi(ts_arg_type = "string")] new_user_id: Arg<Text>,
    ) -> Pending<usize, f64> {
        self.call(number, || {
            let old = String::from(old_user_id.get("oldUserId")?);
            let new = String::from(new_user_id.get("newUserId")?);
            Ok(move |t: &sojourn::Tracker| t.reassign_user(&old, &new))
        })
    }

    /// This tracker's counters since it was made (this process's calls),
    /// and the live and dormant counts in Redis (every process's).
    #[napi(ts_return_type = "Promise<Stats>")]
    pub fn stats(&self) -> Pending<sojourn::Stats, Stats> {
        self.call(Stats::from, || Ok(|t: &sojourn::Tracker| t.stats()))
    }

    /// Processes every due expiry now; resolves to how many sessions
    /// departed. The driver does this every `sweepInterval`.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn sweep(&self) -> Pending<usize, f64> {
        self.call(number, || Ok(|t: &sojourn::Tracker| t.sweep()))
    }

    /// Writes every session under this `keyPrefix` (every process's),
    /// live and remembered, to a snapshot at `path`, read from Redis one
    /// part at a time on libuv's thread pool; resolves to how many it
    /// wrote. A tracker made with `load` (on any store) brings them back.
    /// Rejects with `SNAPSHOT_ERROR`, naming the file, when it cannot be
    /// written, and with `STORE_ERROR` when Redis does not answer.
    #[napi(ts_return_type = "Promise<SnapshotCounts>")]
    pub fn save(
        &self,
        #[napi(ts_arg_type = "string")] path: Arg<Text>,
    ) -> Pending<Counts, SnapshotCounts> {
        self.call(SnapshotCounts::from, || {
            let path = snapshot::path(path)?;
            Ok(move |t: &sojourn::Tracker| t.save(&path))
        })
    }

    /// The token a client keeps for the session `id`. It needs no store:
    /// returned at once, not a Promise, and it throws
    /// `INVALID_SESSION_ID` for a malformed id.
    #[napi]
    pub fn token(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<String> {
        Ok(self.wired.inner.token(id.get()?))
    }

    /// Stops the background driver after a last sweep, off the main
    /// thread, saves the `snapshot` if there is one, and lets go of the
    /// threadsafe functions; resolves to how many ends the core dropped
    /// (the package delivers the pending ones).
    #[napi(ts_return_type = "Promise<number>")]
    pub fn close(&self) -> Pending<usize, f64> {
        let wired = self.wired.releaser();
        self.call(number, || {
            Ok(move |t: &sojourn::Tracker| {
                let dropped = t.close();
                wired.release();
                Ok(dropped)
            })
        })
    }

    /// @internal As `Tracker._takeEnds`.
    #[napi(js_name = "_takeEnds", ts_return_type = "unknown[] | null")]
    pub fn take_ends_packed(&self, max: f64) -> Result<Option<crate::ends::EndBatch>> {
        self.wired.take_ends_packed(max)
    }

    /// @internal As `Tracker._dropEnds`.
    #[napi(js_name = "_dropEnds")]
    pub fn drop_ends_internal(&self, taken: f64) -> Result<f64> {
        self.wired.drop_ends_internal(taken)
    }

    /// @internal As `Tracker._takeWarnings`.
    #[napi(js_name = "_takeWarnings")]
    pub fn take_warnings_internal(&self) -> Vec<String> {
        self.wired.take_warnings_internal()
    }

    /// @internal As `Tracker._endsOptions`.
    #[napi(js_name = "_endsOptions")]
    pub fn ends_options_internal(&self) -> Vec<f64> {
        self.wired.ends_options_internal()
    }
}

impl RedisTracker {
    /// The Promise of a call: `args` converts the arguments, here on the
    /// main thread, into the core's call, which then runs on the thread
    /// pool, its result converted by `convert`; an argument that does not
    /// convert rejects it, and nothing is queued.
    fn call<R, J, F>(&self, convert: fn(R) -> J, args: impl FnOnce() -> Result<F>) -> Pending<R, J>
    where
        R: Send + 'static,
        J: ToNapiValue,
        F: FnOnce(&sojourn::Tracker) -> sojourn::Result<R> + Send + 'static,
    {
        Promised::of(args().map(|op| Call::new(self.wired.inner.clone(), op, convert)))
    }
}

/// Connecting: the tracker built, and thereby connected, on the thread
/// pool; wired on the main thread.
pub struct Connect {
    builder: Option<TrackerBuilder>,
    /// Dropped, if the tracker is not built, letting go of its threadsafe
    /// functions.
    wiring: Option<Wiring>,
}

impl Task for Connect {
    type Output = sojourn::Result<sojourn::Tracker>;
    type JsValue = RedisConnection;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let builder = self.builder.take().ok_or_else(|| {
            napi::Error::from_reason("sojourn: a connection was made twice".to_owned())
        })?;
        // A panic must not unwind into libuv; none is expected.
        catch_unwind(AssertUnwindSafe(|| builder.build()))
            .map_err(|_| napi::Error::from_reason("sojourn: connecting panicked".to_owned()))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<RedisConnection> {
        let wiring = self.wiring.take();
        // SAFETY (both): `env` is the main thread's, in the task's
        // completion, the thread and environment `_connect` was called in.
        match (output, wiring) {
            (Ok(inner), Some(wiring)) => match unsafe { wiring.attach(env.raw(), inner) } {
                Ok(wired) => Ok(RedisConnection {
                    wired: Cell::new(Some(wired)),
                }),
                Err(error) => Err(unsafe { task::rejection(env.raw(), JsError::from(error))? }),
            },
            (Ok(_), None) => Err(napi::Error::from_reason(
                "sojourn: a connection was wired twice".to_owned(),
            )),
            (Err(error), _) => Err(unsafe { task::rejection(env.raw(), ErrorValue(error))? }),
        }
    }
}

// The conversions of results, as `Call` takes them.

fn same<T>(value: T) -> T {
    value
}

fn number(n: usize) -> f64 {
    n as f64
}

fn session_or_null(s: Option<sojourn::Session>) -> Option<Session> {
    s.map(Session::from)
}

fn end_or_null(e: Option<sojourn::SessionEnd>) -> Option<SessionEnd> {
    e.map(SessionEnd::from)
}

fn sessions(s: Vec<sojourn::Session>) -> Vec<Session> {
    s.into_iter().map(Session::from).collect()
}

fn items(results: Vec<sojourn::Result<sojourn::Tick>>) -> Vec<Item> {
    results.into_iter().map(Item::from).collect()
}
