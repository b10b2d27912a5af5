//! Replays every `tests/scenarios/*.json` with a mock clock against every
//! store: the conformance suite. The format is described in
//! `tests/scenarios/README.md`; a new store joins with one line in
//! `scenarios_hold_on!` at the end of this file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
mod support;

use sojourn::store::Store;
use sojourn::{
    Config, Error, Hints, Kind, MemoryStore, MockClock, ReferenceStore, SessionEnd, SessionId,
    Tick, Tracker, attrs_from_json, snapshot::SnapshotKey,
};
use support::Redis;

/// Makes a scenario's store from its tracker's configuration, anew at each
/// (re)start: a restart forgets every session, as a process's would.
type Factory = fn(&Config) -> Result<Arc<dyn Store>, Error>;

fn memory(config: &Config) -> Result<Arc<dyn Store>, Error> {
    Ok(Arc::new(MemoryStore::new(
        config.max_sessions,
        config.max_dormant,
    )))
}

fn reference(config: &Config) -> Result<Arc<dyn Store>, Error> {
    Ok(Arc::new(ReferenceStore::new(
        config.max_sessions,
        config.max_dormant,
    )))
}

/// A real Redis (`scripts/with-redis` starts one for `make test`).
fn redis_store(config: &Config) -> Result<Arc<dyn Store>, Error> {
    support::redis(Redis::Single, &support::unique_prefix("scenario"), config)
}

/// A real three-master Redis Cluster (`scripts/with-redis`).
fn redis_cluster(config: &Config) -> Result<Arc<dyn Store>, Error> {
    support::redis(Redis::Cluster, &support::unique_prefix("scenario"), config)
}

const EPOCH_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00.000Z

struct Run {
    name: String,
    store: Factory,
    base_config: Map<String, Value>,
    clock: MockClock,
    tracker: Tracker,
    ends: Arc<Mutex<Vec<SessionEnd>>>,
    names: HashMap<String, (String, String)>,
    /// The folder of this run's snapshot files.
    dir: PathBuf,
}

fn build(
    config: &Map<String, Value>,
    clock: &MockClock,
    ends: &Arc<Mutex<Vec<SessionEnd>>>,
    store: Factory,
    load: Option<PathBuf>,
) -> Result<Tracker, Error> {
    let ms = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_u64)
            .map(Duration::from_millis)
    };
    let n = |key: &str| config.get(key).and_then(Value::as_u64).map(|v| v as usize);
    let sink = Arc::clone(ends);
    let mut b = Tracker::builder()
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .store(store)
        .on_end(move |end| sink.lock().unwrap().push(end));
    if let Some(d) = ms("idle_timeout_ms") {
        b = b.idle_timeout(d);
    }
    if let Some(d) = ms("max_lifetime_ms") {
        b = b.max_lifetime(d);
    }
    if let Some(d) = ms("revive_window_ms") {
        b = b.revive_window(d);
    }
    if let Some(d) = ms("retention_ms") {
        b = b.retention(d);
    }
    if let Some(v) = n("max_sessions") {
        b = b.max_sessions(v);
    }
    if let Some(v) = n("max_dormant") {
        b = b.max_dormant(v);
    }
    if let Some(v) = n("max_attrs_bytes") {
        b = b.max_attrs_bytes(v);
    }
    if let Some(v) = config.get("max_counter_hint").and_then(Value::as_u64) {
        b = b.max_counter_hint(v);
    }
    match config.get("secrets") {
        Some(Value::Array(secrets)) => {
            b = b.secrets(
                secrets
                    .iter()
                    .map(|s| s.as_str().expect("secrets are strings").to_owned()),
            );
        }
        // Unsigned on purpose, unless the scenario says otherwise.
        _ => b = b.unsigned_tokens(true),
    }
    if let Some(v) = config.get("unsigned_tokens").and_then(Value::as_bool) {
        b = b.unsigned_tokens(v);
    }
    if let Some(hex) = config.get("snapshot_key").and_then(Value::as_str) {
        b = b.snapshot_key(SnapshotKey::new(&unhex(hex))?);
    }
    if let Some(path) = load {
        b = b.load(path);
    }
    for key in config.keys() {
        assert!(
            [
                "idle_timeout_ms",
                "max_lifetime_ms",
                "revive_window_ms",
                "retention_ms",
                "max_sessions",
                "max_dormant",
                "max_attrs_bytes",
                "max_counter_hint",
                "secrets",
                "unsigned_tokens",
                "snapshot_key"
            ]
            .contains(&key.as_str()),
            "unknown config key {key}"
        );
    }
    b.build()
}

