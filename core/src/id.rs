//! Session ids: 128-bit UUIDs, kept as a `u128` so that the hot path hashes
//! and compares two machine words, never a string.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

use crate::error::{Error, Result};

/// A session id: a UUID, written in canonical lowercase hyphenated form.
///
/// Ids made by the tracker are UUIDv7 (their creation time is readable and
/// they sort by it); ids that clients bring may be any RFC 9562 version.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u128);

const HYPHENS: [usize; 4] = [8, 13, 18, 23];
const NOT_HEX: u8 = 0x80;

/// A byte's value as a hex digit, or `NOT_HEX`.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

impl SessionId {
    /// Parses a hyphenated UUID in any case. Braced, URN and hyphen-less
    /// forms, the nil and max UUIDs and non-RFC variants are refused.
    pub fn parse(input: &str) -> Result<Self> {
        let bytes = input.as_bytes();
        if bytes.len() != 36 {
            return Err(Error::invalid_id(input, "expected 36 characters"));
        }
        if HYPHENS.iter().any(|&i| bytes[i] != b'-') {
            return Err(Error::invalid_id(input, "expected a hyphenated UUID"));
        }
        // Every id a request brings is parsed: one table lookup a digit, and
        // one check for all of them at the end.
        let mut value: u128 = 0;
        let mut invalid = 0u8;
        for group in [
            &bytes[..8],
            &bytes[9..13],
            &bytes[14..18],
            &bytes[19..23],
            &bytes[24..],
        ] {
            for &b in group {
                let digit = HEX_VALUE[usize::from(b)];
                invalid |= digit;
                value = (value << 4) | u128::from(digit & 0xf);
            }
        }
        if invalid & NOT_HEX != 0 {
            return Err(Error::invalid_id(input, "not a hexadecimal digit"));
        }
        Self::from_u128(value).map_err(|reason| Error::invalid_id(input, reason))
    }

    /// An id from its 128 bits, checked as [`SessionId::parse`] checks text.
    pub fn from_u128(value: u128) -> Result<Self, &'static str> {
        if value == 0 || value == u128::MAX {
            return Err("the nil and max UUIDs are not session ids");
        }
        let version = (value >> 76) & 0xf;
        if !(1..=8).contains(&version) {
            return Err("unknown UUID version");
        }
        if (value >> 62) & 0b11 != 0b10 {
            return Err("not an RFC 9562 UUID variant");
        }
        Ok(SessionId(value))
    }

    /// An id from bits known to be valid (taken from a `SessionId` before).
    pub(crate) fn from_bits(value: u128) -> Self {
        SessionId(value)
    }

    /// A new random UUIDv7 for the given Unix time in milliseconds.
    pub(crate) fn new_v7(unix_ms: i64) -> Self {
        let ms = (unix_ms.max(0) as u128) & ((1 << 48) - 1);
        let random: u128 = rand::rng().random();
        let rand_a = (random >> 64) & 0xfff;
        let rand_b = random & ((1 << 62) - 1);
        SessionId((ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
    }

    /// The 128 bits of the id.
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// The UUID version (7 for ids this library makes).
    pub fn version(self) -> u8 {
        ((self.0 >> 76) & 0xf) as u8
    }

    /// For a UUIDv7, the Unix time in milliseconds it was made at.
    pub fn v7_unix_ms(self) -> Option<i64> {
        (self.version() == 7).then_some((self.0 >> 80) as i64)
    }

    /// The canonical text form (lowercase, hyphenated) as 36 ASCII bytes,
    /// without allocating or formatting: what bindings copy into their
    /// strings.
    pub fn encode(self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Where each of the 16 bytes goes: two digits, hyphens in between.
        const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        let mut out = [b'-'; 36];
        for (byte, &at) in self.0.to_be_bytes().iter().zip(&AT) {
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0xf)];
        }
        out
    }

    /// The canonical text form as a `String`.
    pub(crate) fn text(self) -> String {
        let mut text = String::with_capacity(36);
        for &b in &self.encode() {
            text.push(char::from(b));
        }
        text
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.encode();
        // The encoding is ASCII hex and hyphens by construction.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl FromStr for SessionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        SessionId::parse(s)
    }
}

impl serde::Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        SessionId::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_normalises_case() {
        let text = "0190F5A2-7C4B-7D3E-8F00-123456789ABC";
        let id = SessionId::parse(text).unwrap();
        assert_eq!(id.to_string(), text.to_lowercase());
        assert_eq!(id.version(), 7);
        assert_eq!(id.v7_unix_ms(), Some(0x0190_f5a2_7c4b));
    }

    #[test]
    fn refuses_what_is_not_a_session_id() {
        for bad in [
            "",
            "not-a-uuid",
            "0190f5a27c4b7d3e8f00123456789abc",
            "{0190f5a2-7c4b-7d3e-8f00-123456789abc}",
            "0190f5a2-7c4b-7d3e-8f00-123456789abg",
            "0190f5a2-7c4b-7d3e-8f00-12345678-abc",
            "0190f5a2-7c4b-7d3e-8f00-1234567 9abc",
            "0190f5a2+7c4b-7d3e-8f00-123456789abc",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "0190f5a2-7c4b-0d3e-8f00-123456789abc",
            "0190f5a2-7c4b-7d3e-cf00-123456789abc",
            "é190f5a2-7c4b-7d3e-8f00-123456789ab",
        ] {
            let err = SessionId::parse(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_SESSION_ID", "{bad:?}");
        }
    }

    /// The parser agrees with a plain reading of the format on random
    /// near-miss inputs.
    #[test]
    fn parse_agrees_with_a_plain_reading() {
        fn plain(text: &str) -> Option<u128> {
            let b = text.as_bytes();
            if b.len() != 36 {
                return None;
            }
            let mut v = 0u128;
            for (i, &c) in b.iter().enumerate() {
                if HYPHENS.contains(&i) {
                    if c != b'-' {
                        return None;
                    }
                } else {
                    v = (v << 4) | u128::from((c as char).to_digit(16)?);
                }
            }
            Some(v)
        }
        let alphabet = b"0123456789abcdefABCDEF-g8";
        let mut rng = rand::rng();
        for _ in 0..20_000 {
            let mut text = SessionId::new_v7(rng.random_range(0..1 << 40))
                .to_string()
                .into_bytes();
            for _ in 0..rng.random_range(0..3) {
                let at = rng.random_range(0..36);
                text[at] = alphabet[rng.random_range(0..alphabet.len())];
            }
            let text = String::from_utf8(text).unwrap();
            let expected = plain(&text).and_then(|v| SessionId::from_u128(v).ok());
            assert_eq!(SessionId::parse(&text).ok(), expected, "{text}");
        }
    }

    #[test]
    fn v7_carries_its_time_and_is_random() {
        let a = SessionId::new_v7(1_767_225_600_000);
        let b = SessionId::new_v7(1_767_225_600_000);
        assert_ne!(a, b);
        assert_eq!(a.version(), 7);
        assert_eq!(a.v7_unix_ms(), Some(1_767_225_600_000));
        assert_eq!(SessionId::parse(&a.to_string()).unwrap(), a);
    }
}
