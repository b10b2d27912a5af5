use std::path::PathBuf;

use super::*;
use crate::attrs::AttrValue;
use crate::id::SessionId;
use crate::model::{Dormant, Extra, Record};
use crate::session::EndReason;

const NOW: i64 = 1_767_225_600_000;

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sojourn-snap-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` sessions, every third dormant, every second with a user, attrs
/// and a previous id.
fn entries(n: u32) -> Vec<Entry> {
    (0..n)
        .map(|i| {
            let mut r = Record::new(NOW + i64::from(i));
            r.views = i;
            r.events = i / 2;
            r.revivals = i % 3;
            // Every shape of what a session may hold, each value type.
            if i % 2 == 0 {
                r.extra = Some(std::sync::Arc::new(Extra {
                    user_id: Some(format!("user-{i}").into()),
                    previous_id: Some(SessionId::new_v7(NOW - 5)),
                    attrs: [
                        ("page".to_owned(), AttrValue::from(format!("/p/{i}"))),
                        ("n".to_owned(), AttrValue::Int(-i64::from(i))),
                        ("x".to_owned(), AttrValue::Float(f64::from(i) / 3.0)),
                        ("b".to_owned(), AttrValue::Bool(i % 4 == 0)),
                        ("z".to_owned(), AttrValue::Null),
                    ]
                    .into(),
                }));
            } else if i % 5 == 0 {
                r.extra = Some(std::sync::Arc::new(Extra {
                    user_id: None,
                    previous_id: None,
                    attrs: [("only".to_owned(), AttrValue::from("attrs"))].into(),
                }));
            }
            let id = SessionId::new_v7(NOW + i64::from(i));
            if i % 3 == 0 {
                Entry::Dormant(
                    id,
                    Dormant {
                        record: r,
                        reason: EndReason::Idle,
                        ended_at: NOW + 99,
                        barred: i % 6 == 0,
                        erased: false,
                    },
                )
            } else {
                Entry::Live(id, r)
            }
        })
        .collect()
}

fn write(path: &Path, key: Option<&SnapshotKey>, all: &[Entry]) -> Counts {
    let mut w = Writer::create(path, key, NOW).unwrap();
    for e in all {
        w.push(e.view()).unwrap();
    }
    w.finish().unwrap()
}

fn key(byte: u8) -> SnapshotKey {
    SnapshotKey::new(&[byte; 32]).unwrap()
}

#[test]
fn what_is_written_is_read_back_plain_and_encrypted() {
    let dir = folder("roundtrip");
    // Several frames, and a last one partly filled.
    let all = entries(FRAME_RECORDS * 2 + 17);
    for k in [None, Some(key(1))] {
        let path = dir.join("s.snap");
        let counts = write(&path, k.as_ref(), &all);
        assert_eq!(counts.live + counts.dormant, all.len() as u64);
        let loaded = read(&path, k.as_ref()).unwrap();
        assert_eq!(loaded.created_ms, NOW);
        assert_eq!(loaded.entries, all);
    }
    // Empty is a snapshot too.
    let path = dir.join("empty.snap");
    write(&path, None, &[]);
    assert!(read(&path, None).unwrap().entries.is_empty());
    // No temporary file is left behind.
    let left: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn only_its_owner_may_read_a_snapshot() {
    use std::os::unix::fs::PermissionsExt;
    let dir = folder("private");
    let path = dir.join("s.snap");
    write(&path, None, &entries(3));
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let _ = fs::remove_dir_all(&dir);
}

fn problem(bytes: &[u8], k: Option<&SnapshotKey>) -> Problem {
    parse(bytes, k)
        .map(|l| l.entries.len())
        .expect_err("refused")
}

#[test]
fn every_truncation_and_every_flipped_byte_is_refused() {
    let dir = folder("bad");
    let all = entries(300);
    for k in [None, Some(key(2))] {
        let path = dir.join("s.snap");
        write(&path, k.as_ref(), &all);
        let bytes = fs::read(&path).unwrap();
        for cut in 0..bytes.len() {
            let p = problem(&bytes[..cut], k.as_ref());
            assert!(
                matches!(
                    p,
                    Problem::Truncated | Problem::Foreign | Problem::Corrupt(_)
                ),
                "cut at {cut}: {p:?}"
            );
        }
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(
                parse(&bad, k.as_ref()).is_err(),
                "byte {at} flipped was read"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse(&longer, k.as_ref()).is_err());
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn foreign_future_and_wrongly_keyed_files_say_so() {
    let dir = folder("which");
    let path = dir.join("s.snap");
    write(&path, Some(&key(3)), &entries(10));
    let bytes = fs::read(&path).unwrap();
    assert_eq!(problem(&bytes, Some(&key(4))), Problem::WrongKey);
    assert_eq!(problem(&bytes, None), Problem::NeedsKey);
    assert_eq!(problem(b"{\"sessions\": []}", None), Problem::Foreign);
    assert_eq!(problem(b"", None), Problem::Foreign);
    // A newer format, its header otherwise whole.
    let mut future = bytes.clone();
    future[8..10].copy_from_slice(&2u16.to_le_bytes());
    let crc = crc32fast::hash(&future[..60]);
    future[60..64].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(problem(&future, Some(&key(3))), Problem::Version(2));
    // A plain file where an encrypted one is expected.
    write(&path, None, &entries(10));
    assert_eq!(
        problem(&fs::read(&path).unwrap(), Some(&key(3))),
        Problem::NotEncrypted
    );
    // The error names the file and the problem.
    let err = read(&dir.join("missing.snap"), None).unwrap_err();
    assert_eq!(err.code(), "SNAPSHOT_ERROR");
    assert!(err.to_string().contains("missing.snap"), "{err}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn what_is_no_regular_file_is_refused_before_it_is_read() {
    // /dev/zero would be read without end; a FIFO's open would wait for
    // a writer; a folder is no file either.
    let dir = folder("not-a-file");
    for path in [
        Path::new("/dev/zero"),
        Path::new("/dev/null"),
        dir.as_path(),
    ] {
        let err = read(path, None).unwrap_err();
        assert_eq!(err.code(), "SNAPSHOT_ERROR");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_unfinished_save_leaves_the_previous_snapshot_whole() {
    let dir = folder("unfinished");
    let path = dir.join("s.snap");
    let first = entries(50);
    write(&path, None, &first);
    let mut w = Writer::create(&path, None, NOW).unwrap();
    for e in entries(FRAME_RECORDS + 5).iter() {
        w.push(e.view()).unwrap();
    }
    w.write_ready(false).unwrap(); // a frame is in the temporary file
    drop(w);
    assert_eq!(read(&path, None).unwrap().entries, first);
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "the temporary file is gone"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_key_is_32_bytes_and_never_shown() {
    assert_eq!(
        SnapshotKey::new(&[0; 31]).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
    let shown = format!("{:?}", key(0xab));
    assert_eq!(shown, "SnapshotKey(***)");
}

/// What a store's `export` is, as `write_parts` takes it.
trait Export: Fn(usize, &mut dyn FnMut(EntryRef<'_>)) -> Result<()> + Sync {}
impl<F: Fn(usize, &mut dyn FnMut(EntryRef<'_>)) -> Result<()> + Sync> Export for F {}

/// `all` split into `parts` parts, each exported as a store would.
fn export_parts(all: &[Entry], parts: usize, failing: Option<usize>) -> impl Export + '_ {
    move |part, f| {
        if Some(part) == failing {
            return Err(Error::Store {
                address: "test".into(),
                cause: "gone".into(),
                source: None,
            });
        }
        for e in all.iter().skip(part).step_by(parts) {
            f(e.view());
        }
        Ok(())
    }
}

#[test]
fn parts_written_by_several_threads_come_back_whole() {
    let dir = folder("parts");
    let path = dir.join("s.snap");
    let all = entries(FRAME_RECORDS * 5 + 3);
    for k in [None, Some(key(2))] {
        let w = Writer::create(&path, k.as_ref(), NOW).unwrap();
        let counts = write_parts(w, 16, export_parts(&all, 16, None)).unwrap();
        assert_eq!(counts.live + counts.dormant, all.len() as u64);
        let mut loaded = read(&path, k.as_ref()).unwrap().entries;
        let mut expected = all.clone();
        loaded.sort_by_key(Entry::id);
        expected.sort_by_key(Entry::id);
        assert_eq!(loaded, expected);
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_part_that_fails_fails_the_save_and_keeps_the_previous_file() {
    let dir = folder("parts-failing");
    let path = dir.join("s.snap");
    let first = entries(10);
    write(&path, None, &first);
    let all = entries(FRAME_RECORDS * 5);
    let w = Writer::create(&path, None, NOW).unwrap();
    let err = write_parts(w, 16, export_parts(&all, 16, Some(11))).unwrap_err();
    assert_eq!(err.code(), "STORE_ERROR");
    assert_eq!(read(&path, None).unwrap().entries, first);
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file left"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// Sessions with large attributes: 4,096 of them would make a frame past
/// what a reader accepts, so a frame is closed at about 1 MiB as well.
#[test]
fn frames_of_large_sessions_are_cut_by_size() {
    let big = "x".repeat(16 * 1024);
    let all: Vec<Entry> = (0..200u32)
        .map(|i| {
            let mut r = Record::new(NOW);
            r.extra = Some(std::sync::Arc::new(Extra {
                user_id: None,
                previous_id: None,
                attrs: [("big".to_owned(), AttrValue::from(format!("{i}{big}")))].into(),
            }));
            Entry::Live(SessionId::new_v7(NOW + i64::from(i)), r)
        })
        .collect();
    let mut encoder = Encoder::default();
    for e in &all {
        encoder.push(e.view()).unwrap();
    }
    let frames: Vec<Packed> = encoder.pack(true).map(Result::unwrap).collect();
    assert!(frames.len() >= 3, "{} frames for 3.2 MB", frames.len());
    assert_eq!(frames.iter().map(|f| f.records).sum::<u32>(), 200);

    let dir = folder("large");
    let path = dir.join("large.snap");
    write(&path, None, &all);
    assert_eq!(read(&path, None).unwrap().entries, all);
    fs::remove_dir_all(dir).unwrap();
}

/// A frame that says it inflates past the bound is refused before room
/// is made for it: a few bytes of zeros could claim a gigabyte.
#[test]
fn a_frame_claiming_more_than_the_bound_is_refused() {
    let header = Header {
        encrypted: false,
        created_ms: NOW,
        live: 0,
        dormant: 0,
        frames: 1,
        salt: [7; 8],
    };
    let sealer = Sealer::new(header, None);
    let fits = zstd::bulk::compress(&vec![0u8; 1 << 20], 1).unwrap();
    assert_eq!(sealer.open(0, &fits, true).unwrap().len(), 1 << 20);
    let over = zstd::bulk::compress(&vec![0u8; MAX_FRAME_BYTES as usize + 1], 1).unwrap();
    assert!(over.len() < 64 * 1024, "{} bytes claim 64 MiB", over.len());
    assert_eq!(
        sealer.open(0, &over, true),
        Err(Problem::Corrupt("a frame's size"))
    );
}
