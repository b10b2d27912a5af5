//! The Redis store's promises across processes, against a real
//! redis-server (`scripts/with-redis`): two trackers on one Redis stand
//! for two worker processes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

use sojourn::store::Store;
use sojourn::{Config, Kind, MockClock, RedisStore, SessionEnd, SessionId, Tracker};
use support::Redis;

const EPOCH_MS: i64 = 1_767_225_600_000;

/// A tracker on the Redis under `prefix`, its ends into `ends`.
fn worker(prefix: &str, clock: &MockClock, ends: &Arc<Mutex<Vec<SessionEnd>>>) -> Tracker {
    worker_on(Redis::Single, prefix, clock, ends)
}

/// `worker`, on the Redis that `redis` says.
fn worker_on(
    redis: Redis,
    prefix: &str,
    clock: &MockClock,
    ends: &Arc<Mutex<Vec<SessionEnd>>>,
) -> Tracker {
    let sink = Arc::clone(ends);
    let builder = Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .on_end(move |end| sink.lock().unwrap().push(end));
    support::on(builder, redis, prefix).build().unwrap()
}

#[test]
fn two_workers_never_lose_or_share_a_tick() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let p = support::unique_prefix("ticks");
    let workers = [worker(&p, &clock, &ends), worker(&p, &clock, &ends)];
    let ids: Vec<_> = (0..4)
        .map(|_| workers[0].start(None, None).unwrap().id)
        .collect();
    let per_thread = 200;
    let ticks = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for w in &workers {
            for _ in 0..2 {
                let ticks = &ticks;
                let ids = &ids;
                s.spawn(move || {
                    for i in 0..per_thread {
                        let id = ids[i % ids.len()];
                        let tick = w.track(id, Kind::View).unwrap();
                        ticks.lock().unwrap().push((id, tick.view_sequence));
                    }
                });
            }
        }
    });
    every_tick_once(&ticks.into_inner().unwrap(), &ids, &workers[1]);
}

/// Each session's ticks, as the workers saw them, are 1..=n with none
/// twice, and `reader` sees all n.
fn every_tick_once(ticks: &[(SessionId, u64)], ids: &[SessionId], reader: &Tracker) {
    for id in ids {
        let mut seen: Vec<u64> = ticks
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, t)| *t)
            .collect();
        seen.sort_unstable();
        let n = seen.len() as u64;
        assert_eq!(
            seen,
            (1..=n).collect::<Vec<_>>(),
            "every tick once, none lost"
        );
        let session = reader.peek(*id).unwrap().expect("live");
        assert_eq!(session.view_sequence, n, "every worker sees every tick");
    }
}

/// `track_many` on one Redis is two pipelines; several items of one
/// session compose into one swap, and a swap lost to the other worker is
/// done again one by one.
#[test]
fn two_workers_batching_never_lose_or_share_a_tick() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let p = support::unique_prefix("batches");
    let workers = [worker(&p, &clock, &ends), worker(&p, &clock, &ends)];
    let ids: Vec<_> = (0..5)
        .map(|_| workers[0].start(None, None).unwrap().id)
        .collect();
    let ticks = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (w, worker) in workers.iter().enumerate() {
            for t in 0..2 {
                let (ticks, ids) = (&ticks, &ids);
                s.spawn(move || {
                    for round in 0..60 {
                        // Repeats, and a different mix each round.
                        let batch: Vec<_> =
                            (0..7).map(|i| ids[(i * (w + t + 1) + round) % 5]).collect();
                        let got = worker.track_many(&batch, Kind::View).unwrap();
                        for (id, tick) in batch.iter().zip(got) {
                            ticks
                                .lock()
                                .unwrap()
                                .push((*id, tick.unwrap().view_sequence));
                        }
                    }
                });
            }
        }
    });
    every_tick_once(&ticks.into_inner().unwrap(), &ids, &workers[1]);
    // A session the other worker ended is an item error, not a tick.
    assert!(workers[1].end(ids[0]).unwrap().is_some());
    let got = workers[0]
        .track_many(&[ids[1], ids[0], ids[1]], Kind::Event)
        .unwrap();
    assert_eq!(got[0].as_ref().unwrap().event_sequence, 1);
    assert_eq!(got[1].as_ref().unwrap_err().code(), "SESSION_NOT_FOUND");
    assert_eq!(got[2].as_ref().unwrap().event_sequence, 2);
}

