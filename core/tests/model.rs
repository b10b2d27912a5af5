//! A model-based property test: random sequences of every tracker
//! operation and clock advance run on two trackers side by side, one on
//! the memory store and one on the reference store, and after each step
//! their results, their errors (by code, with the id they name), the
//! session ends they delivered (in order) and the whole contents of their
//! stores must be the same.
//!
//! The two trackers make different random ids for the sessions they
//! start; the test keeps them in pairs, in the order they were made, and
//! compares every id (and token: tokens are unsigned, the id itself)
//! through that pairing. An unknown id is the same in both trackers. Both
//! trackers order sessions whose deadlines tie by id, so the pairing must
//! keep the order of ids: no two sessions are made in the same
//! millisecond (`Model::before_making`), and the unknown UUIDv7 have the
//! lowest or highest random bits of their millisecond.
//!
//! Cases: 2,000, or `SOJOURN_PROPTEST_CASES`. A failure prints the shrunk
//! setup and sequence of operations, and where the stores differ.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestError, TestRunner};
use sojourn::store::{Cx, Found, Sizes, Step, Store, Which};
use sojourn::{
    AttrValue, Attrs, Clock, Config, EndReason, Entry, EntryRef, Error, Hints, Kind, MemoryStore,
    MockClock, Outcome, Record, ReferenceStore, Session, SessionEnd, SessionId, Tick, Tracker,
};
use support::Redis;

const EPOCH_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00.000Z

/// Users to pick from; the last one is refused (empty).
const USERS: [&str; 4] = ["alice", "bob", "carol", ""];

/// Unknown ids that are not UUIDv7: one below every v7 id of our times,
/// one above.
const V4_IDS: [&str; 2] = [
    "00a1b2c3-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f",
];

/// The tracker's options, drawn small: `max_sessions` under 2,048 keeps
/// the memory store to one shard, so that it evicts and departs in exactly
/// the reference store's order.
#[derive(Debug, Clone)]
struct Setup {
    max_sessions: usize,
    max_dormant: usize,
    idle_ms: u64,
    lifetime_ms: u64,
    retention_ms: u64,
    revive_window_ms: Option<u64>,
    max_attrs_bytes: usize,
    max_counter_hint: u64,
}

/// A session to act on.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The pair of sessions made this many pairs before the last (modulo
    /// how many were made; an unknown v4 id while none was).
    Made(usize),
    /// One of [`V4_IDS`].
    V4(usize),
    /// A UUIDv7 made `offset_ms` from now, with the lowest or the highest
    /// random bits: never equal to an id a tracker makes, and in the same
    /// order against those in both trackers.
    V7 { offset_ms: i64, high: bool },
}

/// The token `resume` is given.
#[derive(Debug, Clone, Copy)]
enum Token {
    None,
    Empty,
    Garbage,
    Of(Target),
}

/// `resume`'s and `revive`'s hints.
#[derive(Debug, Clone)]
struct HintSpec {
    user: Option<usize>,
    attrs: Option<Attrs>,
    views: u64,
    events: u64,
}

#[derive(Debug, Clone)]
enum Op {
    Start {
        user: Option<usize>,
        attrs: Option<Attrs>,
    },
    Get(Target),
    Peek(Target),
    Exists(Target),
    Track(Target, Kind),
    TrackMany(Vec<Target>, Kind),
    Identify(Target, usize),
    SetAttrs(Target, Attrs),
    End(Target),
    Sessions(Option<usize>),
    Count(Option<usize>),
    Len,
    EndUser(usize),
    ForgetUser(usize),
    EndAll,
    ReassignUser(usize, usize),
    Stats,
    Sweep,
    Resume(Token, HintSpec),
    Revive(Target, HintSpec),
    Advance(u64),
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        1..=8usize,
        0..=8usize,
        5..50u64,
        20..200u64,
        prop_oneof![1 => Just(0u64), 5 => 1..100u64],
        proptest::option::of(0..60u64),
        prop_oneof![Just(4096usize), 16..64usize],
        prop_oneof![Just(100_000u64), 3..10u64],
    )
        .prop_map(
            |(
                max_sessions,
                max_dormant,
                idle_ms,
                lifetime_ms,
                retention_ms,
                revive_window_ms,
                max_attrs_bytes,
                max_counter_hint,
            )| Setup {
                max_sessions,
                max_dormant,
                idle_ms,
                lifetime_ms,
                retention_ms,
                revive_window_ms,
                max_attrs_bytes,
                max_counter_hint,
            },
        )
}

