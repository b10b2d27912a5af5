//! Snapshots of a tracker's sessions: a file written as a stream of
//! checksummed, compressed (and, with a key, encrypted) frames to a
//! temporary file in the same folder, fsynced, renamed over the previous
//! one, and the folder fsynced; so a crash at any moment leaves the
//! previous snapshot whole. Read back whole and checked before anything
//! of it is used. The bytes are in `format.rs`.

mod format;
mod wire;

use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};

use crate::error::{Error, Result};
use crate::model::{Entry, EntryRef};
use format::{FRAME_HEAD_BYTES, HEADER_BYTES, Header, MAX_FRAME_BYTES, SEAL, Sealer};
use wire::{Out, Wire};

/// Records a frame holds at most: small enough that a frame is a few
/// hundred KB, large enough that zstd finds what repeats.
const FRAME_RECORDS: u32 = 4096;
/// A frame is closed once its records pass this many bytes, too: with
/// large attributes, 4,096 records would pass what a reader accepts of a
/// frame ([`format::MAX_FRAME_BYTES`]), and the file would not load.
const FRAME_BYTES: usize = 1 << 20;

/// Threads that decode a snapshot's frames at most, and that encode one.
const MAX_DECODE_THREADS: usize = 4;
const MAX_SAVE_THREADS: usize = 4;

/// The 32-byte key that encrypts snapshots (ChaCha20-Poly1305). Its
/// `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SnapshotKey([u8; 32]);

impl SnapshotKey {
    /// A key from exactly 32 bytes (say, 64 hex digits from a secret
    /// store, decoded); anything else is `INVALID_ARGUMENT`.
    pub fn new(bytes: &[u8]) -> Result<Self> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::invalid(
                "snapshot_key",
                format!("must be 32 bytes, not {}", bytes.len()),
            )
        })?;
        Ok(SnapshotKey(key))
    }

    fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SnapshotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SnapshotKey(***)")
    }
}

/// What is wrong with a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    Foreign,
    Truncated,
    Corrupt(&'static str),
    Version(u16),
    WrongKey,
    NeedsKey,
    NotEncrypted,
    Io(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Foreign => f.write_str("not a Sojourn snapshot"),
            Problem::Truncated => f.write_str("truncated"),
            Problem::Corrupt(what) => write!(f, "corrupt ({what})"),
            Problem::Version(v) => write!(
                f,
                "format version {v}, and this Sojourn reads version {}",
                format::VERSION
            ),
            Problem::WrongKey => f.write_str("the snapshot key does not open it (wrong key, or altered)"),
            Problem::NeedsKey => f.write_str("encrypted, and no snapshot key was given"),
            Problem::NotEncrypted => {
                f.write_str("not encrypted, and a snapshot key was given (refused: a plain file may have been put in its place)")
            }
            Problem::Io(e) => f.write_str(e),
        }
    }
}

/// A new file only its owner may read: a plain snapshot holds user ids
/// and attributes in the clear.
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn error(path: &Path, problem: Problem) -> Error {
    Error::Snapshot {
        path: path.display().to_string(),
        problem: problem.to_string(),
    }
}

/// How many sessions a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Live sessions.
    pub live: u64,
    /// Remembered (dormant) sessions.
    pub dormant: u64,
}

/// Sessions encoded into frames, by one thread of a save: `push` holds
/// no lock of its own and writes nothing, so a store may call it under
/// its lock; the frames filled are compressed once it is let go.
#[derive(Default)]
pub(crate) struct Encoder {
    filling: Frame,
    full: Vec<Frame>,
}

/// A frame's records, encoded, and what they count.
#[derive(Default)]
struct Frame {
    plain: Vec<u8>,
    records: u32,
    live: u64,
    dormant: u64,
}

/// A frame compressed, to be sealed and written in its place.
pub(crate) struct Packed {
    bytes: Vec<u8>,
    records: u32,
    live: u64,
    dormant: u64,
}

impl Encoder {
    /// Encodes one session into the frame being filled.
    pub fn push(&mut self, entry: EntryRef<'_>) -> std::result::Result<(), Problem> {
        let f = &mut self.filling;
        match entry {
            EntryRef::Live(..) => f.live += 1,
            EntryRef::Dormant(..) => f.dormant += 1,
        }
        f.plain = postcard::to_extend(&Out::of(entry), std::mem::take(&mut f.plain))
            .map_err(|e| Problem::Io(e.to_string()))?;
        f.records += 1;
        if f.records == FRAME_RECORDS || f.plain.len() >= FRAME_BYTES {
            let room = f.plain.len();
            let next = Frame {
                plain: Vec::with_capacity(room),
                ..Frame::default()
            };
            self.full.push(std::mem::replace(&mut self.filling, next));
        }
        Ok(())
    }

