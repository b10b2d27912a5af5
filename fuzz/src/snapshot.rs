//! Snapshot files as a disk hands them over: any bytes, or a real
//! snapshot with bytes changed, loaded with and without a key. A file
//! loads whole, or is refused with `SNAPSHOT_ERROR` and nothing loaded;
//! what loads saves and loads again the same.
//!
//! Under `cargo fuzz` (`cfg(fuzzing)`) the loader skips its frames'
//! checksums, so that changed bytes reach the decompressor and the
//! records' decoder instead of stopping at the checksum.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Unstructured;
use sojourn::snapshot::SnapshotKey;
use sojourn::{AttrValue, Attrs, Hints, Kind, MockClock, SessionId, Tracker};

use crate::{EPOCH_MS, SECRETS};

const KEY: [u8; 32] = *b"the fuzz targets' snapshot key!!";

/// A folder of this process's own, in memory where there is one.
fn folder() -> &'static PathBuf {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("sojourn-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn builder(key: bool) -> sojourn::TrackerBuilder {
    let b = Tracker::builder()
        .clock(MockClock::new(EPOCH_MS).unwrap())
        .sweep_interval(Duration::ZERO)
        .secret(SECRETS[0])
        .max_sessions(1_000)
        .max_dormant(1_000);
    if key {
        b.snapshot_key(SnapshotKey::new(&KEY).unwrap())
    } else {
        b
    }
}

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let keyed: bool = u.arbitrary().unwrap_or(false);
    let made: bool = u.arbitrary().unwrap_or(false);
    let file = folder().join("in.snap");
    let bytes = if made {
        let mut bytes = real_snapshot(&mut u, keyed, &file);
        // Change a few bytes, then maybe cut it short.
        for _ in 0..u.int_in_range(0..=8u8).unwrap_or(0) {
            if bytes.is_empty() {
                break;
            }
            let at = u.choose_index(bytes.len()).unwrap_or(0);
            bytes[at] = u.arbitrary().unwrap_or(0);
        }
        if u.arbitrary().unwrap_or(false) {
            let keep = u.choose_index(bytes.len() + 1).unwrap_or(0);
            bytes.truncate(keep);
        }
        bytes
    } else {
        u.take_rest().to_vec()
    };
    std::fs::write(&file, &bytes).unwrap();
    let loaded = match builder(keyed).load(&file).build() {
        Ok(t) => t,
        Err(e) => {
            assert_eq!(e.code(), "SNAPSHOT_ERROR", "{e}");
            return;
        }
    };
    let mut before = sessions(&loaded);
    for s in &before {
        assert_eq!(s.1 + s.2, s.3, "sequence is the sum of the counters");
    }
    assert!(before.len() <= 1_000);

    // What loaded saves, and loads back the same.
    let out = folder().join("out.snap");
    loaded.save(&out).expect("a loaded tracker saves");
    let again = builder(keyed)
        .load(&out)
        .build()
        .expect("its own file loads");
    let mut after = sessions(&again);
    before.sort();
    after.sort();
    assert_eq!(before, after);
}

/// The live sessions' ids and counters.
fn sessions(t: &Tracker) -> Vec<(SessionId, u64, u64, u64)> {
    t.sessions(None)
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.view_sequence, s.event_sequence, s.sequence))
        .collect()
}

/// The bytes of a snapshot saved from sessions the fuzzer chose.
fn real_snapshot(u: &mut Unstructured<'_>, keyed: bool, file: &PathBuf) -> Vec<u8> {
    let t = builder(keyed).build().unwrap();
    for _ in 0..u.int_in_range(0..=20u8).unwrap_or(0) {
        let user: Option<String> = u.arbitrary().unwrap_or_default();
        let key: String = u.arbitrary().unwrap_or_default();
        let value: String = u.arbitrary().unwrap_or_default();
        let attrs = Attrs::from([(key, AttrValue::from(value))]);
        let hints = Hints {
            user_id: user,
            attrs: Some(attrs),
            view_sequence: u.int_in_range(0..=1_000).unwrap_or(0),
            event_sequence: u.int_in_range(0..=1_000).unwrap_or(0),
        };
        let Ok((s, _)) = t.resume(None, hints) else {
            continue;
        };
        let _ = t.track(s.id, Kind::View);
        if u.arbitrary().unwrap_or(false) {
            let _ = t.end(s.id);
        }
    }
    t.save(file).unwrap();
    std::fs::read(file).unwrap()
}