/// The bytes of an even number of hex digits.
fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("snapshot_key is hex"))
        .collect()
}

impl Run {
    /// Replaces `{name}` and `{name.token}` in every string of `v`.
    fn fill(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.fill_str(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.fill(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.fill(x))).collect())
            }
            other => other.clone(),
        }
    }

    fn fill_str(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let inner = &after[..close];
            let (name, token) = match inner.strip_suffix(".token") {
                Some(name) => (name, true),
                None => (inner, false),
            };
            match self.names.get(name) {
                Some((id, tok)) => out.push_str(if token { tok } else { id }),
                None => out.push_str(&rest[open..open + close + 2]),
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn step(&mut self, step: &Map<String, Value>) -> Result<Option<Value>, String> {
        if let Some(ms) = step.get("advance_ms") {
            self.clock
                .advance(Duration::from_millis(ms.as_u64().ok_or("advance_ms")?))
                .map_err(|e| e.to_string())?;
            return Ok(None);
        }
        if let Some(expected) = step.get("ends") {
            let got: Vec<Value> = self
                .ends
                .lock()
                .unwrap()
                .drain(..)
                .map(|e| json!(e))
                .collect();
            let expected = self.fill(expected);
            if !matches(&expected, &Value::Array(got.clone())) {
                return Err(format!(
                    "ends: expected {expected}\n got {}",
                    Value::Array(got)
                ));
            }
            return Ok(None);
        }
        if let Some(name) = step.get("save") {
            let path = self.dir.join(name.as_str().ok_or("save names a file")?);
            return match (self.tracker.save(&path), step.get("error")) {
                (Ok(counts), None) => {
                    let got = json!({ "live": counts.live, "dormant": counts.dormant });
                    match step.get("expect") {
                        Some(expected) if !matches(expected, &got) => {
                            Err(format!("save: expected {expected}\n got {got}"))
                        }
                        _ => Ok(None),
                    }
                }
                (Err(e), Some(code)) if code == e.code() => Ok(None),
                (result, _) => Err(format!("save: unexpected {result:?}")),
            };
        }
        if let Some(name) = step.get("truncate") {
            let path = self.dir.join(name.as_str().ok_or("truncate names a file")?);
            let bytes = step["bytes"].as_u64().ok_or("truncate needs bytes")?;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| e.to_string())?;
            file.set_len(bytes).map_err(|e| e.to_string())?;
            return Ok(None);
        }
        if let Some(Value::Object(overrides)) = step.get("restart") {
            let mut config = self.base_config.clone();
            config.extend(overrides.clone());
            let load = match step.get("load") {
                Some(name) => Some(self.dir.join(name.as_str().ok_or("load names a file")?)),
                None => None,
            };
            if let Some(ms) = step.get("down_ms") {
                // The process went away: it closes, time passes, another starts.
                if step.contains_key("error") {
                    return Err("restart: down_ms leaves no tracker to keep on error".into());
                }
                self.tracker.close();
                self.clock
                    .advance(Duration::from_millis(ms.as_u64().ok_or("down_ms")?))
                    .map_err(|e| e.to_string())?;
                self.tracker = build(&config, &self.clock, &self.ends, self.store, load)
                    .map_err(|e| format!("restart: unexpected error {e}"))?;
                return Ok(None);
            }
            let result = build(&config, &self.clock, &self.ends, self.store, load);
            return match (result, step.get("error")) {
                (Ok(tracker), None) => {
                    self.tracker.close();
                    self.tracker = tracker;
                    Ok(None)
                }
                (Err(e), Some(code)) if code == e.code() => Ok(None),
                (Ok(_), Some(code)) => {
                    Err(format!("restart: expected error {code}, got a tracker"))
                }
                (Err(e), _) => Err(format!("restart: unexpected error {e}")),
            };
        }
        let op = step
            .get("op")
            .and_then(Value::as_str)
            .ok_or("a step needs op")?;
        let args = self.fill(step.get("args").unwrap_or(&json!({})));
        let result = self.call(op, &args);
        match (result, step.get("error")) {
            (Ok(value), None) => {
                if let Some(name) = step.get("as").and_then(Value::as_str) {
                    let session = if op == "resume" {
                        &value["session"]
                    } else {
                        &value
                    };
                    let id = session["id"]
                        .as_str()
                        .ok_or("as: the result has no session")?;
                    let token = session["token"]
                        .as_str()
                        .ok_or("as: the result has no token")?;
                    self.names
                        .insert(name.to_owned(), (id.to_owned(), token.to_owned()));
                }
                if let Some(expected) = step.get("expect") {
                    let expected = self.fill(expected);
                    if !matches(&expected, &value) {
                        return Err(format!("{op} {args}: expected {expected}\n got {value}"));
                    }
                }
                Ok(Some(value))
            }
            (Err(e), Some(code)) if code == e.code() => Ok(None),
            (Err(e), Some(code)) => Err(format!(
                "{op} {args}: expected {code}, got {} ({e})",
                e.code()
            )),
            (Ok(value), Some(code)) => Err(format!("{op} {args}: expected {code}, got {value}")),
            (Err(e), None) => Err(format!("{op} {args}: unexpected error {} ({e})", e.code())),
        }
    }

    fn call(&self, op: &str, args: &Value) -> Result<Value, Error> {
        let t = &self.tracker;
        let parse = |v: &Value| SessionId::parse(v.as_str().unwrap_or_default());
        let id = || parse(&args["id"]);
        let kind = || args["kind"].as_str().unwrap_or_default().parse::<Kind>();
        let user = |key: &str| args.get(key).and_then(Value::as_str).map(str::to_owned);
        let attrs = || args.get("attrs").cloned().map(attrs_from_json).transpose();
        let hints = || -> Result<Hints, Error> {
            let counter = |key: &str| match args.get(key) {
                None => Ok(0),
                Some(v) => v.as_u64().ok_or_else(|| Error::InvalidArgument {
                    name: "counter",
                    reason: format!("{v} is not a non-negative integer"),
                }),
            };
            Ok(Hints {
                user_id: user("user_id"),
                attrs: attrs()?,
                view_sequence: counter("view_sequence")?,
                event_sequence: counter("event_sequence")?,
            })
        };
        Ok(match op {
            "start" => json!(t.start(user("user_id").as_deref(), attrs()?)?),
            "get" => json!(t.get(id()?)?),
            "peek" => json!(t.peek(id()?)?),
            "exists" => json!(t.exists(id()?)?),
            "track" => json!(t.track(id()?, kind()?)?),
            "track_many" => {
                let ids = args["ids"]
                    .as_array()
                    .expect("track_many takes a list of ids");
                let ids = ids.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
                let kind = kind()?;
                let ticks: Vec<Value> = t
                    .track_many(&ids, kind)?
                    .into_iter()
                    .map(|r| match Tick::batch_item(r) {
                        Ok(tick) => json!(tick),
                        Err(e) => json!({ "error": e.code() }),
                    })
                    .collect();
                json!(ticks)
            }
            "identify" => json!(t.identify(id()?, &user("user_id").unwrap_or_default())?),
            "set_attrs" => json!(t.set_attrs(id()?, attrs()?.unwrap_or_default())?),
            "revive" => json!(t.revive(id()?, hints()?)?),
            "resume" => {
                let (session, outcome) =
                    t.resume(args.get("token").and_then(Value::as_str), hints()?)?;
                json!({ "session": session, "outcome": outcome })
            }
            "end" => json!(t.end(id()?)?),
            "sessions" => json!(t.sessions(user("user_id").as_deref())?),
            "count" => json!(t.count(user("user_id").as_deref())?),
            "len" => json!(t.len()?),
            "end_user" => json!(t.end_user(&user("user_id").unwrap_or_default())?),
            "forget_user" => json!(t.forget_user(&user("user_id").unwrap_or_default())?),
            "end_all" => json!(t.end_all()?),
            "reassign_user" => json!(t.reassign_user(
                &user("old").unwrap_or_default(),
                &user("new").unwrap_or_default()
            )?),
            "stats" => json!(t.stats()?),
            "sweep" => json!(t.sweep()?),
            other => panic!("unknown op {other}"),
        })
    }
}