fn user() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 0..3usize, 1 => Just(3usize)]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        12 => prop_oneof![3 => 0..3usize, 1 => 0..64usize].prop_map(Target::Made),
        1 => (0..V4_IDS.len()).prop_map(Target::V4),
        2 => (
            prop_oneof![8 => -250i64..=20, 1 => Just(59_000i64), 1 => Just(61_000i64)],
            any::<bool>(),
        )
            .prop_map(|(offset_ms, high)| Target::V7 { offset_ms, high }),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::View), Just(Kind::Event)]
}

fn attrs() -> impl Strategy<Value = Attrs> {
    let key = prop_oneof![
        10 => prop::sample::select(vec!["page", "ref", "utm_source"]),
        1 => Just(""),
    ]
    .prop_map(str::to_owned);
    let value = prop_oneof![
        Just(AttrValue::Null),
        any::<bool>().prop_map(AttrValue::Bool),
        (0i64..1000).prop_map(AttrValue::Int),
        prop::sample::select(vec![
            "/",
            "/home",
            "/pricing?plan=team",
            "https://example.com/a/long/referrer",
        ])
        .prop_map(AttrValue::from),
    ];
    prop::collection::btree_map(key, value, 0..3)
}

fn hints() -> impl Strategy<Value = HintSpec> {
    (
        proptest::option::of(user()),
        proptest::option::weighted(0.3, attrs()),
        0..10u64,
        0..10u64,
    )
        .prop_map(|(user, attrs, views, events)| HintSpec {
            user,
            attrs,
            views,
            events,
        })
}

fn token() -> impl Strategy<Value = Token> {
    prop_oneof![
        1 => Just(Token::None),
        1 => Just(Token::Empty),
        1 => Just(Token::Garbage),
        8 => target().prop_map(Token::Of),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (proptest::option::of(user()), proptest::option::weighted(0.3, attrs()))
            .prop_map(|(user, attrs)| Op::Start { user, attrs }),
        3 => target().prop_map(Op::Get),
        2 => target().prop_map(Op::Peek),
        2 => target().prop_map(Op::Exists),
        10 => (target(), kind()).prop_map(|(t, k)| Op::Track(t, k)),
        3 => (prop::collection::vec(target(), 0..5), kind())
            .prop_map(|(ts, k)| Op::TrackMany(ts, k)),
        3 => (target(), user()).prop_map(|(t, u)| Op::Identify(t, u)),
        2 => (target(), attrs()).prop_map(|(t, a)| Op::SetAttrs(t, a)),
        3 => target().prop_map(Op::End),
        2 => proptest::option::of(user()).prop_map(Op::Sessions),
        2 => proptest::option::of(user()).prop_map(Op::Count),
        1 => Just(Op::Len),
        1 => user().prop_map(Op::EndUser),
        1 => user().prop_map(Op::ForgetUser),
        1 => Just(Op::EndAll),
        2 => (user(), user()).prop_map(|(a, b)| Op::ReassignUser(a, b)),
        1 => Just(Op::Stats),
        2 => Just(Op::Sweep),
        8 => (token(), hints()).prop_map(|(t, h)| Op::Resume(t, h)),
        4 => (target(), hints()).prop_map(|(t, h)| Op::Revive(t, h)),
        12 => prop_oneof![0..5u64, 0..60u64].prop_map(Op::Advance),
    ]
}

