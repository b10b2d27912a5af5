//! `redis`: four OS processes share 1,000 sessions on one Redis for ten
//! minutes (at scale 1), while the Redis server is restarted twice: once
//! killed (`kill -9`), once shut down (`SHUTDOWN`), each time started
//! again on its append-only file (`appendfsync always`, as
//! `docs/redis.md` requires for its exactly-once promise) after an
//! outage. The sessions idle out (3 s) as the processes' hot window moves
//! on, are evicted (`max_sessions` 400, under the 500 of the window), and
//! are revived when the window comes back.
//!
//! Checked: every call returns within 3 s (no hang) and fails, when it
//! fails, with `STORE_ERROR` alone (no panic, no other error); no process
//! dies. After the run, per session: no tick was seen twice, none above
//! the session's final counter, and the ticks the final counter holds
//! beyond those seen are at most the calls of that session that failed
//! (the one documented case: a reply lost after Redis applied the write).
//! No life of a session was reported twice; the lives whose end nobody
//! reported (a sweep's reply lost the same way) are counted and bounded.
//!
//! Run it with `STRESS_SCALE` (the duration is 600 s times it, at least
//! 8 s); it starts its own redis-server on a free port, so it needs
//! `redis-server` and `redis-cli` on the PATH, not scripts/with-redis.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sojourn::{EndReason, Error, Hints, Kind, SessionId, Tracker, TrackerBuilder};
use sojourn_stress::{Failures, Rng, scaled_duration, thousands};

fn processes() -> usize {
    std::env::var("STRESS_REDIS_PROCESSES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}
const POOL: usize = 1_000;
const WINDOW: u64 = 500;
const STEP: usize = 100;
const IDLE: Duration = Duration::from_secs(3);
const HANG: Duration = Duration::from_secs(3);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        worker(&args[2], &args[3], Path::new(&args[4]), &args[5], &args[6]);
    } else {
        parent();
    }
}

/// Every process's tracker: the same options on one prefix.
fn builder(url: &str, prefix: &str) -> TrackerBuilder {
    Tracker::builder()
        .unsigned_tokens(true)
        .redis(url)
        .key_prefix(prefix)
        .idle_timeout(IDLE)
        .max_sessions(400)
        .store_timeout(Duration::from_millis(250))
        .close_timeout(Duration::from_secs(30))
        .sweep_interval(Duration::from_millis(100))
        .on_warning(|_| {})
}

/// The ends a process's `on_end` got: id, revivals, views, events, reason.
type Ends = Arc<Mutex<Vec<(SessionId, u32, u64, u64, EndReason)>>>;

fn end_sink(ends: &Ends) -> impl Fn(sojourn::SessionEnd) + Send + Sync + 'static {
    let ends = Arc::clone(ends);
    move |end| {
        let s = &end.session;
        ends.lock().unwrap().push((
            s.id,
            s.revivals,
            s.view_sequence,
            s.event_sequence,
            end.reason,
        ));
    }
}

fn worker(url: &str, prefix: &str, ids_file: &Path, duration_ms: &str, out: &str) {
    let ids: Vec<SessionId> = fs::read_to_string(ids_file)
        .unwrap()
        .lines()
        .map(|l| SessionId::parse(l).unwrap())
        .collect();
    let index: HashMap<SessionId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let ends: Ends = Arc::default();
    let tracker = builder(url, prefix)
        .on_end(end_sink(&ends))
        .build()
        .unwrap();
    let duration = Duration::from_millis(duration_ms.parse().unwrap());
    let mut rng = Rng::new(u64::from(std::process::id()));
    let mut out = BufWriter::new(fs::File::create(out).unwrap());
    let (mut calls, mut errors, mut hangs, mut revived, mut other) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut slowest = Duration::ZERO;
    let began = Instant::now();
    while began.elapsed() < duration {
        let phase = (began.elapsed().as_millis() / 2_000) as usize;
        let idx = (phase * STEP + rng.below(WINDOW) as usize) % POOL;
        let id = ids[idx];
        let kind = if rng.below(3) == 0 {
            Kind::Event
        } else {
            Kind::View
        };
        let t = Instant::now();
        let result = tracker.track(id, kind);
        let mut took = t.elapsed();
        calls += 1;
        let failed = match result {
            Ok(tick) => {
                writeln!(out, "T {idx} {}", tick.sequence).unwrap();
                None
            }
            Err(Error::SessionNotFound { .. }) => {
                let t = Instant::now();
                let again = tracker.revive(id, Hints::default());
                took = took.max(t.elapsed());
                calls += 1;
                match again {
                    Ok(_) => {
                        revived += 1;
                        None
                    }
                    Err(e) => Some(e),
                }
            }
            Err(e) => {
                // The tick may have been counted (a lost reply).
                writeln!(out, "E {idx}").unwrap();
                Some(e)
            }
        };
        slowest = slowest.max(took);
        if took > HANG {
            hangs += 1;
        }
        if let Some(e) = failed {
            if e.code() == "STORE_ERROR" {
                errors += 1;
                std::thread::sleep(Duration::from_millis(5));
            } else {
                other += 1;
                eprintln!("redis worker: {e}");
            }
        }
    }
    let dropped = tracker.close();
    for (id, revivals, views, events, reason) in ends.lock().unwrap().iter() {
        let idx = index[id];
        writeln!(out, "X {idx} {revivals} {views} {events} {reason}").unwrap();
    }
    writeln!(
        out,
        "S {calls} {errors} {hangs} {revived} {other} {dropped} {}",
        slowest.as_millis()
    )
    .unwrap();
    out.flush().unwrap();
}