/// A worker that goes away (a deploy, a crash) leaves its sessions in
/// Redis: a worker that comes later reports their ends, once.
#[test]
fn ends_outlive_the_worker_that_made_the_sessions() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let p = support::unique_prefix("comego");
    let first = worker(&p, &clock, &ends);
    let ids: Vec<_> = (0..20)
        .map(|_| first.start(None, None).unwrap().id)
        .collect();
    assert_eq!(first.close(), 0);
    drop(first);
    assert!(
        ends.lock().unwrap().is_empty(),
        "closing a worker ends nothing"
    );
    clock.advance(Duration::from_secs(31 * 60)).unwrap();
    let later = worker(&p, &clock, &ends);
    assert_eq!(later.sweep().unwrap(), ids.len());
    later.close();
    let mut ended: Vec<_> = ends.lock().unwrap().iter().map(|e| e.session.id).collect();
    ended.sort_unstable();
    let mut want = ids.clone();
    want.sort_unstable();
    assert_eq!(ended, want);
}

/// Each worker keeps the values it last saw as the expected value of its
/// next swap; what another worker did since must still be what it sees,
/// including for calls that decide to write nothing.
#[test]
fn a_worker_never_answers_from_what_it_saw_before_another_wrote() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let p = support::unique_prefix("stale");
    let (a, b) = (worker(&p, &clock, &ends), worker(&p, &clock, &ends));
    let id = a.start(None, None).unwrap().id;
    a.track(id, Kind::View).unwrap();
    // B tracks: A's next tick goes on from B's.
    b.track(id, Kind::View).unwrap();
    assert_eq!(a.track(id, Kind::View).unwrap().view_sequence, 3);
    // B identifies: A's read sees the user.
    b.identify(id, "ann").unwrap();
    let seen = a.get(id).unwrap().expect("live");
    assert_eq!(seen.user_id.as_deref(), Some("ann"));
    // It idles out and B's sweep ends it: for A it is over, and A
    // reports no second end.
    clock.advance(Duration::from_secs(31 * 60)).unwrap();
    b.sweep().unwrap();
    assert!(a.get(id).unwrap().is_none(), "ended by B");
    assert!(a.track(id, Kind::View).is_err());
    a.sweep().unwrap();
    assert_eq!(ends.lock().unwrap().len(), 1, "reported once, by B");
    // B revives it: A sees it live again, its counters carried on.
    b.revive(id, sojourn::Hints::default()).unwrap();
    assert_eq!(a.track(id, Kind::View).unwrap().view_sequence, 4);
    // A ends it; B's end finds it ended.
    assert!(a.end(id).unwrap().is_some());
    assert!(b.end(id).unwrap().is_none());
    assert!(b.get(id).unwrap().is_none());
}

#[test]
fn each_end_is_reported_by_exactly_one_worker() {
    ends_once(Redis::Single);
}

#[test]
fn each_end_is_reported_by_exactly_one_worker_on_a_cluster() {
    ends_once(Redis::Cluster);
}

fn ends_once(redis: Redis) {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let (ends_a, ends_b) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    );
    let p = support::unique_prefix(&format!("ends-{redis:?}"));
    let a = worker_on(redis, &p, &clock, &ends_a);
    let b = worker_on(redis, &p, &clock, &ends_b);
    let n = 300;
    for i in 0..n {
        let w = if i % 2 == 0 { &a } else { &b };
        w.start(Some(&format!("user-{}", i % 5)), None).unwrap();
    }
    assert_eq!(a.count(None).unwrap(), n);
    clock.advance(Duration::from_secs(31 * 60)).unwrap();
    let swept = std::thread::scope(|s| {
        let ha = s.spawn(|| a.sweep().unwrap());
        let hb = s.spawn(|| b.sweep().unwrap());
        ha.join().unwrap() + hb.join().unwrap()
    });
    a.close();
    b.close();
    assert_eq!(swept, n, "every departure claimed once");
    let mut ids: Vec<_> = ends_a
        .lock()
        .unwrap()
        .iter()
        .chain(ends_b.lock().unwrap().iter())
        .map(|e| e.session.id)
        .collect();
    assert_eq!(ids.len(), n);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no end reported twice");
}