/// An id as both trackers' results are compared: the index of its pair,
/// or the id itself when it is one both trackers were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Pair(usize),
    Same(SessionId),
}

/// A session with its ids translated.
#[derive(Debug, Clone, PartialEq)]
#[allow(dead_code)] // Read through `Debug` and `PartialEq`.
struct NSession {
    id: Key,
    token: Result<Key, String>,
    user_id: Option<String>,
    view_sequence: u64,
    event_sequence: u64,
    sequence: u64,
    session_index: u32,
    previous_id: Option<Key>,
    started_at: i64,
    last_seen: i64,
    expires_at: i64,
    revivals: u32,
    attrs: Attrs,
}

#[derive(Debug, Clone, PartialEq)]
#[allow(dead_code)] // Read through `Debug` and `PartialEq`.
struct NEnd {
    session: NSession,
    reason: EndReason,
    ended_at: i64,
    duration: Duration,
    revivable: bool,
}

/// An error by its code, with the id it names translated and the reason
/// it gives.
#[derive(Debug, Clone, PartialEq)]
#[allow(dead_code)] // Read through `Debug` and `PartialEq`.
struct NError {
    code: &'static str,
    id: Option<Key>,
    detail: String,
}

#[derive(Debug, Clone, PartialEq)]
#[allow(dead_code)] // Read through `Debug` and `PartialEq`.
struct NRecord {
    started_at: i64,
    last_seen: i64,
    views: u32,
    events: u32,
    session_index: u32,
    revivals: u32,
    user_id: Option<String>,
    previous_id: Option<Key>,
    attrs: Option<Attrs>,
}

/// A stored session with its ids translated.
#[derive(Debug, Clone, PartialEq)]
#[allow(dead_code)] // Read through `Debug` and `PartialEq`.
enum NEntry {
    Live(Key, NRecord),
    Dormant {
        id: Key,
        record: NRecord,
        reason: EndReason,
        ended_at: i64,
        barred: bool,
        erased: bool,
    },
}

/// One of the two trackers.
struct Side {
    tracker: Tracker,
    clock: MockClock,
    store: Arc<dyn Store>,
    retention_ms: i64,
    /// Which pair each id of this side is in.
    pairs: HashMap<SessionId, usize>,
}

type Factory = fn(&Config) -> Arc<dyn Store>;

/// A store as it is, but for the order in which it lists sessions
/// (`scan`, `user_ids`): by id. The `Store` trait leaves that order to the
/// store, and the tracker departs sessions in it (`end_all`, `end_user`,
/// `forget_user`, and `reassign_user` for those already due), so that with
/// a store's own order the ends come in a different order, and with
/// `max_dormant` reached a different departure is forgotten. In id order,
/// which the pairing keeps, both trackers do the same. Every other call
/// goes to the store unchanged.
struct InIdOrder(Arc<dyn Store>);

impl Store for InIdOrder {
    fn update(
        &self,
        id: SessionId,
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) -> sojourn::Result<()> {
        self.0.update(id, cx, f)
    }