/// `f` until it does not fail with `STORE_ERROR` (ten tries).
fn retry<T>(mut f: impl FnMut() -> sojourn::Result<T>) -> T {
    for _ in 0..9 {
        match f() {
            Err(e) if e.code() == "STORE_ERROR" => {
                eprintln!("stress redis: {e}; again");
                std::thread::sleep(Duration::from_secs(1));
            }
            other => return other.unwrap(),
        }
    }
    f().unwrap()
}

/// A redis-server of this check's own, its writes fsynced to its
/// append-only file in `dir`.
fn own_server(port: u16, dir: &Path) -> Child {
    let child = Command::new("redis-server")
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
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on the PATH");
    let began = Instant::now();
    while !Command::new("redis-cli")
        .args(["-p", &port.to_string(), "ping"])
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
    {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn parent() {
    let duration = scaled_duration(Duration::from_secs(600), Duration::from_secs(8));
    let outage = (duration / 10).min(Duration::from_secs(2));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("sojourn-stress-redis-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let mut server = own_server(port, &dir);
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = format!("stress-{}", std::process::id());

    // Starting the pool evicts most of it at once (400 live at most):
    // those ends count too.
    let ends: Ends = Arc::default();
    let starter = builder(&url, &prefix)
        .sweep_interval(Duration::ZERO)
        .on_end(end_sink(&ends))
        .build()
        .unwrap();
    let ids: Vec<SessionId> = (0..POOL)
        .map(|_| starter.start(None, None).unwrap().id)
        .collect();
    let ids_file = dir.join("ids");
    fs::write(
        &ids_file,
        ids.iter().map(|id| format!("{id}\n")).collect::<String>(),
    )
    .unwrap();

    let exe = std::env::current_exe().unwrap();
    let outs: Vec<PathBuf> = (0..processes())
        .map(|i| dir.join(format!("w{i}.out")))
        .collect();
    let mut children: Vec<Child> = outs
        .iter()
        .map(|out| {
            Command::new(&exe)
                .arg("worker")
                .arg(&url)
                .arg(&prefix)
                .arg(&ids_file)
                .arg(duration.as_millis().to_string())
                .arg(out)
                .spawn()
                .unwrap()
        })
        .collect();

    let began = Instant::now();
    let mut restarts = 0;
    let mut disruptions = 0;
    // STRESS_REDIS_RESTARTS: how Redis is stopped each time ("kill" for
    // kill -9, "shutdown"), comma-separated; "kill,shutdown" by default.
    let plan =
        std::env::var("STRESS_REDIS_RESTARTS").unwrap_or_else(|_| "kill,shutdown".to_owned());
    let planned: Vec<&str> = plan.split(',').filter(|s| !s.is_empty()).collect();
    for (i, how) in planned.iter().enumerate() {
        let at = duration * (i as u32 + 1) / (planned.len() as u32 + 1);
        std::thread::sleep(at.saturating_sub(began.elapsed()));
        let dbsize = || {
            Command::new("redis-cli")
                .args(["-p", &port.to_string(), "dbsize"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        let keys_before = dbsize();
        let stopped = Instant::now();
        let cli = |args: &[&str]| {
            let _ = Command::new("redis-cli")
                .args(["-p", &port.to_string()])
                .args(args)
                .output();
        };
        disruptions += if *how == "drop" {
            (outage.as_millis() / 50) as usize
        } else {
            1
        };
        match *how {
            "kill" => server.kill().unwrap(),
            "shutdown" => cli(&["shutdown"]),
            // The connections dropped, the server kept: for telling a
            // restart's effects from a dropped connection's.
            "drop" => {
                for _ in 0..(outage.as_millis() / 50) {
                    cli(&["client", "kill", "type", "normal"]);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            // No restart: the processes stopped (SIGSTOP) past the idle
            // timeout, then let go at once.
            "pause" => {
                let signal = |sig: &str| {
                    for child in &children {
                        let _ = Command::new("kill")
                            .args([sig, &child.id().to_string()])
                            .status();
                    }
                };
                signal("-STOP");
                std::thread::sleep(IDLE + outage);
                signal("-CONT");
            }
            other => panic!("STRESS_REDIS_RESTARTS: {other:?}"),
        }
        if *how == "kill" || *how == "shutdown" {
            server.wait().unwrap();
            std::thread::sleep(outage);
            server = own_server(port, &dir);
        }
        restarts += 1;
        eprintln!(
            "stress redis: restart {restarts} ({how}) at {:.1}s, answering again after {:.1}s: \
             {keys_before} keys before, {} after",
            began.elapsed().as_secs_f64(),
            stopped.elapsed().as_secs_f64(),
            dbsize()
        );
    }

    let mut failures = Failures::default();
    let limit = duration + Duration::from_secs(60);
    for (i, child) in children.iter_mut().enumerate() {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                failures.check(status.success(), || format!("process {i}: {status}"));
                break;
            }
            if began.elapsed() > limit {
                let _ = child.kill();
                failures.fail(format!("process {i} still running after {limit:?}"));
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let elapsed = began.elapsed();

    // The last lives: those due are swept, the rest ended. Redis may
    // still be slow here (rewriting its append-only file): a longer
    // timeout, and a call that times out is made again (a failed call
    // changed nothing, or, its reply lost, what the next one finds).
    let last = builder(&url, &prefix)
        .sweep_interval(Duration::ZERO)
        .store_timeout(Duration::from_secs(5))
        .on_end(end_sink(&ends))
        .build()
        .unwrap();
    retry(|| last.sweep());
    // Each session's counters as Redis holds them: every one brought
    // back (a revival keeps its counters), then ended.
    let finals: Vec<(u32, u64)> = ids
        .iter()
        .map(|&id| {
            let s = retry(|| last.revive(id, Hints::default()));
            (s.revivals, s.sequence)
        })
        .collect();
    retry(|| last.end_all());
    failures.check(last.close() == 0, || {
        "ends dropped at the last close".to_owned()
    });
    let stats_redis = last.stats().unwrap();
    failures.check(starter.close() == 0, || {
        "ends dropped by the starter".to_owned()
    });

    // Gather what the processes saw.
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); POOL];
    let mut failed_calls = vec![0u64; POOL];
    let index: HashMap<SessionId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut all_ends: Vec<(usize, u32, u64, u64, EndReason)> = ends
        .lock()
        .unwrap()
        .iter()
        .map(|&(id, r, v, e, why)| (index[&id], r, v, e, why))
        .collect();
    let from_parent = all_ends.len();
    let (mut calls, mut errors, mut hangs, mut revived, mut other, mut dropped, mut slowest) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut stats_lines = 0;
    for out in &outs {
        let Ok(file) = fs::File::open(out) else {
            failures.fail(format!("{} missing", out.display()));
            continue;
        };
        for line in BufReader::new(file).lines() {
            let line = line.unwrap();
            let f: Vec<&str> = line.split(' ').collect();
            let n = |i: usize| f[i].parse::<u64>().unwrap();
            match f[0] {
                "T" => seen[n(1) as usize].push(n(2) as u32),
                "E" => failed_calls[n(1) as usize] += 1,
                "X" => {
                    let reason = match f[5] {
                        "idle" => EndReason::Idle,
                        "evicted" => EndReason::Evicted,
                        "ended" => EndReason::Ended,
                        _ => EndReason::Lifetime,
                    };
                    all_ends.push((n(1) as usize, n(2) as u32, n(3), n(4), reason));
                }
                "S" => {
                    stats_lines += 1;
                    calls += n(1);
                    errors += n(2);
                    hangs += n(3);
                    revived += n(4);
                    other += n(5);
                    dropped += n(6);
                    slowest = slowest.max(n(7));
                }
                _ => failures.fail(format!("a line {line:?}")),
            }
        }
    }
    failures.check(stats_lines == processes(), || {
        format!("{stats_lines} processes finished")
    });
    failures.check(hangs == 0, || format!("{hangs} calls took over {HANG:?}"));
    failures.check(other == 0, || {
        format!("{other} errors other than STORE_ERROR")
    });
    failures.check(dropped == 0, || format!("{dropped} ends dropped"));
    failures.check(errors > 0 || planned.is_empty(), || {
        "no call failed: did the restarts happen?".to_owned()
    });

    // Per session: its lives' ends, and its ticks.
    let mut lives: Vec<HashMap<u32, u32>> = vec![HashMap::new(); POOL];
    let mut by_reason: HashMap<EndReason, u64> = HashMap::new();
    for &(idx, revivals, _, _, reason) in &all_ends {
        *lives[idx].entry(revivals).or_default() += 1;
        *by_reason.entry(reason).or_default() += 1;
    }
    let (mut repeated, mut unreported, mut expected_ends) = (0u64, 0u64, 0u64);
    let (mut checked, mut unseen, mut uncertain) = (0u64, 0u64, 0u64);
    for idx in 0..POOL {
        let (last_life, total) = finals[idx];
        expected_ends += u64::from(last_life) + 1;
        for r in 0..=last_life {
            match lives[idx].get(&r).copied().unwrap_or(0) {
                0 => unreported += 1,
                1 => {}
                n => {
                    repeated += 1;
                    let its: Vec<_> = all_ends
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.0 == idx)
                        .map(|(i, e)| {
                            (
                                e.1,
                                e.2,
                                e.3,
                                e.4,
                                if i < from_parent { "parent" } else { "worker" },
                            )
                        })
                        .collect();
                    failures.fail(format!(
                        "{}: life {r} reported {n} times; its ends (revivals, views, events, reason): {its:?}",
                        ids[idx]
                    ));
                }
            }
        }
        let got = &mut seen[idx];
        got.sort_unstable();
        checked += got.len() as u64;
        let twice = got.windows(2).filter(|w| w[0] == w[1]).count();
        failures.check(twice == 0, || {
            format!("{}: {twice} ticks seen twice", ids[idx])
        });
        let above = got.iter().filter(|&&q| u64::from(q) > total).count();
        failures.check(above == 0, || {
            format!(
                "{}: {above} ticks seen above its final counter {total}",
                ids[idx]
            )
        });
        let not_seen = total.saturating_sub(got.len() as u64);
        unseen += not_seen;
        uncertain += failed_calls[idx];
        failures.check(not_seen <= failed_calls[idx], || {
            format!(
                "{}: counter {total}, {} ticks seen, only {} calls failed",
                ids[idx],
                got.len(),
                failed_calls[idx]
            )
        });
    }
    // A sweep whose reply was lost moved a session to dormant unreported:
    // at most a few a disruption, each process's in-flight calls.
    let bound = (disruptions * processes() * 4) as u64;
    failures.check(unreported <= bound, || {
        format!("{unreported} lives ended unreported (bound {bound})")
    });
    let _ = fs::remove_dir_all(&dir);
    let _ = server.kill();
    let _ = server.wait();

    let get = |r| by_reason.get(&r).copied().unwrap_or(0);
    let figures = format!(
        "processes={} sessions={POOL} for {:.0}s, restarts={restarts} ({plan}; outage {:.1}s each); \
         calls={} ops/s={} store errors={errors} other errors={other} hangs={hangs} slowest call {slowest} ms; \
         ticks checked={} (counted unseen {unseen}, failed track calls {uncertain}); revivals={}; \
         departures delivered/expected={}/{} (repeated {repeated}, unreported {unreported}; idle={} evicted={} ended={}); \
         live at the end {}",
        processes(),
        elapsed.as_secs_f64(),
        outage.as_secs_f64(),
        thousands(calls),
        thousands((calls as f64 / elapsed.as_secs_f64()) as u64),
        thousands(checked),
        thousands(revived),
        thousands(all_ends.len() as u64),
        thousands(expected_ends),
        thousands(get(EndReason::Idle)),
        thousands(get(EndReason::Evicted)),
        thousands(get(EndReason::Ended)),
        stats_redis.live,
    );
    failures.finish("redis", &figures);
}
