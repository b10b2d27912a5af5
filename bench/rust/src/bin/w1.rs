//! Replays W1 with one contender and prints one JSON line.
//!
//!     w1 WORKLOAD CONTENDER [--threads N] [--runs R] [--memory N]
//!
//! CONTENDER is `sojourn`, `hashmap` or `moka`. With `--memory N` it
//! measures RSS growth per session over N starts instead.

use serde_json::json;
use sojourn_bench::peers::{HashMapPeer, MokaPeer, SojournCore};
use sojourn_bench::replay::{Contender, bytes_per_session, ops_per_sec, ops_per_sec_threads};
use sojourn_bench::workload::Workload;

fn flag(args: &[String], name: &str) -> Option<usize> {
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

fn runs<C: Contender>(make: impl Fn() -> C, w: &Workload, runs: usize) -> Vec<f64> {
    (0..runs).map(|_| ops_per_sec(make(), w)).collect()
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
        ("sojourn", 1) => runs(SojournCore::default, &w, n_runs),
        ("sojourn", t) => (0..n_runs)
            .map(|_| ops_per_sec_threads(SojournCore::default(), &w, t))
            .collect(),
        ("hashmap", 1) => runs(HashMapPeer::default, &w, n_runs),
        ("moka", 1) => runs(MokaPeer::default, &w, n_runs),
        ("moka", t) => (0..n_runs)
            .map(|_| ops_per_sec_threads(MokaPeer::default(), &w, t))
            .collect(),
        (other, t) => panic!("no contender {other} on {t} threads"),
    };
    println!(
        "{}",
        json!({ "contender": name, "threads": threads, "ops_per_sec": ops })
    );
}
