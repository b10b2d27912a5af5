//! The Redis store: sessions shared by every process that points at one
//! Redis. Each session is one key holding its serialized state; an
//! `update` reads it, runs the tracker's `f` on a local copy, and commits
//! with one script that swaps the value only if it is still the one read
//! (compare-and-set), retrying on conflict. So any number of processes
//! never lose or repeat a tick, and a departure, claimed by the process
//! whose swap succeeded, goes to exactly one caller. The tracker's `now`
//! decides everything; Redis's own clock and TTLs never do.
//!
//! Indexes (deadlines in sorted sets, users in sets) are written in the
//! same script in this first, standalone version.

mod address;
mod batch;
mod pool;
mod recent;

use std::time::Duration;

use redis::Script;
use serde::{Deserialize, Serialize};

use crate::config::RedisTarget;
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::model::{Dormant, Entry, EntryRef, Record};
use crate::rules::Rules;
use crate::session::{Kind, Tick};
use crate::store::{Action, Cx, Found, Sizes, Step, Store, Which, track_each};
pub(crate) use address::redacted;
use pool::Pool;
use recent::Recent;

/// How many times an `update` retries a swap that lost a race before it
/// reports the contention as a store error.
const MAX_RETRIES: usize = 1000;

/// A session as it is kept in Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Held {
    Live(Record),
    Dormant(Dormant),
}

/// What an update leaves to do about `max_dormant`.
enum Trim {
    Nothing,
    /// A departure was kept: the oldest records go while over the bound.
    Kept,
    /// A departure was made and consumed at once (forget time, id).
    Transient((i64, SessionId)),
}

impl Trim {
    fn after(
        departed: bool,
        evicted: bool,
        state: &Option<Held>,
        newcomer: Option<(i64, SessionId)>,
    ) -> Trim {
        match (state, newcomer) {
            (Some(Held::Dormant(_)), _) if departed => Trim::Kept,
            (_, Some(at)) => Trim::Transient(at),
            _ if departed || evicted => Trim::Kept,
            _ => Trim::Nothing,
        }
    }
}

/// The Redis store; see the module documentation.
pub struct RedisStore {
    pool: Pool,
    prefix: String,
    max_live: usize,
    max_dormant: usize,
    commit: Script,
    head: Script,
    recent: Recent,
}

/// How a swap went.
enum Swap {
    Won,
    /// Another process changed the session first: its value now.
    Lost(Vec<u8>),
}

/// The commit script: the session's key alone, so that it works on a
/// Cluster as it does on one Redis. KEYS: the session. ARGV: the value
/// read ('' for none), the value to write ('' to delete). Returns {'1'}
/// when it swapped, {'0', value} with the session's value ('' for none)
/// when that was not the one read, so that a retry needs no read.
const COMMIT: &str = r#"
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return {'0', current} end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return {'1'}
"#;

/// The head of a sorted set in one round trip, on its key alone. KEYS: the
/// set. ARGV: how many first members, a member to look for ('' none).
/// Returns {size, first members with their scores, 1 if the member is in}.
const HEAD: &str = r#"
local first = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local present = 0
if ARGV[2] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[2]) then present = 1 end
return {redis.call('ZCARD', KEYS[1]), first, present}
"#;

/// What `RedisStore::head` tells of a sorted set.
struct Head {
    size: usize,
    /// The first members, lowest score first: (score, id).
    first: Vec<(i64, SessionId)>,
    /// Whether the member asked about is in the set.
    present: bool,
}

impl RedisStore {
    /// A store at `url` (`redis://127.0.0.1:6379`), its keys under
    /// `prefix`, bounded as a memory store with the same arguments would
    /// be; every call fails with `STORE_ERROR` after `timeout` without an
    /// answer. Connects once, so that a wrong address fails here.
    pub fn connect(
        url: &str,
        prefix: &str,
        max_sessions: usize,
        max_dormant: usize,
        timeout: Duration,
    ) -> Result<Self> {
        Self::on(
            Pool::single(url, timeout)?,
            prefix,
            max_sessions,
            max_dormant,
        )
    }

    /// A store on a Redis Cluster reached through any of `nodes`, as
    /// [`RedisStore::connect`] otherwise: every command and script touches
    /// one key, so each runs on the node that holds its slot.
    pub fn connect_cluster(
        nodes: &[&str],
        prefix: &str,
        max_sessions: usize,
        max_dormant: usize,
        timeout: Duration,
    ) -> Result<Self> {
        Self::on(
            Pool::cluster(nodes, timeout)?,
            prefix,
            max_sessions,
            max_dormant,
        )
    }

