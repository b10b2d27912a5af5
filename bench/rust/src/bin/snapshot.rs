//! Save and load of N sessions (default 1,000,000) on the memory store,
//! plain and encrypted: seconds, file bytes a session, and the peak RSS a
//! save adds over the tracker's own (VmHWM before and after).
//!
//!     snapshot [N] [plain|encrypted|attrs]   (prints one JSON line a mode)
//!
//! `attrs` is plain, with every session holding a user and three
//! attributes (an entry page, a campaign, a flag), as a web app's might.

use std::time::{Duration, Instant};

use serde_json::json;
use sojourn::{AttrValue, Tracker};
use sojourn::snapshot::SnapshotKey;

fn status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("sojourn-snapshot-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let only = std::env::args().nth(2);
    let modes = [
        ("plain", None, false),
        ("encrypted", Some(SnapshotKey::new(&[9; 32]).unwrap()), false),
        ("attrs", None, true),
    ];
    for (mode, key, with_attrs) in modes {
        // One mode a process measures its peak right (`VmHWM` never falls).
        if only.as_deref().is_some_and(|o| o != mode) {
            continue;
        }
        let before = status("VmRSS:");
        let builder = Tracker::builder()
            .unsigned_tokens(true)
            .sweep_interval(Duration::ZERO);
        let tracker = match &key {
            Some(k) => builder.snapshot_key(k.clone()),
            None => builder,
        }
        .build()
        .unwrap();
        for i in 0..n {
            if with_attrs {
                let attrs = [
                    ("entry_page".to_owned(), AttrValue::from(format!("/products/{}", i % 5_000))),
                    ("utm_campaign".to_owned(), AttrValue::from(format!("spring-{}", i % 20))),
                    ("returning".to_owned(), AttrValue::from(i % 2 == 0)),
                ]
                .into();
                let user = format!("user-{}", i % 200_000);
                tracker.start(Some(&user), Some(attrs)).unwrap();
            } else {
                let user = (i % 3 == 0).then(|| format!("user-{}", i % 50_000));
                tracker.start(user.as_deref(), None).unwrap();
            }
        }
        let store_bytes = status("VmRSS:").saturating_sub(before);
        let path = dir.join(format!("{mode}.snap"));
        // The peak of this process so far, then the peak once saved.
        let hwm = status("VmHWM:");
        let began = Instant::now();
        let saved = tracker.save(&path).unwrap();
        eprintln!(
            "{mode}: saved {} live, {} dormant",
            saved.live, saved.dormant
        );
        let save = began.elapsed();
        let extra = status("VmHWM:").saturating_sub(hwm);
        drop(tracker);
        report(mode, n, &path, save, extra, store_bytes, key.as_ref());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn report(
    mode: &str,
    n: usize,
    path: &std::path::Path,
    save: Duration,
    extra: u64,
    store: u64,
    key: Option<&SnapshotKey>,
) {
    let bytes = std::fs::metadata(path).unwrap().len();
    let began = Instant::now();
    let b = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .load(path);
    let b = match key {
        Some(k) => b.snapshot_key(k.clone()),
        None => b,
    };
    let loaded = b.build().unwrap();
    let load = began.elapsed();
    let held = loaded.len().unwrap();
    println!(
        "{}",
        json!({
            "mode": mode, "sessions": n, "save_s": save.as_secs_f64(), "load_s": load.as_secs_f64(),
            "file_bytes_per_session": bytes as f64 / n as f64,
            "save_peak_extra_bytes": extra, "store_bytes": store, "loaded_live": held,
        })
    );
}