    /// The frames filled so far, compressed; with `all`, the one being
    /// filled too.
    fn pack(&mut self, all: bool) -> impl Iterator<Item = std::result::Result<Packed, Problem>> {
        if all && self.filling.records > 0 {
            self.full.push(std::mem::take(&mut self.filling));
        }
        std::mem::take(&mut self.full).into_iter().map(|f| {
            Ok(Packed {
                bytes: Sealer::pack(&f.plain)?,
                records: f.records,
                live: f.live,
                dormant: f.dormant,
            })
        })
    }
}

/// Writes every part of a store to `writer` and finishes it: several
/// threads each take parts in turn, `export` each (which may hold the
/// part's lock while it shows its sessions), encode and compress them;
/// this thread seals the frames and writes them as they come, through a
/// short queue (never the whole store in memory).
pub(crate) fn write_parts<E>(mut writer: Writer, parts: usize, export: E) -> Result<Counts>
where
    E: Fn(usize, &mut dyn FnMut(EntryRef<'_>)) -> Result<()> + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_SAVE_THREADS)
        .min(parts);
    let path = writer.path.clone();
    let next = AtomicUsize::new(0);
    let (tx, rx) = sync_channel::<Result<Packed>>(2 * threads.max(1));
    let work = |tx: SyncSender<Result<Packed>>| {
        let mut encoder = Encoder::default();
        let send = |packed: std::result::Result<Packed, Problem>| {
            tx.send(packed.map_err(|p| error(&path, p))).is_ok()
        };
        loop {
            let part = next.fetch_add(1, Ordering::Relaxed);
            let last = part >= parts;
            if !last {
                let mut failed = None;
                let shown = export(part, &mut |entry| {
                    if let (None, Err(p)) = (&failed, encoder.push(entry)) {
                        failed = Some(p);
                    }
                });
                if let Err(e) = shown {
                    let _ = tx.send(Err(e));
                    return;
                }
                if let Some(p) = failed {
                    send(Err(p));
                    return;
                }
            }
            for packed in encoder.pack(last) {
                // The writer stopped (an error): so do we.
                if !send(packed) {
                    return;
                }
            }
            if last {
                return;
            }
        }
    };
    let written = std::thread::scope(|scope| {
        let mut running = 0;
        for _ in 0..threads {
            let tx = tx.clone();
            let spawned = std::thread::Builder::new()
                .name("sojourn-save".into())
                .spawn_scoped(scope, || work(tx));
            running += usize::from(spawned.is_ok());
        }
        drop(tx);
        if running == 0 {
            return Err(None); // no thread at all (a pids limit): one by one
        }
        for packed in rx {
            writer.write_packed(packed?).map_err(Some)?;
        }
        Ok(())
    });
    match written {
        Ok(()) => writer.finish(),
        Err(Some(e)) => Err(e),
        Err(None) => {
            for part in 0..parts {
                let mut failed = None;
                export(part, &mut |entry| {
                    if let (None, Err(p)) = (&failed, writer.encoder.push(entry)) {
                        failed = Some(p);
                    }
                })?;
                if let Some(p) = failed {
                    return Err(error(&path, p));
                }
                writer.write_ready(false)?;
            }
            writer.finish()
        }
    }
}

/// A snapshot being written: frames (`write_packed`, or `push` each
/// session and `write_ready`), then `finish`. Dropped unfinished, it
/// removes its temporary file and the previous snapshot stays.
pub(crate) struct Writer {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
    sealer: Sealer,
    header: Header,
    encoder: Encoder,
}

impl Writer {
    pub fn create(path: &Path, key: Option<&SnapshotKey>, created_ms: i64) -> Result<Writer> {
        let io = |e: std::io::Error| error(path, Problem::Io(e.to_string()));
        let name = path
            .file_name()
            .ok_or_else(|| error(path, Problem::Io("not a file path".to_owned())))?;
        let mut salt = [0u8; 8];
        rand::Rng::fill(&mut rand::rng(), &mut salt);
        let tmp = path.with_file_name(format!(
            ".{}.{}-{:016x}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            u64::from_le_bytes(salt)
        ));
        let header = Header {
            encrypted: key.is_some(),
            created_ms,
            live: 0,
            dormant: 0,
            frames: 0,
            salt,
        };
        remove_abandoned(path, &name.to_string_lossy());
        let file = BufWriter::with_capacity(1 << 20, private_file(&tmp).map_err(io)?);
        let mut writer = Writer {
            path: path.to_owned(),
            tmp,
            file: Some(file),
            sealer: Sealer::new(header, key),
            header,
            encoder: Encoder::default(),
        };
        // The header as a placeholder; the counts are written at the end.
        let file = writer.file.as_mut().expect("just opened");
        file.write_all(&header.encode()).map_err(io)?;
        Ok(writer)
    }

    fn io(&self, e: std::io::Error) -> Error {
        error(&self.path, Problem::Io(e.to_string()))
    }

    /// Encodes one session into the frame being filled; writes nothing.
    #[cfg(test)]
    pub fn push(&mut self, entry: EntryRef<'_>) -> Result<()> {
        let path = &self.path;
        self.encoder.push(entry).map_err(|p| error(path, p))
    }

    /// Compresses and writes the frames filled so far (with `all`, the
    /// one being filled too).
    pub fn write_ready(&mut self, all: bool) -> Result<()> {
        let packed: Vec<_> = self.encoder.pack(all).collect();
        for p in packed {
            let p = p.map_err(|p| error(&self.path, p))?;
            self.write_packed(p)?;
        }
        Ok(())
    }

    /// Seals `packed` as the next frame and writes it.
    fn write_packed(&mut self, packed: Packed) -> Result<()> {
        let index = self.header.frames;
        self.write_frame(index, packed.bytes, packed.records)?;
        self.header.frames += 1;
        self.header.live += packed.live;
        self.header.dormant += packed.dormant;
        Ok(())
    }

    fn write_frame(&mut self, index: u32, packed: Vec<u8>, records: u32) -> Result<()> {
        let stored = self
            .sealer
            .seal(index, packed)
            .map_err(|p| error(&self.path, p))?;
        let file = self.file.as_mut().expect("open until finished");
        let written = file
            .write_all(&format::frame_head(&stored, records))
            .and_then(|()| file.write_all(&stored));
        written.map_err(|e| self.io(e))
    }

    /// Writes the rest, the seal and the counts, makes the file durable
    /// and puts it in place of the previous snapshot.
    pub fn finish(mut self) -> Result<Counts> {
        self.write_ready(true)?;
        let h = self.header;
        let seal = format::seal_plain(h.frames, h.live, h.dormant);
        self.write_frame(h.frames, seal.to_vec(), SEAL)?;
        let mut file = self.file.take().expect("open until finished");
        let done = (|| {
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&h.encode())?;
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            fs::rename(&self.tmp, &self.path)?;
            // The rename is durable once the folder is.
            let folder = match self.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            File::open(folder)?.sync_all()
        })();
        done.map_err(|e| self.io(e))?;
        Ok(Counts {
            live: h.live,
            dormant: h.dormant,
        })
    }
}