    /// [`RedisStore::connect`] or [`RedisStore::connect_cluster`], as
    /// `target` says.
    pub fn open(
        target: &RedisTarget,
        prefix: &str,
        max_sessions: usize,
        max_dormant: usize,
        timeout: Duration,
    ) -> Result<Self> {
        let pool = match target {
            RedisTarget::Single(url) => Pool::single(url, timeout)?,
            RedisTarget::Cluster(nodes) => {
                let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
                Pool::cluster(&nodes, timeout)?
            }
        };
        Self::on(pool, prefix, max_sessions, max_dormant)
    }

    fn on(pool: Pool, prefix: &str, max_sessions: usize, max_dormant: usize) -> Result<Self> {
        pool.with(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(RedisStore {
            pool,
            prefix: prefix.to_owned(),
            max_live: max_sessions,
            max_dormant,
            commit: Script::new(COMMIT),
            head: Script::new(HEAD),
            recent: Recent::default(),
        })
    }

    fn session_key(&self, id: SessionId) -> String {
        format!("{}:s:{{{id}}}", self.prefix)
    }

    fn live_key(&self) -> String {
        format!("{}:live", self.prefix)
    }

    fn dormant_key(&self) -> String {
        format!("{}:dormant", self.prefix)
    }

    fn user_key(&self, which: Which, user: &str) -> String {
        let tag = match which {
            Which::Live => "u",
            Which::Dormant => "d",
        };
        format!("{}:{tag}:{{{user}}}", self.prefix)
    }

    fn read(&self, id: SessionId) -> Result<(Vec<u8>, Option<Held>)> {
        let raw: Option<Vec<u8>> = self
            .pool
            .with(|c| redis::cmd("GET").arg(self.session_key(id)).query(c))?;
        let raw = raw.unwrap_or_default();
        self.recent.put(id, &raw);
        Ok((raw.clone(), self.decode(&raw)?))
    }

    fn decode(&self, raw: &[u8]) -> Result<Option<Held>> {
        if raw.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(raw)
            .map(Some)
            .map_err(|e| Error::store(self.pool.address(), e))
    }

    /// Where a session's user index entry is: (which index, user).
    fn user_of(held: &Option<Held>) -> Option<(Which, String)> {
        match held {
            Some(Held::Live(r)) => r.user_id().map(|u| (Which::Live, u.to_owned())),
            Some(Held::Dormant(d)) => d.record.user_id().map(|u| (Which::Dormant, u.to_owned())),
            None => None,
        }
    }

    /// Swaps `before` (as read: `raw`) for `after`; false if another
    /// process changed the session meanwhile. The indexes are written
    /// around the swap, each command on one key: what the new state needs
    /// is added before it, what the old state had is removed after it
    /// succeeded. So an index may hold an entry too many (a swap that
    /// lost, a process that died), never one too few; the store checks
    /// each entry it uses against the session itself.
    fn swap(
        &self,
        id: SessionId,
        raw: &[u8],
        before: &Option<Held>,
        after: &Option<Held>,
        rules: &Rules,
    ) -> Result<Swap> {
        let value = match after {
            Some(held) => {
                serde_json::to_vec(held).map_err(|e| Error::store(self.pool.address(), e))?
            }
            None => Vec::new(),
        };
        let member = id.to_string();
        let (old_user, new_user) = (Self::user_of(before), Self::user_of(after));
        let mut add: Vec<redis::Cmd> = Vec::new();
        match (before, after) {
            // A live session's deadline only moves later while it stays
            // live: its entry may lag behind (an earlier score), as the
            // memory store's lazy rescheduling does; a sweep or an eviction
            // that meets a lagging entry sets it right. So a track is two
            // round trips (read, swap), not three.
            (Some(Held::Live(b)), Some(Held::Live(a)))
                if rules.expires_at(a) >= rules.expires_at(b) => {}
            (_, Some(Held::Live(r))) => {
                add.push(redis::Cmd::zadd(
                    self.live_key(),
                    &member,
                    rules.expires_at(r),
                ));
            }
            (_, Some(Held::Dormant(d))) => {
                add.push(redis::Cmd::zadd(
                    self.dormant_key(),
                    &member,
                    rules.forget_at(d),
                ));
            }
            (_, None) => {}
        }
        if let Some((which, user)) = new_user.as_ref().filter(|_| old_user != new_user) {
            add.push(redis::Cmd::sadd(self.user_key(*which, user), &member));
        }
        self.run(&add)?;
        let mut reply: Vec<Vec<u8>> = self.pool.with(|c| {
            self.commit
                .key(self.session_key(id))
                .arg(raw)
                .arg(&value)
                .invoke(c)
        })?;
        if reply.first().map(Vec::as_slice) != Some(b"1") {
            let current = reply.pop().filter(|_| reply.len() == 1).unwrap_or_default();
            self.recent.put(id, &current);
            if !add.is_empty() {
                // What this attempt added may not be the session's: set
                // right for what it is now, before the caller tries again.
                self.reconcile(id, rules)?;
            }
            return Ok(Swap::Lost(current));
        }
        self.recent.put(id, &value);
        let mut remove: Vec<redis::Cmd> = Vec::new();
        let kind = |h: &Option<Held>| match h {
            Some(Held::Live(_)) => 1,
            Some(Held::Dormant(_)) => 2,
            None => 0,
        };
        if kind(before) == 1 && kind(after) != 1 {
            remove.push(redis::Cmd::zrem(self.live_key(), &member));
        }
        if kind(before) == 2 && kind(after) != 2 {
            remove.push(redis::Cmd::zrem(self.dormant_key(), &member));
        }
        if let Some((which, user)) = old_user.as_ref().filter(|_| old_user != new_user) {
            remove.push(redis::Cmd::srem(self.user_key(*which, user), &member));
        }
        self.run(&remove)?;
        Ok(Swap::Won)
    }

    /// The size of the sorted set `key`, its `n` first members, and
    /// whether `member` is in it: one script, one round trip.
    fn head(&self, key: String, n: usize, member: Option<SessionId>) -> Result<Head> {
        let member = member.map(|m| m.to_string()).unwrap_or_default();
        let (size, first, present): (usize, Vec<(String, i64)>, i64) = self
            .pool
            .with(|c| self.head.key(&key).arg(n).arg(&member).invoke(c))?;
        let first = first
            .iter()
            .filter_map(|(s, at)| Some((*at, SessionId::parse(s).ok()?)))
            .collect();
        Ok(Head {
            size,
            first,
            present: present == 1,
        })
    }

    /// Runs index writes, each on one key (one slot on a Cluster).
    fn run(&self, writes: &[redis::Cmd]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        self.pool.with(|c| {
            for write in writes {
                write.query::<()>(c)?;
            }
            Ok(())
        })
    }

    /// Makes an index entry of `id` say what the session is now: its
    /// score in the set of its state, and no entry in the other.
    fn reconcile(&self, id: SessionId, rules: &Rules) -> Result<()> {
        let member = id.to_string();
        let mut fix: Vec<redis::Cmd> = Vec::new();
        match self.read(id)?.1 {
            Some(Held::Live(r)) => {
                fix.push(redis::Cmd::zadd(
                    self.live_key(),
                    &member,
                    rules.expires_at(&r),
                ));
                fix.push(redis::Cmd::zrem(self.dormant_key(), &member));
            }
            Some(Held::Dormant(d)) => {
                fix.push(redis::Cmd::zrem(self.live_key(), &member));
                fix.push(redis::Cmd::zadd(
                    self.dormant_key(),
                    &member,
                    rules.forget_at(&d),
                ));
            }
            None => {
                fix.push(redis::Cmd::zrem(self.live_key(), &member));
                fix.push(redis::Cmd::zrem(self.dormant_key(), &member));
            }
        }
        self.run(&fix)
    }

    /// Makes room for a new live session: the one closest to expiry
    /// departs (for the reason the rules give), its departure into `cx`.
    /// `reviving`: the session that is to take the room, whose dormant
    /// record goes as it does and so does not count.
    fn evict_if_full(&self, cx: &mut Cx<'_>, reviving: Option<SessionId>) -> Result<()> {
        loop {
            let head = self.head(self.live_key(), 1, None)?;
            if head.size < self.max_live {
                return Ok(());
            }
            let Some(&(score, victim)) = head.first.first() else {
                return Ok(());
            };
            // An entry that is not the session's (a lost swap, a process
            // that died) is set right, and the next one looked at.
            let (rules, now) = (cx.rules, cx.now);
            match self.read(victim)?.1 {
                Some(Held::Live(r)) if rules.expires_at(&r) == score => {}
                _ => {
                    self.reconcile(victim, rules)?;
                    continue;
                }
            }
            self.update_one(victim, cx, reviving, &mut |found| match found {
                Found::Live(r) => Step::Done(Action::Depart(rules.eviction_reason(r, now))),
                _ => Step::Done(Action::Keep),
            })?;
        }
    }

    /// Keeps the dormant records within `max_dormant`: the oldest goes.
    /// The oldest dormant record (forget time, id), if there are
    /// `max_dormant` of them already.
    fn oldest_if_full(&self, excluding: Option<SessionId>) -> Result<Option<(i64, SessionId)>> {
        let head = self.head(self.dormant_key(), 2, excluding)?;
        if head.size - usize::from(head.present) < self.max_dormant {
            return Ok(None);
        }
        Ok(head
            .first
            .into_iter()
            .find(|(_, id)| Some(*id) != excluding))
    }

    fn trim_dormant(&self, cx: &mut Cx<'_>) -> Result<()> {
        self.make_room(cx, None)
    }

    /// Keeps the dormant records within `max_dormant`, the oldest going
    /// first. With `transient` (the forget time and id of a record that an
    /// update made and consumed at once: a session expired on access and
    /// revived in one step), room is made for it as if it had stayed, as
    /// the memory store does: records older than it go while it would not
    /// fit.
    fn make_room(&self, cx: &mut Cx<'_>, transient: Option<(i64, SessionId)>) -> Result<()> {
        loop {
            let head = self.head(self.dormant_key(), 1, None)?;
            let full = match transient {
                None => head.size > self.max_dormant,
                Some(_) => head.size >= self.max_dormant,
            };
            if !full {
                return Ok(());
            }
            let Some(&(at, oldest)) = head.first.first() else {
                return Ok(());
            };
            if transient.is_some_and(|t| t < (at, oldest)) {
                return Ok(());
            }
            self.update(oldest, cx, &mut |found| match found {
                Found::Dormant(_) => Step::Done(Action::Forget),
                _ => Step::Done(Action::Keep),
            })?;
        }
    }

    /// `Store::update` without trimming the dormant records: returns
    /// whether some departed, for the caller to trim once every swap of
    /// its step is done (a revival's dormant record must be gone first).
    fn update_one(
        &self,
        id: SessionId,
        cx: &mut Cx<'_>,
        reviving: Option<SessionId>,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) -> Result<Trim> {
        let mut evicted_any = false;
        // The value to expect: known from a lost swap, or the one last
        // seen here (`recent`, checked before it is relied on), or read.
        let mut known: Option<Vec<u8>> = None;
        for _ in 0..MAX_RETRIES {
            let (raw, before, unchecked) = match known.take() {
                Some(raw) => (raw.clone(), self.decode(&raw)?, false),
                None => match self.recent.get(id) {
                    Some(raw) => (raw.to_vec(), self.decode(&raw)?, true),
                    None => {
                        let (raw, before) = self.read(id)?;
                        (raw, before, false)
                    }
                },
            };
            let mut state = before.clone();
            let mark = cx.departed.len();
            // A step that fails after deciding a departure wrote nothing
            // (or nothing it knows of): its end is not reported, or the
            // departure that does happen later would be reported twice.
            // Evictions already made for it were, and stay.
            macro_rules! undo_on_err {
                ($result:expr) => {
                    match $result {
                        Ok(value) => value,
                        Err(e) => {
                            cx.departed.truncate(mark);
                            return Err(e);
                        }
                    }
                };
            }
            let mut inserted = false;
            let mut departed = false;
            let mut newcomer = None;
            loop {
                let step = match &mut state {
                    Some(Held::Live(r)) => f(Found::Live(r)),
                    Some(Held::Dormant(d)) => f(Found::Dormant(d)),
                    None => f(Found::Absent),
                };
                let (action, again) = match step {
                    Step::Done(a) => (a, false),
                    Step::Again(a) => (a, true),
                };
                match (action, state.take()) {
                    (Action::Depart(reason), Some(Held::Live(record))) => {
                        departed = true;
                        state = cx
                            .depart(id, record, reason)
                            .filter(|_| self.max_dormant > 0)
                            .map(Held::Dormant);
                        if let Some(Held::Dormant(d)) = &state {
                            let at = (cx.rules.forget_at(d), id);
                            // When full, the oldest goes, the newcomer
                            // included: decided now, so that the rest of
                            // the step sees the record gone.
                            if undo_on_err!(self.oldest_if_full(reviving))
                                .is_some_and(|oldest| at < oldest)
                            {
                                state = None;
                            } else {
                                newcomer = Some(at);
                            }
                        }
                    }
                    (Action::Forget, Some(Held::Dormant(_))) => state = None,
                    (Action::Insert(record), _) => {
                        inserted = true;
                        state = Some(Held::Live(record));
                    }
                    (_, held) => state = held,
                }
                if !again {
                    break;
                }
            }

            if state == before {
                if unchecked {
                    // Nothing to swap, so nothing checked the value this
                    // decision was made on: a read does.
                    let (current, _) = undo_on_err!(self.read(id));
                    if current != raw {
                        cx.departed.truncate(mark);
                        known = Some(current);
                        continue;
                    }
                }
                return Ok(Trim::after(departed, evicted_any, &state, newcomer));
            }
            if inserted && !matches!(before, Some(Held::Live(_))) {
                if unchecked {
                    // An eviction is not undone by a lost swap: make sure
                    // the session is not live before making room for it.
                    let (current, _) = undo_on_err!(self.read(id));
                    if current != raw {
                        cx.departed.truncate(mark);
                        known = Some(current);
                        continue;
                    }
                }
                // Room first, in steps of its own: an eviction is another
                // session's departure, whatever becomes of this swap.
                let mut room = Cx::new(cx.now, cx.rules);
                let own = matches!(before, Some(Held::Dormant(_))).then_some(id);
                let made_room = self.evict_if_full(&mut room, own);
                let evicted = std::mem::take(&mut room.departed);
                evicted_any |= !evicted.is_empty();
                let swapped = match made_room {
                    Ok(()) => self.swap(id, &raw, &before, &state, cx.rules),
                    Err(e) => Err(e),
                };
                match swapped {
                    Err(e) => {
                        cx.departed.truncate(mark);
                        cx.departed.extend(evicted);
                        return Err(e);
                    }
                    Ok(Swap::Won) => cx.departed.splice(mark..mark, evicted).for_each(drop),
                    Ok(Swap::Lost(current)) => {
                        cx.departed.truncate(mark);
                        cx.departed.extend(evicted);
                        known = Some(current);
                        continue;
                    }
                }
            } else if let Swap::Lost(current) =
                undo_on_err!(self.swap(id, &raw, &before, &state, cx.rules))
            {
                cx.departed.truncate(mark);
                known = Some(current);
                continue;
            }
            return Ok(Trim::after(departed, evicted_any, &state, newcomer));
        }
        Err(Error::store(
            self.pool.address(),
            std::io::Error::other("too much contention on one session"),
        ))
    }

    /// A sweep's step on one entry due by its score: the session settled
    /// (departed or forgotten if it is due), then its entries set right
    /// (a session touched since has a later deadline; an entry too many
    /// goes).
    fn settle_due(&self, id: SessionId, cx: &mut Cx<'_>) -> Result<()> {
        let (rules, now) = (cx.rules, cx.now);
        self.update(id, cx, &mut |found| {
            rules
                .settle(&found, now)
                .map(|step| match step {
                    Step::Again(action) | Step::Done(action) => Step::Done(action),
                })
                .unwrap_or(Step::Done(Action::Keep))
        })?;
        self.reconcile(id, rules)
    }

    /// Up to `budget` members of the sorted set `key` due by `now`, in the
    /// order of their sessions' own deadlines (then ids), as every store
    /// departs them. A live entry may lag behind its session (see `swap`),
    /// so the first `budget` are checked against their sessions and the
    /// lagging ones set right and looked up again, until the first are
    /// exact: each pass only raises scores, so it ends.
    fn due(&self, key: String, now: i64, budget: usize, rules: &Rules) -> Result<Vec<SessionId>> {
        loop {
            let due: Vec<(String, i64)> = self.pool.with(|c| {
                redis::cmd("ZRANGEBYSCORE")
                    .arg(&key)
                    .arg("-inf")
                    .arg(now)
                    .arg("WITHSCORES")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(budget)
                    .query(c)
            })?;
            let mut lagging = false;
            let mut ids = Vec::with_capacity(due.len());
            for (member, score) in &due {
                let Ok(id) = SessionId::parse(member) else {
                    continue;
                };
                let exact = match self.read(id)?.1 {
                    Some(Held::Live(r)) => rules.expires_at(&r) == *score,
                    Some(Held::Dormant(d)) => rules.forget_at(&d) == *score,
                    None => false,
                };
                if !exact {
                    self.reconcile(id, rules)?;
                    lagging = true;
                }
                ids.push(id);
            }
            if !lagging {
                return Ok(ids);
            }
        }
    }

    /// Every member of the sorted set `key`.
    fn ids(&self, key: String) -> Result<Vec<SessionId>> {
        let members: Vec<String> = self
            .pool
            .with(|c| redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query(c))?;
        Ok(members
            .iter()
            .filter_map(|m| SessionId::parse(m).ok())
            .collect())
    }
}

impl Store for RedisStore {
    fn update(
        &self,
        id: SessionId,
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) -> Result<()> {
        match self.update_one(id, cx, None, f)? {
            Trim::Nothing => Ok(()),
            Trim::Kept => self.trim_dormant(cx),
            Trim::Transient(at) => self.make_room(cx, Some(at)),
        }
    }

