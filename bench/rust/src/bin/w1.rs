//! Replays W1 (or W2, told by the file's magic) with one contender and
//! prints one JSON line.
//!
//!     w1 WORKLOAD CONTENDER [--threads N] [--runs R] [--memory N]
//!
//! CONTENDER is `sojourn`, `hashmap`, `moka` or `moka-tuned`. With
//! `--memory N` it measures RSS growth per session over N starts instead.
//! Given W2's file (`w1 bench/out/w2.bin CONTENDER`), the figure counts the
//! returning visitors' revives with the operations, timed from the first
//! revive.

use serde_json::json;
use sojourn_bench::peers::{HashMapPeer, MokaPeer, MokaTunedPeer, SojournCore};
use sojourn_bench::replay::{
    Contender, bytes_per_session, ops_per_sec, ops_per_sec_threads, w2_ops_per_sec,
    w2_ops_per_sec_threads,
};
use sojourn_bench::workload::Workload;

fn flag(args: &[String], name: &str) -> Option<usize> {
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

/// `runs` replays on one thread, each in a fresh store.
fn one<C: Contender>(make: impl Fn() -> C, w: &Workload, runs: usize) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            if w.is_w2() {
                w2_ops_per_sec(make(), w)
            } else {
                ops_per_sec(make(), w)
            }
        })
        .collect()
}

/// `runs` replays on `threads` threads sharing a fresh store.
fn shared<C>(make: impl Fn() -> C, w: &Workload, threads: usize, runs: usize) -> Vec<f64>
where
    C: Contender + Sync,
    C::Id: Send + Sync,
    C::Key: Sync,
{
    if threads == 1 {
        return one(make, w, runs);
    }
    (0..runs)
        .map(|_| {
            if w.is_w2() {
                w2_ops_per_sec_threads(make(), w, threads)
            } else {
                ops_per_sec_threads(make(), w, threads)
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(name)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: w1 WORKLOAD CONTENDER [--threads N] [--runs R] [--memory N]");
        std::process::exit(2);
    };
    let threads = flag(&args, "--threads").unwrap_or(1);
    let n_runs = flag(&args, "--runs").unwrap_or(5);
    if let Some(n) = flag(&args, "--memory") {
        let bytes = match name.as_str() {
            "sojourn" => bytes_per_session(SojournCore::default(), n),
            "hashmap" => bytes_per_session(HashMapPeer::default(), n),
            "moka" => bytes_per_session(MokaPeer::default(), n),
            "moka-tuned" => bytes_per_session(MokaTunedPeer::default(), n),
            other => panic!("unknown contender {other}"),
        };
        println!(
            "{}",
            json!({ "contender": name, "sessions": n, "bytes_per_session": bytes })
        );
        return;
    }
    let w = Workload::load(path).unwrap_or_else(|e| panic!("{e}"));
    let ops = match (name.as_str(), threads) {
        ("sojourn", t) => shared(SojournCore::default, &w, t, n_runs),
        ("hashmap", 1) => one(HashMapPeer::default, &w, n_runs),
        ("moka", t) => shared(MokaPeer::default, &w, t, n_runs),
        ("moka-tuned", t) => shared(MokaTunedPeer::default, &w, t, n_runs),
        (other, t) => panic!("no contender {other} on {t} threads"),
    };
    let workload = if w.is_w2() { "W2" } else { "W1" };
    println!(
        "{}",
        json!({ "workload": workload, "contender": name, "threads": threads, "ops_per_sec": ops })
    );
}