/// Partial matching, as the scenario README describes.
fn matches(expected: &Value, actual: &Value) -> bool {
    match expected {
        Value::Object(e) if e.len() == 1 && e.contains_key("not") => !matches(&e["not"], actual),
        Value::Object(e) if e.len() == 1 && e.contains_key("in_order") => {
            let (Value::Array(e), Value::Array(a)) = (&e["in_order"], actual) else {
                return false;
            };
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a))
        }
        Value::Object(e) => {
            let Value::Object(a) = actual else {
                return false;
            };
            e.iter().all(|(k, v)| {
                let got = a.get(k).unwrap_or(&Value::Null);
                if k == "attrs" {
                    v == got
                } else {
                    matches(v, got)
                }
            })
        }
        Value::Array(e) => {
            let Value::Array(a) = actual else {
                return false;
            };
            e.len() == a.len() && assign(e, a, &mut vec![false; a.len()])
        }
        Value::Number(n) => actual.as_f64() == n.as_f64(),
        other => other == actual,
    }
}

/// Whether each expected item matches a distinct actual item.
fn assign(expected: &[Value], actual: &[Value], used: &mut Vec<bool>) -> bool {
    let Some((first, rest)) = expected.split_first() else {
        return true;
    };
    for i in 0..actual.len() {
        if !used[i] && matches(first, &actual[i]) {
            used[i] = true;
            if assign(rest, actual, used) {
                return true;
            }
            used[i] = false;
        }
    }
    false
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn replay(path: &Path, store: Factory) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let scenario: Value = serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))?;
    let base_config = scenario["config"].as_object().cloned().unwrap_or_default();
    let clock = MockClock::new(EPOCH_MS).map_err(|e| e.to_string())?;
    let ends = Arc::new(Mutex::new(Vec::new()));
    let tracker =
        build(&base_config, &clock, &ends, store, None).map_err(|e| format!("config: {e}"))?;
    let dir = snapshot_folder();
    let mut run = Run {
        dir: dir.clone(),
        store,
        name: scenario["name"].as_str().unwrap_or("?").to_owned(),
        base_config,
        clock,
        tracker,
        ends,
        names: HashMap::new(),
    };
    let steps = scenario["steps"].as_array().ok_or("no steps")?;
    for (i, step) in steps.iter().enumerate() {
        let step = step.as_object().ok_or("a step is an object")?;
        run.step(step)
            .map_err(|e| format!("{} step {i}: {e}", run.name))?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A new empty folder for one run's snapshots.
fn snapshot_folder() -> PathBuf {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sojourn-scenarios-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// Every scenario on the store that `store` makes; the failures listed.
fn every_scenario_holds(store: Factory) {
    let files = scenario_files();
    assert!(files.len() >= 30, "only {} scenarios", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            replay(path, store)
                .err()
                .map(|e| format!("{}: {e}", path.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// One test a store, each running every scenario.
macro_rules! scenarios_hold_on {
    ($($name:ident => $factory:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                every_scenario_holds($factory);
            }
        )*
    };
}

scenarios_hold_on! {
    every_scenario_holds_on_the_memory_store => memory,
    every_scenario_holds_on_the_reference_store => reference,
    every_scenario_holds_on_redis => redis_store,
    every_scenario_holds_on_a_redis_cluster => redis_cluster,
}

#[test]
fn the_matcher_can_fail() {
    assert!(matches(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    assert!(!matches(&json!({"a": 2}), &json!({"a": 1})));
    assert!(!matches(
        &json!({"attrs": {"x": 1}}),
        &json!({"attrs": {"x": 1, "y": 2}})
    ));
    assert!(matches(
        &json!([{"id": "b"}, {"id": "a"}]),
        &json!([{"id": "a"}, {"id": "b"}])
    ));
    assert!(!matches(
        &json!([{"id": "a"}, {"id": "a"}]),
        &json!([{"id": "a"}, {"id": "b"}])
    ));
    assert!(matches(&json!({"id": {"not": "a"}}), &json!({"id": "b"})));
    assert!(matches(&json!({"in_order": [1, null]}), &json!([1, null])));
    assert!(!matches(&json!({"in_order": [null, 1]}), &json!([1, null])));
    assert!(!matches(&json!({"in_order": [1]}), &json!([1, null])));
    assert!(!matches(&json!({"in_order": [1]}), &json!(1)));
    assert!(!matches(&json!(null), &json!({"id": "b"})));
}