    fn peek(&self, id: SessionId, f: &mut dyn FnMut(&Record)) -> Result<()> {
        if let (_, Some(Held::Live(record))) = self.read(id)? {
            f(&record);
        }
        Ok(())
    }

    fn parts(&self) -> usize {
        1
    }

    fn scan(&self, _part: usize, f: &mut dyn FnMut(SessionId, &Record)) -> Result<()> {
        for id in self.ids(self.live_key())? {
            if let (_, Some(Held::Live(record))) = self.read(id)? {
                f(id, &record);
            }
        }
        Ok(())
    }

    fn sweep(&self, _part: usize, cx: &mut Cx<'_>, budget: usize) -> Result<bool> {
        let now = cx.now;
        let mut more = false;
        for key in [self.live_key(), self.dormant_key()] {
            let due = self.due(key, now, budget, cx.rules)?;
            more |= due.len() == budget;
            for id in due {
                self.settle_due(id, cx)?;
            }
        }
        Ok(more)
    }

    fn track_many(
        &self,
        ids: &[SessionId],
        kind: Kind,
        cx: &mut Cx<'_>,
    ) -> Result<Vec<Result<Tick>>> {
        if self.pool.pipelines() {
            self.track_batch(ids, kind, cx)
        } else {
            track_each(self, ids, kind, cx)
        }
    }