/// Removes the temporary files of saves of `path` whose process is gone
/// (killed mid-save): `.{name}.{pid}-{salt}.tmp`. Only where a process's
/// life can be told (`/proc`); a failure here is no failure of the save.
fn remove_abandoned(path: &Path, name: &str) {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(listing) = fs::read_dir(folder) else {
        return;
    };
    let prefix = format!(".{name}.");
    for item in listing.flatten() {
        let file = item.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.strip_suffix(".tmp").and_then(|r| r.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_file(item.path());
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A snapshot read back whole and checked.
#[derive(Debug)]
pub(crate) struct Loaded {
    #[allow(dead_code)] // read by the tests; `stats` will show it
    pub created_ms: i64,
    pub entries: Vec<Entry>,
}

/// Reads the snapshot at `path`, checking every byte of it, before
/// anything of it is returned.
pub(crate) fn read(path: &Path, key: Option<&SnapshotKey>) -> Result<Loaded> {
    // A regular file only: a device (`/dev/zero`) would be read without
    // end, and opening a FIFO waits for a writer that may never come.
    let kind = fs::metadata(path)
        .map_err(|e| error(path, Problem::Io(e.to_string())))?
        .file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else {
            "a device, FIFO or socket"
        };
        return Err(error(
            path,
            Problem::Io(format!("{what}, not a regular file")),
        ));
    }
    let bytes = fs::read(path).map_err(|e| error(path, Problem::Io(e.to_string())))?;
    parse(&bytes, key).map_err(|p| error(path, p))
}

fn parse(bytes: &[u8], key: Option<&SnapshotKey>) -> std::result::Result<Loaded, Problem> {
    let header = Header::decode(bytes)?;
    match (header.encrypted, key) {
        (true, None) => return Err(Problem::NeedsKey),
        (false, Some(_)) => return Err(Problem::NotEncrypted),
        _ => {}
    }
    let sealer = Sealer::new(header, key);
    // First every frame's place and checksum, then their records.
    let mut frames = Vec::new();
    let mut at = HEADER_BYTES;
    let mut index = 0u32;
    loop {
        let head = bytes
            .get(at..at + FRAME_HEAD_BYTES)
            .ok_or(Problem::Truncated)?;
        let len = u32::from_le_bytes(head[0..4].try_into().unwrap_or_default());
        let records = u32::from_le_bytes(head[4..8].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(head[8..12].try_into().unwrap_or_default());
        if len > MAX_FRAME_BYTES {
            return Err(Problem::Corrupt("a frame's length"));
        }
        at += FRAME_HEAD_BYTES;
        let stored = bytes.get(at..at + len as usize).ok_or(Problem::Truncated)?;
        at += len as usize;
        // Under `cargo fuzz`, changed bytes go on past the checksum, to
        // reach the decompressor and the records' decoder.
        if crc32fast::hash(stored) != crc && !cfg!(fuzzing) {
            return Err(Problem::Corrupt("a frame's checksum"));
        }
        if records == SEAL {
            let plain = sealer.open(index, stored, false)?;
            let expected = format::seal_plain(header.frames, header.live, header.dormant);
            if plain != expected || index != header.frames {
                return Err(Problem::Corrupt("the counts do not match the frames"));
            }
            break;
        }
        if index >= header.frames {
            return Err(Problem::Corrupt("more frames than the header says"));
        }
        frames.push((index, stored, records));
        index += 1;
    }
    if at != bytes.len() {
        return Err(Problem::Corrupt("bytes after the seal"));
    }
    let entries = decode_all(&frames, &sealer)?;
    let live = entries
        .iter()
        .filter(|e| matches!(e, Entry::Live(..)))
        .count() as u64;
    if live != header.live || entries.len() as u64 - live != header.dormant {
        return Err(Problem::Corrupt("the counts do not match the records"));
    }
    Ok(Loaded {
        created_ms: header.created_ms,
        entries,
    })
}

/// The records of every frame, in order; frames are independent, so
/// several threads share them (a frame's records in one thread).
fn decode_all(
    frames: &[(u32, &[u8], u32)],
    sealer: &Sealer,
) -> std::result::Result<Vec<Entry>, Problem> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_DECODE_THREADS);
    if threads < 2 || frames.len() < 2 * threads {
        return decode(frames, sealer);
    }
    let chunk = frames.len().div_ceil(threads);
    let parts: Vec<std::result::Result<Vec<Entry>, Problem>> = std::thread::scope(|scope| {
        let running: Vec<_> = frames
            .chunks(chunk)
            .map(|part| {
                let spawned = std::thread::Builder::new()
                    .name("sojourn-load".into())
                    .spawn_scoped(scope, || decode(part, sealer));
                // A thread that cannot start (a pids limit): done here.
                spawned.map_err(|_| part)
            })
            .collect();
        running
            .into_iter()
            .map(|r| match r {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(part) => decode(part, sealer),
            })
            .collect()
    });
    let mut entries = Vec::new();
    for part in parts {
        let part = part?;
        if entries.is_empty() {
            entries = part;
        } else {
            entries.extend(part);
        }
    }
    Ok(entries)
}

/// The records of `frames`, in order.
fn decode(
    frames: &[(u32, &[u8], u32)],
    sealer: &Sealer,
) -> std::result::Result<Vec<Entry>, Problem> {
    // Never trust a count to size memory: grow as records come.
    let mut entries = Vec::new();
    for &(index, stored, records) in frames {
        let plain = sealer.open(index, stored, true)?;
        let mut rest = plain.as_slice();
        for _ in 0..records {
            let (wire, tail) = postcard::take_from_bytes::<Wire>(rest)
                .map_err(|_| Problem::Corrupt("a record does not decode"))?;
            entries.push(wire.entry()?);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(Problem::Corrupt("bytes after a frame's records"));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests;
