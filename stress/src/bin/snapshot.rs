//! `snapshot`: a child process keeps its own snapshot file
//! (`snapshot(path)`, `snapshot_interval` 1 s: the driver saves every
//! second) while two threads start and track sessions (with users and
//! attributes, up to 300,000 live); the parent kills it with SIGKILL at a
//! random moment, 30 times at scale 1, each child loading what the last
//! one left.
//!
//! Checked, after every kill: the snapshot file, if one was ever saved,
//! loads whole (`TrackerBuilder::load`), so the promise holds that a save
//! is atomic: the file is written to a temporary file in the same folder,
//! fsynced, renamed over the previous one, and the folder fsynced, so a
//! `kill -9` at any moment leaves the previous snapshot or the new one,
//! never a mix. Also: the temporary files of killed saves are removed by
//! the next save (`.{name}.{pid}-{salt}.tmp`, their process gone), so at
//! most a killed child's own are ever left.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sojourn::{AttrValue, Attrs, Kind, Tracker};
use sojourn_stress::{Failures, Rng, scaled, thousands};

const MAX_SESSIONS: usize = 300_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(Path::new(&args[2]));
    } else {
        parent();
    }
}

fn builder() -> sojourn::TrackerBuilder {
    Tracker::builder()
        .unsigned_tokens(true)
        .max_sessions(MAX_SESSIONS)
        .on_warning(|w| eprintln!("snapshot child: {}", w.message))
}

fn child(path: &Path) {
    let tracker = builder()
        .snapshot(path)
        .snapshot_interval(Duration::from_secs(1))
        .build()
        .unwrap();
    println!("ready {}", tracker.stats().unwrap().loaded);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let tracker = &tracker;
            s.spawn(move || {
                let mut rng = Rng::new(std::process::id() as u64 * 7 + t);
                let mut ids = Vec::new();
                loop {
                    let mut attrs = Attrs::new();
                    attrs.insert("entry_page".into(), AttrValue::from("/pricing"));
                    attrs.insert("n".into(), AttrValue::from(rng.below(1000) as f64));
                    let user = format!("user-{}", rng.below(50_000));
                    let s = tracker.start(Some(&user), Some(attrs)).unwrap();
                    ids.push(s.id);
                    for _ in 0..4 {
                        let id = ids[rng.below(ids.len() as u64) as usize];
                        let _ = tracker.track(id, Kind::View);
                    }
                    if ids.len() > 100_000 {
                        ids.drain(..50_000);
                    }
                }
            });
        }
    });
}

fn parent() {
    let kills = scaled(30, 3);
    let dir = std::env::temp_dir().join(format!("sojourn-stress-snap-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sessions.snap");
    let exe = std::env::current_exe().unwrap();
    let mut failures = Failures::default();
    let mut rng = Rng::new(u64::from(std::process::id()));
    let (mut loaded_ok, mut saves_seen, mut mid_save, mut max_tmp) = (0u64, 0u64, 0u64, 0usize);
    let mut sizes = Vec::new();
    let mut last_stamp = None;
    let began = Instant::now();
    for k in 0..kills {
        let mut child = Command::new(&exe)
            .arg("child")
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        failures.check(line.starts_with("ready"), || {
            format!("child {k}: {line:?} (its snapshot did not load)")
        });
        // At least 1.5 s, so that a save is made; then any moment, in
        // a save or between two.
        std::thread::sleep(Duration::from_millis(1_500 + rng.below(2_500)));
        let tmp_before = temporaries(&dir);
        child.kill().unwrap();
        child.wait().unwrap();
        if tmp_before > 0 && temporaries(&dir) > 0 {
            mid_save += 1;
        }
        max_tmp = max_tmp.max(temporaries(&dir));
        let Ok(meta) = fs::metadata(&path) else {
            failures.fail(format!("kill {k}: no snapshot after {:?}", began.elapsed()));
            continue;
        };
        let stamp = (meta.modified().ok(), meta.len());
        if last_stamp != Some(stamp) {
            saves_seen += 1;
        }
        last_stamp = Some(stamp);
        match builder().load(&path).sweep_interval(Duration::ZERO).build() {
            Ok(t) => {
                loaded_ok += 1;
                sizes.push(t.stats().unwrap().loaded);
                t.close();
            }
            Err(e) => failures.fail(format!("kill {k}: the snapshot does not load: {e}")),
        }
    }
    failures.check(max_tmp <= 1, || {
        format!("{max_tmp} temporary files left at once")
    });
    let _ = fs::remove_dir_all(&dir);
    let figures = format!(
        "kills={kills} (SIGKILL at 1.5-4 s) in {:.0}s; snapshots loaded={loaded_ok}/{kills} \
         (new file after {saves_seen} kills; killed with a save's temporary file present {mid_save} times; \
         at most {max_tmp} temporary file left); sessions loaded per snapshot min {} max {}",
        began.elapsed().as_secs_f64(),
        thousands(sizes.iter().copied().min().unwrap_or(0)),
        thousands(sizes.iter().copied().max().unwrap_or(0)),
    );
    failures.finish("snapshot", &figures);
}

/// The temporary files of saves in `dir`.
fn temporaries(dir: &Path) -> usize {
    fs::read_dir(dir)
        .map(|l| {
            l.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                .count()
        })
        .unwrap_or(0)
}