    fn user_ids(&self, user: &str, which: Which) -> Result<Vec<SessionId>> {
        let members: Vec<String> = self.pool.with(|c| {
            redis::cmd("SMEMBERS")
                .arg(self.user_key(which, user))
                .query(c)
        })?;
        Ok(members
            .iter()
            .filter_map(|m| SessionId::parse(m).ok())
            .collect())
    }

    fn sizes(&self) -> Result<Sizes> {
        let (live, dormant): (u64, u64) = self.pool.with(|c| {
            let live = redis::cmd("ZCARD").arg(self.live_key()).query(c)?;
            let dormant = redis::cmd("ZCARD").arg(self.dormant_key()).query(c)?;
            Ok((live, dormant))
        })?;
        Ok(Sizes { live, dormant })
    }

    fn export(&self, _part: usize, f: &mut dyn FnMut(EntryRef<'_>)) -> Result<()> {
        for key in [self.live_key(), self.dormant_key()] {
            for id in self.ids(key)? {
                match self.read(id)?.1 {
                    Some(Held::Live(r)) => f(EntryRef::Live(id, &r)),
                    Some(Held::Dormant(d)) => f(EntryRef::Dormant(id, &d)),
                    None => {}
                }
            }
        }
        Ok(())
    }

    fn import(&self, entry: Entry, cx: &mut Cx<'_>) -> Result<()> {
        let (id, held) = match entry {
            Entry::Live(id, r) => (id, Held::Live(r)),
            Entry::Dormant(id, d) => (id, Held::Dormant(d)),
        };
        loop {
            let (raw, before) = self.read(id)?;
            if matches!(held, Held::Live(_)) && !matches!(before, Some(Held::Live(_))) {
                self.evict_if_full(cx, None)?;
            }
            if let Swap::Won = self.swap(id, &raw, &before, &Some(held.clone()), cx.rules)? {
                return self.trim_dormant(cx);
            }
        }
    }
}