#[test]
fn an_unreachable_redis_fails_fast_naming_its_address() {
    // A port nothing listens on: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("redis://127.0.0.1:{port}");
    let began = Instant::now();
    let err = RedisStore::connect(&address, "x", 10, 10, Duration::from_millis(200))
        .err()
        .expect("nothing listens there");
    assert!(began.elapsed() < Duration::from_secs(2));
    assert_eq!(err.code(), "STORE_ERROR");
    assert!(err.to_string().contains(&address), "{err}");
}

#[test]
fn an_unreachable_redis_fails_the_build_within_the_store_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("redis://127.0.0.1:{port}");
    let err = Tracker::builder()
        .unsigned_tokens(true)
        .redis(&address)
        .store_timeout(Duration::from_millis(100))
        .build()
        .map(drop)
        .expect_err("nothing listens there");
    assert_eq!(err.code(), "STORE_ERROR");
    assert!(err.to_string().contains(&address), "{err}");
}

#[test]
fn redis_options_out_of_range_are_refused_before_connecting() {
    // Nothing listens on port 1: had the options passed, the error would
    // be STORE_ERROR, not INVALID_ARGUMENT.
    let at = || {
        Tracker::builder()
            .unsigned_tokens(true)
            .redis("redis://127.0.0.1:1")
    };
    let refused = |b: sojourn::TrackerBuilder, what: &str| {
        let err = b.build().map(drop).expect_err(what);
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{what}: {err}");
        assert!(err.to_string().contains(what), "{err}");
    };
    refused(at().key_prefix(""), "key_prefix");
    refused(at().key_prefix("app{1}"), "key_prefix");
    refused(at().key_prefix("a\nb"), "key_prefix");
    refused(at().key_prefix("x".repeat(65)), "key_prefix");
    refused(at().store_timeout(Duration::ZERO), "store_timeout");
    refused(
        Tracker::builder()
            .unsigned_tokens(true)
            .redis_cluster(Vec::<String>::new()),
        "redis_cluster",
    );
    let memory = |c: &Config| Ok(Arc::new(sojourn::MemoryStore::new(c.max_sessions, 1)) as _);
    refused(at().store(memory), "redis");
}

#[test]
fn trackers_under_other_prefixes_share_nothing() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let p = support::unique_prefix("apart");
    let (a, b) = (
        worker(&format!("{p}-a"), &clock, &ends),
        worker(&format!("{p}-b"), &clock, &ends),
    );
    let id = a.start(None, None).unwrap().id;
    assert!(a.exists(id).unwrap());
    assert!(!b.exists(id).unwrap());
    assert!(a.store_is_remote());
}

