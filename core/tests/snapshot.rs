//! Snapshots through the tracker: what one process saves, the next one
//! loads, with its users, attributes and counters; what idled out while
//! no process ran ends once, at its deadline; a bad file fails `build`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sojourn::snapshot::SnapshotKey;
use sojourn::{AttrValue, EndReason, Kind, MockClock, SessionEnd, Tracker, TrackerBuilder};

const EPOCH_MS: i64 = 1_767_225_600_000;
const MINUTE: Duration = Duration::from_secs(60);

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sojourn-snapshots-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn builder(clock: &MockClock, ends: &Arc<Mutex<Vec<SessionEnd>>>) -> TrackerBuilder {
    let sink = Arc::clone(ends);
    Tracker::builder()
        .unsigned_tokens(true)
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .idle_timeout(30 * MINUTE)
        .on_end(move |end| sink.lock().unwrap().push(end))
}

#[test]
fn a_restart_keeps_sessions_and_ends_what_idled_out_meanwhile() {
    let dir = folder("restart");
    let path = dir.join("sessions.snap");
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let first = builder(&clock, &ends).build().unwrap();
    let attrs = [("entry_page".to_owned(), AttrValue::from("/pricing"))].into();
    let kept = first.start(Some("ann"), Some(attrs)).unwrap().id;
    first.track(kept, Kind::View).unwrap();
    let idle = first.start(None, None).unwrap().id;
    let gone = first.start(Some("bob"), None).unwrap().id;
    first.end(gone).unwrap().expect("live");
    clock.advance(20 * MINUTE).unwrap();
    first.track(kept, Kind::Event).unwrap();
    let counts = first.save(&path).unwrap();
    assert_eq!((counts.live, counts.dormant), (2, 1));
    first.close();
    drop(first);
    ends.lock().unwrap().clear();

    // Down for 15 minutes: `idle` (35 min without activity) ran out.
    clock.advance(15 * MINUTE).unwrap();
    let second = builder(&clock, &ends).load(&path).build().unwrap();
    let s = second.get(kept).unwrap().expect("kept live");
    assert_eq!(s.user_id.as_deref(), Some("ann"));
    assert_eq!(
        s.attrs.get("entry_page"),
        Some(&AttrValue::from("/pricing"))
    );
    assert_eq!((s.view_sequence, s.event_sequence), (1, 1));
    assert_eq!(second.track(kept, Kind::View).unwrap().view_sequence, 2);
    assert_eq!(
        second.count(Some("ann")).unwrap(),
        1,
        "the user index is rebuilt"
    );
    assert!(second.get(idle).unwrap().is_none());
    let stats = second.stats().unwrap();
    assert_eq!(stats.loaded, 3, "{stats:?}");
    assert_eq!((stats.live, stats.dormant, stats.ended.idle), (1, 2, 1));
    second.close();
    let ended = ends.lock().unwrap().clone();
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(
        (ended[0].session.id, ended[0].reason),
        (idle, EndReason::Idle)
    );
    assert_eq!(
        ended[0].ended_at.timestamp_millis(),
        EPOCH_MS + 30 * 60_000,
        "ended at its deadline, not at the load"
    );
    // The ended session is remembered, and not revivable.
    assert!(second.revive(gone, Default::default()).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn loading_into_fewer_places_evicts_as_the_bound_says() {
    let dir = folder("smaller");
    let path = dir.join("s.snap");
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let first = builder(&clock, &ends).build().unwrap();
    let ids: Vec<_> = (0..10)
        .map(|_| {
            clock.advance(Duration::from_secs(1)).unwrap();
            first.start(None, None).unwrap().id
        })
        .collect();
    first.save(&path).unwrap();
    let second = builder(&clock, &ends)
        .max_sessions(4)
        .load(&path)
        .build()
        .unwrap();
    assert_eq!(second.len().unwrap(), 4);
    // The four closest to expiry went last: the four started last stay.
    for id in &ids[6..] {
        assert!(second.exists(*id).unwrap());
    }
    second.close();
    let ended = ends.lock().unwrap();
    assert_eq!(ended.len(), 6, "each one pushed out is reported");
    assert!(
        ended
            .iter()
            .all(|e| e.reason == EndReason::Evicted && ids[..6].contains(&e.session.id))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_large_load_into_fewer_places_keeps_the_latest() {
    // Enough sessions for the memory store to load on several threads,
    // shard by shard: each shard must still keep its latest.
    let dir = folder("smaller-large");
    let path = dir.join("s.snap");
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let first = builder(&clock, &ends).build().unwrap();
    let older: Vec<_> = (0..30_000)
        .map(|_| first.start(None, None).unwrap().id)
        .collect();
    clock.advance(Duration::from_secs(60)).unwrap();
    let newer: Vec<_> = (0..20_000)
        .map(|_| first.start(None, None).unwrap().id)
        .collect();
    first.save(&path).unwrap();
    let second = builder(&clock, &ends)
        .max_sessions(25_000)
        .load(&path)
        .build()
        .unwrap();
    let held = second.len().unwrap();
    assert!((20_000..=25_000).contains(&held), "{held}");
    // Every shard keeps its share of the bound, latest first: a newer
    // session goes only if its own shard had more newer ones than room.
    // (Nothing lost or doubled by the threads: held + evicted = saved.)
    let newer_kept = newer
        .iter()
        .filter(|id| second.exists(**id).unwrap())
        .count();
    let older_kept = older
        .iter()
        .filter(|id| second.exists(**id).unwrap())
        .count();
    assert!(newer_kept >= 19_500, "{newer_kept} of the newer kept");
    assert_eq!(newer_kept + older_kept, held);
    assert_eq!(second.stats().unwrap().ended.evicted, 50_000 - held as u64);
    second.close();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_or_wrongly_keyed_file_fails_the_build_naming_it() {
    let dir = folder("bad");
    let path = dir.join("s.snap");
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let key = SnapshotKey::new(&[7; 32]).unwrap();
    let first = builder(&clock, &ends)
        .snapshot_key(key.clone())
        .build()
        .unwrap();
    first.start(Some("ann"), None).unwrap();
    first.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        !bytes.windows(3).any(|w| w == b"ann"),
        "encrypted: the user id is not in the file"
    );
    let refused = |b: TrackerBuilder, what: &str| {
        let err = b.build().map(drop).expect_err(what);
        assert_eq!(err.code(), "SNAPSHOT_ERROR", "{what}: {err}");
        assert!(err.to_string().contains("s.snap"), "{err}");
        assert!(err.to_string().contains(what), "{err}");
    };
    let wrong = SnapshotKey::new(&[8; 32]).unwrap();
    refused(
        builder(&clock, &ends).load(&path).snapshot_key(wrong),
        "wrong key",
    );
    refused(builder(&clock, &ends).load(&path), "no snapshot key");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    refused(
        builder(&clock, &ends).load(&path).snapshot_key(key.clone()),
        "truncated",
    );
    std::fs::write(&path, b"not a snapshot at all").unwrap();
    refused(
        builder(&clock, &ends).load(&path).snapshot_key(key),
        "not a Sojourn snapshot",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The child side of the test below: saves `path` over and over until
/// killed.
fn keep_saving(path: &std::path::Path) -> ! {
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap();
    let mut round = 0u32;
    loop {
        // Each save differs from the last: one more session each round.
        for _ in 0..if round == 0 { 30_000 } else { 1 } {
            tracker.start(Some("ann"), None).unwrap();
        }
        tracker.save(path).unwrap();
        println!("saved");
        round += 1;
    }
}

#[test]
fn a_kill_at_any_moment_of_a_save_leaves_the_previous_snapshot_whole() {
    const NAME: &str = "a_kill_at_any_moment_of_a_save_leaves_the_previous_snapshot_whole";
    if let Some(path) = std::env::var_os("SOJOURN_KEEP_SAVING") {
        keep_saving(std::path::Path::new(&path));
    }
    let dir = folder("kill");
    let path = dir.join("s.snap");
    let mut seen = 0;
    for round in 0..12u64 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture", "--test-threads", "1"])
            .env("SOJOURN_KEEP_SAVING", &path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for a first save, then kill at a moment that varies.
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.starts_with("saved") {
            line.clear();
            assert!(
                std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0,
                "the saver died"
            );
        }
        std::thread::sleep(Duration::from_millis(3 + (round * 37) % 90));
        child.kill().unwrap();
        child.wait().unwrap();
        // Whatever the moment, the file in place loads whole.
        let loaded = Tracker::builder()
            .unsigned_tokens(true)
            .sweep_interval(Duration::ZERO)
            .load(&path)
            .build()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let n = loaded.count(Some("ann")).unwrap();
        assert!(n >= 30_000, "round {round}: {n}");
        seen += 1;
    }
    assert_eq!(seen, 12);
    // What killed saves left is removed by the next save.
    let last = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap();
    last.save(&path).unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, [std::ffi::OsString::from("s.snap")]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tracker_with_a_snapshot_saves_it_on_close_and_on_its_interval() {
    let dir = folder("own");
    let path = dir.join("own.snap");
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    // No file yet: the tracker starts empty.
    let first = builder(&clock, &ends).snapshot(&path).build().unwrap();
    let id = first.start(Some("ann"), None).unwrap().id;
    first.close();
    drop(first);
    let second = builder(&clock, &ends).snapshot(&path).build().unwrap();
    assert_eq!(
        second.get(id).unwrap().unwrap().user_id.as_deref(),
        Some("ann")
    );
    drop(second);

    // With a driver, saved without a close.
    let third = builder(&clock, &ends)
        .sweep_interval(Duration::from_millis(5))
        .snapshot(&path)
        .snapshot_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let later = third.start(Some("bob"), None).unwrap().id;
    let began = std::time::Instant::now();
    let saved = loop {
        let reader = builder(&clock, &ends).load(&path).build().unwrap();
        if reader.exists(later).unwrap() {
            break true;
        }
        if began.elapsed() > Duration::from_secs(10) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(saved, "the driver saved the new session");
    // A child after fork neither loads nor saves the parent's file.
    let child = third.forked().unwrap();
    assert!(!child.exists(later).unwrap(), "the child starts empty");
    let before = std::fs::read(&path).unwrap();
    child.start(None, None).unwrap();
    child.close();
    drop(child);
    let reader = builder(&clock, &ends).load(&path).build().unwrap();
    assert!(
        reader.exists(later).unwrap(),
        "the parent's file is the parent's"
    );
    assert!(std::fs::read(&path).unwrap().len() >= before.len() / 2);
    third.close();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_snapshot_that_cannot_be_saved_is_warned_once() {
    let dir = folder("unsaved");
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let ends = Arc::new(Mutex::new(Vec::new()));
    let warned = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&warned);
    let tracker = builder(&clock, &ends)
        .snapshot(dir.join("no-such-folder").join("s.snap"))
        .on_warning(move |w| sink.lock().unwrap().push(w.code))
        .build()
        .unwrap();
    tracker.start(None, None).unwrap();
    tracker.close();
    tracker.close();
    assert_eq!(
        *warned.lock().unwrap(),
        ["SNAPSHOT_ERROR"],
        "once, not at each close"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
