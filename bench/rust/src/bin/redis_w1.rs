//! Replays the start of W1 on Redis, from one process or several, and
//! prints one JSON line.
//!
//!     redis_w1 WORKLOAD CONTENDER URL [--ops N] [--prestart P]
//!              [--processes K] [--runs R]
//!
//! CONTENDER is `sojourn` (the tracker on the Redis store) or `plain` (the
//! `redis` client as a user would use it: `bench/rust/src/peers`). The
//! sessions are made before the clock runs under ids every process
//! derives alike, so that K processes share them; each process then
//! replays its K-th of the operations, and the figure is all operations
//! over the time from the first process's start to the last one's end.

use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sojourn_bench::peers::{PlainRedisPeer, sojourn_redis};
use sojourn_bench::replay::{Contender, Prepared, replay};
use sojourn_bench::workload::{Op, Workload};

fn flag(args: &[String], name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

/// The i-th prestarted session's id: a uuid4 every process derives alike.
fn derived(i: usize) -> u128 {
    let mut x = (i as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834);
    x ^= x >> 67;
    (x & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62)
}

fn epoch_ns(at: Instant) -> u128 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    now.as_nanos() - Instant::now().duration_since(at).as_nanos()
}

/// The workload cut to its first `ops` operations and `prestart` sessions.
fn cut(mut w: Workload, ops: usize, prestart: usize) -> Workload {
    let ops = ops.min(w.ops.len());
    let revives = w.ops[..ops].iter().filter(|&&o| o == Op::Revive).count();
    w.ops.truncate(ops);
    w.target.truncate(ops);
    w.user.truncate(ops);
    w.revives.truncate(revives);
    w.prestart = prestart.min(w.prestart);
    w
}

/// The prestarted ids and the revive keys, made in Redis when `create`.
fn prepare<C: Contender<Id = K, Key = K>, K: Clone>(
    c: &C,
    w: &Workload,
    create: bool,
) -> Prepared<C> {
    let prestarted = (0..w.prestart)
        .map(|i| {
            let key = c.key(derived(i));
            if create { c.revive(&key) } else { key }
        })
        .collect();
    let keys = w.revives.iter().map(|&u| c.key(u)).collect();
    Prepared { prestarted, keys }
}

/// One process's share: returns its span in Unix nanoseconds.
fn part<C: Contender<Id = K, Key = K>, K: Clone>(
    c: &C,
    w: &Workload,
    k: usize,
    n: usize,
) -> (u128, u128) {
    let p = prepare(c, w, false);
    let chunk = w.ops.len().div_ceil(n);
    let range = k * chunk..((k + 1) * chunk).min(w.ops.len());
    let (began, ended) = replay(c, w, &p, range);
    (epoch_ns(began), epoch_ns(ended))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(name), Some(url)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!(
            "usage: redis_w1 WORKLOAD CONTENDER URL [--ops N] [--prestart P] [--processes K] [--runs R]"
        );
        std::process::exit(2);
    };
    let num = |f: &str, d: usize| flag(&args, f).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (ops, prestart, processes, runs) = (
        num("--ops", 20_000),
        num("--prestart", 10_000),
        num("--processes", 1),
        num("--runs", 3),
    );
    let w = cut(
        Workload::load(path).unwrap_or_else(|e| panic!("{e}")),
        ops,
        prestart,
    );
    let with = |prefix: &str, f: &mut dyn FnMut(&dyn Fn(bool) -> (u128, u128))| match name.as_str()
    {
        "sojourn" => {
            let c = sojourn_redis(url, prefix);
            f(&|create| {
                if create {
                    prepare(&c, &w, true);
                    (0, 0)
                } else {
                    part(&c, &w, num("--child", 0), processes)
                }
            })
        }
        "plain" => {
            let c = PlainRedisPeer::connect(url, prefix);
            f(&|create| {
                if create {
                    prepare(&c, &w, true);
                    (0, 0)
                } else {
                    part(&c, &w, num("--child", 0), processes)
                }
            })
        }
        other => panic!("unknown contender {other}"),
    };
    if let Some(prefix) = flag(&args, "--prefix") {
        // A child: replay its share, print its span.
        with(&prefix, &mut |go| {
            let (began, ended) = go(false);
            println!(
                "{}",
                json!({ "began": began.to_string(), "ended": ended.to_string() })
            );
        });
        return;
    }
    let mut figures = Vec::new();
    for run in 0..runs {
        let prefix = format!("w1-{name}-{}-{run}", std::process::id());
        with(&prefix, &mut |go| {
            go(true);
        });
        let children: Vec<_> = (0..processes)
            .map(|k| {
                Command::new(std::env::current_exe().unwrap())
                    .args([path, name, url])
                    .args([
                        "--ops",
                        &ops.to_string(),
                        "--prestart",
                        &prestart.to_string(),
                    ])
                    .args([
                        "--processes",
                        &processes.to_string(),
                        "--child",
                        &k.to_string(),
                    ])
                    .args(["--prefix", &prefix])
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("a replay process")
            })
            .collect();
        let spans: Vec<(u128, u128)> = children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().expect("the replay process ends");
                assert!(out.status.success(), "a replay process failed");
                let v: Value = serde_json::from_slice(&out.stdout).expect("its span");
                let at = |k: &str| v[k].as_str().and_then(|s| s.parse().ok()).unwrap();
                (at("began"), at("ended"))
            })
            .collect();
        let first = spans.iter().map(|s| s.0).min().unwrap();
        let last = spans.iter().map(|s| s.1).max().unwrap();
        figures.push(w.ops.len() as f64 / ((last - first) as f64 / 1e9));
    }
    println!(
        "{}",
        json!({ "contender": name, "processes": processes, "ops": w.ops.len(), "ops_per_sec": figures })
    );
}
