//! The bytes of a snapshot file, version 1. All integers little-endian.
//!
//! ```text
//! header, 64 bytes:
//!   0..8    magic  b"SJSNAP\r\n"  (\r\n: a text-mode copy breaks it)
//!   8..10   format version (1)
//!   10..12  flags: bit 0 = encrypted
//!   12..20  created at, Unix ms
//!   20..28  live sessions     28..36  dormant sessions
//!   36..40  data frames       40..48  salt (random; the nonce prefix)
//!   48..60  zero              60..64  CRC-32 of bytes 0..60
//! frames, then one seal frame, then the end of the file. A frame:
//!   u32 stored length, u32 records, u32 CRC-32 of the stored bytes,
//!   the stored bytes: zstd(postcard(records)); encrypted, the
//!   ChaCha20-Poly1305 ciphertext and tag of them, nonce = salt ++ the
//!   frame's index (u32), associated data = header bytes 0..12 and 40..48.
//! the seal frame: records = u32::MAX, its plaintext the data frames,
//!   live and dormant counts again (u32, u64, u64): encrypted, it is what
//!   authenticates the counts and the end (no frame dropped or added).
//! ```

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use super::{Problem, SnapshotKey};

pub const MAGIC: &[u8; 8] = b"SJSNAP\r\n";
pub const VERSION: u16 = 1;
pub const HEADER_BYTES: usize = 64;
pub const FRAME_HEAD_BYTES: usize = 12;
/// The records marker of the seal frame.
pub const SEAL: u32 = u32::MAX;
/// The most bytes a frame may claim, stored or inflated: more is
/// corruption, refused before anything is allocated for it. A writer's
/// frame is at most about 1 MiB of records and one record more (a record
/// is bounded by `MAX_ATTRS_BYTES` and the user id's bound).
pub const MAX_FRAME_BYTES: u32 = 64 << 20;
const ENCRYPTED: u16 = 1;

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub encrypted: bool,
    pub created_ms: i64,
    pub live: u64,
    pub dormant: u64,
    pub frames: u32,
    pub salt: [u8; 8],
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut b = [0u8; HEADER_BYTES];
        b[0..8].copy_from_slice(MAGIC);
        b[8..10].copy_from_slice(&VERSION.to_le_bytes());
        let flags = if self.encrypted { ENCRYPTED } else { 0 };
        b[10..12].copy_from_slice(&flags.to_le_bytes());
        b[12..20].copy_from_slice(&self.created_ms.to_le_bytes());
        b[20..28].copy_from_slice(&self.live.to_le_bytes());
        b[28..36].copy_from_slice(&self.dormant.to_le_bytes());
        b[36..40].copy_from_slice(&self.frames.to_le_bytes());
        b[40..48].copy_from_slice(&self.salt);
        let crc = crc32fast::hash(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<Header, Problem> {
        if b.len() < 8 || &b[..8] != MAGIC {
            return Err(Problem::Foreign);
        }
        if b.len() < HEADER_BYTES {
            return Err(Problem::Truncated);
        }
        let u16_at = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default());
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
        if u32_at(60) != crc32fast::hash(&b[..60]) {
            return Err(Problem::Corrupt("header checksum"));
        }
        let version = u16_at(8);
        if version != VERSION {
            return Err(Problem::Version(version));
        }
        let flags = u16_at(10);
        if flags & !ENCRYPTED != 0 {
            return Err(Problem::Corrupt("unknown header flags"));
        }
        let mut salt = [0u8; 8];
        salt.copy_from_slice(&b[40..48]);
        Ok(Header {
            encrypted: flags & ENCRYPTED != 0,
            created_ms: u64_at(12) as i64,
            live: u64_at(20),
            dormant: u64_at(28),
            frames: u32_at(36),
            salt,
        })
    }

    /// The header bytes every frame's encryption is bound to: the magic,
    /// version, flags and salt (the counts are written last, and sealed).
    fn bound(&self) -> [u8; 20] {
        let whole = self.encode();
        let mut b = [0u8; 20];
        b[..12].copy_from_slice(&whole[..12]);
        b[12..].copy_from_slice(&whole[40..48]);
        b
    }
}

/// Turns records' bytes into a frame's stored bytes and back.
pub struct Sealer {
    header: Header,
    cipher: Option<ChaCha20Poly1305>,
}

impl Sealer {
    pub fn new(header: Header, key: Option<&SnapshotKey>) -> Self {
        let cipher = key.map(|k| ChaCha20Poly1305::new(Key::from_slice(k.bytes())));
        Sealer { header, cipher }
    }

    fn nonce(&self, index: u32) -> Nonce {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&self.header.salt);
        n[8..].copy_from_slice(&index.to_le_bytes());
        *Nonce::from_slice(&n)
    }

    /// A frame's records compressed (any thread may: no frame index yet).
    pub fn pack(plain: &[u8]) -> Result<Vec<u8>, Problem> {
        zstd::bulk::compress(plain, 1).map_err(|e| Problem::Io(e.to_string()))
    }

    /// The stored bytes of frame `index` holding `packed` (encrypted, with
    /// a key).
    pub fn seal(&self, index: u32, packed: Vec<u8>) -> Result<Vec<u8>, Problem> {
        match &self.cipher {
            None => Ok(packed),
            Some(cipher) => {
                let aad = self.header.bound();
                cipher
                    .encrypt(
                        &self.nonce(index),
                        Payload {
                            msg: &packed,
                            aad: &aad,
                        },
                    )
                    .map_err(|_| Problem::Io("encryption failed".to_owned()))
            }
        }
    }

    /// The plain bytes of frame `index` from its stored bytes.
    pub fn open(&self, index: u32, stored: &[u8], compressed: bool) -> Result<Vec<u8>, Problem> {
        let packed: std::borrow::Cow<'_, [u8]> = match &self.cipher {
            None => stored.into(),
            Some(cipher) => {
                let aad = self.header.bound();
                cipher
                    .decrypt(
                        &self.nonce(index),
                        Payload {
                            msg: stored,
                            aad: &aad,
                        },
                    )
                    .map_err(|_| Problem::WrongKey)?
                    .into()
            }
        };
        if !compressed {
            return Ok(packed.into_owned());
        }
        // The frame says its size; a frame never inflates past the bound
        // (a few bytes of zeros could claim a gigabyte), and room is made
        // for what it says, not for the bound.
        let size = zstd::zstd_safe::get_frame_content_size(&packed)
            .ok()
            .flatten()
            .filter(|&n| n <= u64::from(MAX_FRAME_BYTES))
            .ok_or(Problem::Corrupt("a frame's size"))?;
        zstd::bulk::decompress(&packed, size as usize)
            .map_err(|_| Problem::Corrupt("a frame does not decompress"))
    }
}

/// A frame's head: stored length, records, checksum of the stored bytes.
pub fn frame_head(stored: &[u8], records: u32) -> [u8; FRAME_HEAD_BYTES] {
    let mut b = [0u8; FRAME_HEAD_BYTES];
    b[0..4].copy_from_slice(&(stored.len() as u32).to_le_bytes());
    b[4..8].copy_from_slice(&records.to_le_bytes());
    b[8..12].copy_from_slice(&crc32fast::hash(stored).to_le_bytes());
    b
}

/// The seal frame's plaintext.
pub fn seal_plain(frames: u32, live: u64, dormant: u64) -> [u8; 20] {
    let mut b = [0u8; 20];
    b[0..4].copy_from_slice(&frames.to_le_bytes());
    b[4..12].copy_from_slice(&live.to_le_bytes());
    b[12..20].copy_from_slice(&dormant.to_le_bytes());
    b
}