/// A redis-server of this test's own, on `port`, keeping its data in
/// `dir` with every write fsynced (so a `kill -9` loses nothing it
/// acknowledged).
fn own_server(port: u16, dir: &std::path::Path) -> Server {
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "yes", "--appendfsync", "always"])
        .arg("--dir")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server runs (scripts/with-redis installs it)");
    let server = Server(child);
    let began = Instant::now();
    // Ready when it answers a PING (it may accept before it has loaded).
    let pong = || {
        std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string(), "ping"])
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
    };
    while !pong() {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// A redis-server killed (`kill -9`) when dropped, even by a failing test.
struct Server(std::process::Child);

impl Server {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn a_killed_redis_fails_calls_fast_and_loses_nothing_it_acknowledged() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("sojourn-redis-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = own_server(port, &dir);
    let url = format!("redis://127.0.0.1:{port}");
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let store_url = url.clone();
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .on_warning(|_| {})
        .store(move |c: &Config| {
            let store = RedisStore::connect(
                &store_url,
                "restart",
                c.max_sessions,
                c.max_dormant,
                Duration::from_millis(300),
            )?;
            Ok(Arc::new(store) as Arc<dyn Store>)
        })
        .build()
        .unwrap();
    let id = tracker.start(None, None).unwrap().id;
    for _ in 0..3 {
        tracker.track(id, Kind::View).unwrap();
    }

    server.kill();
    let began = Instant::now();
    let err = tracker.track(id, Kind::View).unwrap_err();
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(err.code(), "STORE_ERROR");
    assert!(err.to_string().contains(&url), "{err}");

    let mut server = own_server(port, &dir);
    // Reconnected by itself; the three acknowledged tracks are there, the
    // failed one is not.
    assert_eq!(tracker.track(id, Kind::View).unwrap().view_sequence, 4);
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_silent_redis_fails_calls_within_the_store_timeout_saying_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("sojourn-silent-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _server = own_server(port, &dir);
    let url = format!("redis://127.0.0.1:{port}");
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .on_warning(|_| {})
        .redis(&url)
        .store_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let id = tracker.start(None, None).unwrap().id;
    let paused = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "client", "pause", "2500", "all"])
        .output()
        .expect("redis-cli runs");
    assert!(paused.status.success());
    let began = Instant::now();
    let err = tracker.track(id, Kind::View).unwrap_err();
    let waited = began.elapsed();
    assert_eq!(err.code(), "STORE_ERROR");
    let text = err.to_string();
    assert!(
        text.contains(&url) && text.contains("no answer within 300ms"),
        "{text}"
    );
    assert!(
        waited >= Duration::from_millis(290) && waited < Duration::from_millis(2400),
        "{waited:?}"
    );
    // Once Redis answers again, so does the tracker. (Whether the call
    // that timed out was applied when Redis woke is the one thing a failed
    // call leaves unknown: docs/redis.md.)
    std::thread::sleep(Duration::from_millis(2600).saturating_sub(began.elapsed()));
    let mut last = tracker.track(id, Kind::View);
    for _ in 0..20 {
        if last.is_ok() {
            break;
        }
        // A busy machine: the server may take a moment to catch up.
        std::thread::sleep(Duration::from_millis(100));
        last = tracker.track(id, Kind::View);
    }
    assert!(last.is_ok(), "{last:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_redis_password_shows_in_no_error_and_no_debug() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://app:hunter2-secret@127.0.0.1:{port}/0");
    let builder = Tracker::builder().unsigned_tokens(true).redis(&url);
    let shown = format!("{:?}", builder.config());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains(&format!("redis://app:***@127.0.0.1:{port}/0")),
        "{shown}"
    );
    let err = builder
        .build()
        .map(drop)
        .expect_err("nothing listens there");
    assert_eq!(err.code(), "STORE_ERROR");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains(&format!("redis://app:***@127.0.0.1:{port}/0")),
        "{text}"
    );

    let cluster = Tracker::builder()
        .unsigned_tokens(true)
        .redis_cluster([format!("redis://:hunter2@127.0.0.1:{port}")]);
    assert!(!format!("{:?}", cluster.config()).contains("hunter2"));
    let err = cluster
        .build()
        .map(drop)
        .expect_err("nothing listens there");
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}

#[test]
fn a_url_that_is_not_a_redis_url_is_an_invalid_argument() {
    for (builder, what) in [
        (Tracker::builder().redis("nonsense:hunter2"), "redis"),
        (
            Tracker::builder().redis_cluster(["http://:hunter2@x"]),
            "redis_cluster",
        ),
    ] {
        let err = builder
            .unsigned_tokens(true)
            .build()
            .map(drop)
            .expect_err("not a URL");
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
        assert!(err.to_string().contains(what), "{err}");
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    }
}