    fn update_each(
        &self,
        ids: &[SessionId],
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(usize, Found<'_>) -> Step,
    ) -> sojourn::Result<()> {
        self.0.update_each(ids, cx, f)
    }

    fn peek(&self, id: SessionId, f: &mut dyn FnMut(&Record)) -> sojourn::Result<()> {
        self.0.peek(id, f)
    }

    fn parts(&self) -> usize {
        self.0.parts()
    }

    fn scan(&self, part: usize, f: &mut dyn FnMut(SessionId, &Record)) -> sojourn::Result<()> {
        let mut all = Vec::new();
        self.0.scan(part, &mut |id, r| all.push((id, r.clone())))?;
        all.sort_by_key(|&(id, _)| id);
        for (id, r) in &all {
            f(*id, r);
        }
        Ok(())
    }

    fn sweep(&self, part: usize, cx: &mut Cx<'_>, budget: usize) -> sojourn::Result<bool> {
        self.0.sweep(part, cx, budget)
    }

    fn user_ids(&self, user: &str, which: Which) -> sojourn::Result<Vec<SessionId>> {
        let mut ids = self.0.user_ids(user, which)?;
        ids.sort();
        Ok(ids)
    }

    fn sizes(&self) -> sojourn::Result<Sizes> {
        self.0.sizes()
    }

    fn export(&self, part: usize, f: &mut dyn FnMut(EntryRef<'_>)) -> sojourn::Result<()> {
        self.0.export(part, f)
    }

    fn import(&self, entry: Entry, cx: &mut Cx<'_>) -> sojourn::Result<()> {
        self.0.import(entry, cx)
    }

    fn track(
        &self,
        id: SessionId,
        kind: Kind,
        cx: &mut Cx<'_>,
    ) -> sojourn::Result<sojourn::Result<Tick>> {
        self.0.track(id, kind, cx)
    }

    fn track_many(
        &self,
        ids: &[SessionId],
        kind: Kind,
        cx: &mut Cx<'_>,
    ) -> sojourn::Result<Vec<sojourn::Result<Tick>>> {
        self.0.track_many(ids, kind, cx)
    }
}

fn memory(c: &Config) -> Arc<dyn Store> {
    Arc::new(MemoryStore::new(c.max_sessions, c.max_dormant))
}

fn reference(c: &Config) -> Arc<dyn Store> {
    Arc::new(ReferenceStore::new(c.max_sessions, c.max_dormant))
}

/// A real three-master Redis Cluster (`scripts/with-redis`).
fn redis_cluster(c: &Config) -> Arc<dyn Store> {
    support::redis(Redis::Cluster, &support::unique_prefix("model"), c)
        .expect("the Redis Cluster answers")
}

/// A real Redis (`scripts/with-redis`).
fn redis_store(c: &Config) -> Arc<dyn Store> {
    support::redis(Redis::Single, &support::unique_prefix("model"), c).expect("Redis answers")
}

impl Side {
    fn new(setup: &Setup, factory: Factory) -> Side {
        let clock = MockClock::new(EPOCH_MS).expect("a clock in range");
        let made: Arc<Mutex<Option<Arc<dyn Store>>>> = Arc::default();
        let slot = Arc::clone(&made);
        let mut builder = Tracker::builder()
            .clock(clock.clone())
            .sweep_interval(Duration::ZERO)
            .unsigned_tokens(true)
            .max_sessions(setup.max_sessions)
            .max_dormant(setup.max_dormant)
            .idle_timeout(Duration::from_millis(setup.idle_ms))
            .max_lifetime(Duration::from_millis(setup.lifetime_ms))
            .retention(Duration::from_millis(setup.retention_ms))
            .max_attrs_bytes(setup.max_attrs_bytes)
            .max_counter_hint(setup.max_counter_hint)
            .on_ends_ready(|| {})
            .store(move |c: &Config| {
                let store = factory(c);
                *slot.lock().unwrap() = Some(Arc::clone(&store));
                Ok(Arc::new(InIdOrder(store)) as Arc<dyn Store>)
            });
        if let Some(window) = setup.revive_window_ms {
            builder = builder.revive_window(Duration::from_millis(window));
        }
        let tracker = builder.build().expect("a valid configuration");
        let store = made.lock().unwrap().take().expect("the store was made");
        Side {
            tracker,
            clock,
            store,
            retention_ms: setup.retention_ms as i64,
            pairs: HashMap::new(),
        }
    }

    fn key(&self, id: SessionId) -> Key {
        self.pairs.get(&id).map_or(Key::Same(id), |&i| Key::Pair(i))
    }

    fn token(&self, token: &str) -> Result<Key, String> {
        SessionId::parse(token)
            .map(|id| self.key(id))
            .map_err(|_| token.to_owned())
    }

    fn session(&self, s: Session) -> NSession {
        NSession {
            id: self.key(s.id),
            token: self.token(&s.token),
            user_id: s.user_id,
            view_sequence: s.view_sequence,
            event_sequence: s.event_sequence,
            sequence: s.sequence,
            session_index: s.session_index,
            previous_id: s.previous_id.map(|id| self.key(id)),
            started_at: s.started_at.timestamp_millis(),
            last_seen: s.last_seen.timestamp_millis(),
            expires_at: s.expires_at.timestamp_millis(),
            revivals: s.revivals,
            attrs: s.attrs,
        }
    }

    fn end(&self, e: SessionEnd) -> NEnd {
        NEnd {
            session: self.session(e.session),
            reason: e.reason,
            ended_at: e.ended_at.timestamp_millis(),
            duration: e.duration,
            revivable: e.revivable,
        }
    }

    fn error(&self, e: Error) -> NError {
        let (id, detail) = match &e {
            Error::SessionNotFound { id } => (Some(self.key(*id)), String::new()),
            Error::SessionNotRevivable { id, reason } => {
                (Some(self.key(*id)), (*reason).to_owned())
            }
            Error::InvalidArgument { name, .. } => (None, (*name).to_owned()),
            other => (None, other.to_string()),
        };
        NError {
            code: e.code(),
            id,
            detail,
        }
    }

    fn result<T, U>(&self, r: sojourn::Result<T>, f: impl FnOnce(T) -> U) -> Result<U, NError> {
        r.map(f).map_err(|e| self.error(e))
    }

    fn record(&self, r: &Record) -> NRecord {
        NRecord {
            started_at: r.started_at,
            last_seen: r.last_seen,
            views: r.views,
            events: r.events,
            session_index: r.session_index,
            revivals: r.revivals,
            user_id: r.user_id().map(str::to_owned),
            previous_id: r.previous_id().map(|id| self.key(id)),
            attrs: r.attrs().cloned(),
        }
    }

    /// Everything the store holds, sorted by translated id; but the
    /// dormant records past retention, which are gone for every operation
    /// whether or not the store has let go of them yet (the memory store
    /// does on its sweep, on an eviction, or on access but by `track`).
    fn contents(&self) -> Vec<NEntry> {
        let now = self.now();
        let mut entries = Vec::new();
        for part in 0..self.store.parts() {
            self.store
                .export(part, &mut |entry| {
                    if let EntryRef::Dormant(_, d) = entry {
                        if d.ended_at + self.retention_ms <= now {
                            return;
                        }
                    }
                    entries.push(match entry {
                        EntryRef::Live(id, r) => NEntry::Live(self.key(id), self.record(r)),
                        EntryRef::Dormant(id, d) => NEntry::Dormant {
                            id: self.key(id),
                            record: self.record(&d.record),
                            reason: d.reason,
                            ended_at: d.ended_at,
                            barred: d.barred,
                            erased: d.erased,
                        },
                    })
                })
                .expect("an export");
        }
        entries.sort_by_key(|e| match e {
            NEntry::Live(id, _) | NEntry::Dormant { id, .. } => *id,
        });
        entries
    }

    fn ends(&self) -> Vec<NEnd> {
        self.tracker
            .take_ends(usize::MAX)
            .into_iter()
            .map(|e| self.end(e))
            .collect()
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// The two trackers and the pairing of the ids they made.
struct Model {
    sides: [Side; 2],
    /// The ids made, in order: (memory's, reference's).
    made: Vec<[SessionId; 2]>,
    /// The time of the last session a tracker made with a new id.
    last_made_at: Option<i64>,
}

/// A comparison's failure, with what each side gave.
fn differ<T: Debug + PartialEq>(what: &str, a: &T, b: &T) -> Result<(), String> {
    if a == b {
        return Ok(());
    }
    Err(format!(
        "{what} differ:\n memory:    {a:?}\n reference: {b:?}"
    ))
}

impl Model {
    /// The store `candidate` makes, side by side with the reference store.
    fn new(setup: &Setup, candidate: Factory) -> Model {
        Model {
            sides: [Side::new(setup, candidate), Side::new(setup, reference)],
            made: Vec::new(),
            last_made_at: None,
        }
    }

    fn now(&self) -> i64 {
        self.sides[0].now()
    }

    fn advance(&self, ms: u64) {
        for side in &self.sides {
            side.clock
                .advance(Duration::from_millis(ms))
                .expect("a clock in range");
        }
    }

    /// Before a call that may make a session with a new id: a tracker
    /// orders sessions whose deadlines tie by id, and two UUIDv7 made in
    /// the same millisecond are in a random order, which would differ
    /// between the trackers. So no two are made in the same millisecond.
    fn before_making(&self) {
        if self.last_made_at == Some(self.now()) {
            self.advance(1);
        }
    }

    /// A new pair of ids, made by the trackers (or brought to both).
    fn pair(&mut self, ids: [SessionId; 2]) {
        let n = self.made.len();
        self.made.push(ids);
        for (side, id) in self.sides.iter_mut().zip(ids) {
            side.pairs.insert(id, n);
        }
    }

    /// Pairs the ids of the sessions both trackers returned, if new to
    /// them: two made now, or one brought to both (revived).
    fn pair_new(&mut self, a: &Session, b: &Session) {
        let known = |side: &Side, id| side.pairs.contains_key(&id);
        if !known(&self.sides[0], a.id) && !known(&self.sides[1], b.id) {
            if a.id != b.id {
                self.last_made_at = Some(self.now());
            }
            self.pair([a.id, b.id]);
        }
    }

    /// The id each side is to act on.
    fn ids(&self, target: Target) -> [SessionId; 2] {
        match target {
            Target::Made(back) if !self.made.is_empty() => {
                self.made[self.made.len() - 1 - back % self.made.len()]
            }
            Target::Made(_) => Self::same(SessionId::parse(V4_IDS[0]).unwrap()),
            Target::V4(i) => Self::same(SessionId::parse(V4_IDS[i]).unwrap()),
            Target::V7 { offset_ms, high } => {
                let ms = (self.now() + offset_ms) as u128;
                let bits = if high {
                    (0xfff << 64) | ((1 << 62) - 1)
                } else {
                    0
                };
                let value = (ms << 80) | (0x7 << 76) | (0b10 << 62) | bits;
                Self::same(SessionId::from_u128(value).expect("a valid v7 id"))
            }
        }
    }

    fn same(id: SessionId) -> [SessionId; 2] {
        [id, id]
    }

    fn token(&self, token: Token) -> [Option<String>; 2] {
        match token {
            Token::None => [None, None],
            Token::Empty => [Some(String::new()), Some(String::new())],
            Token::Garbage => [Some("not-a-token".into()), Some("not-a-token".into())],
            Token::Of(target) => {
                let ids = self.ids(target);
                [0, 1].map(|s| Some(self.sides[s].tracker.token(ids[s])))
            }
        }
    }

    /// Compares the two sides' results, translated by `norm`.
    fn compare<T, U: Debug + PartialEq>(
        &self,
        what: &str,
        results: [sojourn::Result<T>; 2],
        norm: impl Fn(&Side, T) -> U,
    ) -> Result<(), String> {
        let [a, b] = results;
        let a = self.sides[0].result(a, |t| norm(&self.sides[0], t));
        let b = self.sides[1].result(b, |t| norm(&self.sides[1], t));
        differ(what, &a, &b)
    }

    /// Runs `f` on each side with the ids of `target`, compares the
    /// results translated by `norm`.
    fn on_target<T, U: Debug + PartialEq>(
        &self,
        what: &str,
        target: Target,
        f: impl Fn(&Tracker, SessionId) -> sojourn::Result<T>,
        norm: impl Fn(&Side, T) -> U,
    ) -> Result<(), String> {
        let ids = self.ids(target);
        let results = [0, 1].map(|s| f(&self.sides[s].tracker, ids[s]));
        self.compare(what, results, norm)
    }

    /// Runs `f` on each side, compares the results translated by `norm`.
    fn on_both<T, U: Debug + PartialEq>(
        &self,
        what: &str,
        f: impl Fn(&Tracker) -> sojourn::Result<T>,
        norm: impl Fn(&Side, T) -> U,
    ) -> Result<(), String> {
        let results = [0, 1].map(|s| f(&self.sides[s].tracker));
        self.compare(what, results, norm)
    }

    fn step(&mut self, op: &Op) -> Result<(), String> {
        let user = |u: usize| USERS[u];
        let hints = |h: &HintSpec| Hints {
            user_id: h.user.map(|u| USERS[u].to_owned()),
            attrs: h.attrs.clone(),
            view_sequence: h.views,
            event_sequence: h.events,
        };
        let opt_session = |side: &Side, s: Option<Session>| s.map(|s| side.session(s));
        let session = |side: &Side, s: Session| side.session(s);
        match op {
            Op::Start { user: u, attrs } => {
                self.before_making();
                let results =
                    [0, 1].map(|s| self.sides[s].tracker.start(u.map(user), attrs.clone()));
                if let [Ok(a), Ok(b)] = &results {
                    self.pair_new(a, b);
                }
                self.compare("start", results, session)?;
            }
            Op::Get(t) => self.on_target("get", *t, |tr, id| tr.get(id), opt_session)?,
            Op::Peek(t) => self.on_target("peek", *t, |tr, id| tr.peek(id), opt_session)?,
            Op::Exists(t) => self.on_target("exists", *t, |tr, id| tr.exists(id), same)?,
            Op::Track(t, k) => self.on_target("track", *t, |tr, id| tr.track(id, *k), same)?,
            Op::TrackMany(ts, k) => {
                let per_side: Vec<[SessionId; 2]> = ts.iter().map(|&t| self.ids(t)).collect();
                let results = [0, 1].map(|s| {
                    let ids: Vec<SessionId> = per_side.iter().map(|p| p[s]).collect();
                    self.sides[s].tracker.track_many(&ids, *k)
                });
                self.compare("track_many", results, |side, ticks| {
                    ticks
                        .into_iter()
                        .map(|t| t.map_err(|e| side.error(e)))
                        .collect::<Vec<_>>()
                })?;
            }
            Op::Identify(t, u) => {
                self.on_target("identify", *t, |tr, id| tr.identify(id, user(*u)), session)?
            }
            Op::SetAttrs(t, attrs) => self.on_target(
                "set_attrs",
                *t,
                |tr, id| tr.set_attrs(id, attrs.clone()),
                session,
            )?,
            Op::End(t) => self.on_target(
                "end",
                *t,
                |tr, id| tr.end(id),
                |side, e: Option<SessionEnd>| e.map(|e| side.end(e)),
            )?,
            Op::Sessions(u) => self.on_both(
                "sessions",
                |tr| tr.sessions(u.map(user)),
                |side, sessions| {
                    let mut all: Vec<NSession> =
                        sessions.into_iter().map(|s| side.session(s)).collect();
                    all.sort_by_key(|s| s.id);
                    all
                },
            )?,
            Op::Count(u) => self.on_both("count", |tr| tr.count(u.map(user)), same)?,
            Op::Len => self.on_both("len", |tr| tr.len(), same)?,
            Op::EndUser(u) => self.on_both("end_user", |tr| tr.end_user(user(*u)), same)?,
            Op::ForgetUser(u) => {
                self.on_both("forget_user", |tr| tr.forget_user(user(*u)), same)?
            }
            Op::EndAll => self.on_both("end_all", |tr| tr.end_all(), same)?,
            Op::ReassignUser(from, to) => self.on_both(
                "reassign_user",
                |tr| tr.reassign_user(user(*from), user(*to)),
                same,
            )?,
            Op::Stats => self.on_both("stats", |tr| tr.stats(), same)?,
            Op::Sweep => self.on_both("sweep", |tr| tr.sweep(), same)?,
            Op::Resume(token, h) => {
                self.before_making();
                let tokens = self.token(*token);
                let results =
                    [0, 1].map(|s| self.sides[s].tracker.resume(tokens[s].as_deref(), hints(h)));
                if let [Ok((a, _)), Ok((b, _))] = &results {
                    self.pair_new(a, b);
                }
                self.compare(
                    "resume",
                    results,
                    |side, (s, outcome): (Session, Outcome)| (side.session(s), outcome),
                )?;
            }
            Op::Revive(t, h) => {
                let ids = self.ids(*t);
                let results = [0, 1].map(|s| self.sides[s].tracker.revive(ids[s], hints(h)));
                if let [Ok(a), Ok(b)] = &results {
                    self.pair_new(a, b);
                }
                self.compare("revive", results, session)?;
            }
            Op::Advance(ms) => self.advance(*ms),
        }
        let [a, b] = [0, 1].map(|s| self.sides[s].ends());
        differ("session ends", &a, &b)?;
        let [a, b] = [0, 1].map(|s| self.sides[s].contents());
        differ("store contents", &a, &b)
    }

    fn close(&self) -> Result<(), String> {
        let [a, b] = [0, 1].map(|s| self.sides[s].tracker.close());
        differ("close", &a, &b)?;
        let [a, b] = [0, 1].map(|s| self.sides[s].ends());
        differ("session ends at close", &a, &b)
    }
}

/// A result compared as it is: it names no session.
fn same<T>(_: &Side, v: T) -> T {
    v
}

fn run_case(setup: &Setup, ops: &[Op], candidate: Factory) -> Result<(), String> {
    let mut model = Model::new(setup, candidate);
    for (i, op) in ops.iter().enumerate() {
        model
            .step(op)
            .map_err(|e| format!("step {i}, {op:?}: {e}"))?;
    }
    model.close()
}

fn cases() -> u32 {
    match std::env::var("SOJOURN_PROPTEST_CASES") {
        Ok(n) => n
            .parse()
            .expect("SOJOURN_PROPTEST_CASES is a number of cases"),
        Err(_) => 2_000,
    }
}

/// Random sequences on the store `candidate` makes and on the reference
/// store, side by side; the shrunk sequence printed on a difference.
fn behaves_as_the_reference_store(candidate: Factory, cases: u32) {
    let config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    };
    let mut runner = TestRunner::new(config);
    let strategy = (setup(), prop::collection::vec(op(), 1..=40));
    let test = |(setup, ops): (Setup, Vec<Op>)| {
        run_case(&setup, &ops, candidate).map_err(TestCaseError::fail)
    };
    match runner.run(&strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(_, (setup, ops))) => {
            // The reason the shrunk case itself fails, run once more.
            let why = run_case(&setup, &ops, candidate)
                .err()
                .unwrap_or_else(|| "(none: the shrunk case passed when run again)".into());
            panic!(
                "the stores differ at {why}\nshrunk case ({} operations):\n{setup:#?}\n{ops:#?}",
                ops.len()
            );
        }
        Err(err) => panic!("{err}"),
    }
}

#[test]
fn memory_store_behaves_as_the_reference_store() {
    behaves_as_the_reference_store(memory, cases());
}

/// Against a real Redis (`scripts/with-redis`), a quarter of the cases:
/// each step is a few round trips.
#[test]
fn redis_store_behaves_as_the_reference_store() {
    behaves_as_the_reference_store(redis_store, cases() / 4);
}

/// On a real Redis Cluster, an eighth of the cases.
#[test]
fn redis_cluster_store_behaves_as_the_reference_store() {
    behaves_as_the_reference_store(redis_cluster, cases() / 8);
}
