//! Snapshots (the core's `snapshot` module): the options that name a
//! tracker's files and key, the path that `save` takes, and the counts it
//! gives back. Every rule (what a bad file is, the key's length, the
//! default interval) is the core's; these only convert.
//!
//! The key never shows: not in an error (a key of the wrong type or length
//! is refused by what it is, never by its bytes), and not in anything the
//! package hands out. It is read from the caller's `Uint8Array` straight
//! into the core's `SnapshotKey`, without a copy of its own.

use std::path::PathBuf;

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValidateNapiValue};
use napi::{ValueType, sys};
use napi_derive::napi;
use sojourn::TrackerBuilder;
use sojourn::snapshot::{Counts, SnapshotKey};

use crate::convert::{self, Arg, Text};
use crate::error::{self, Result};

/// What `save` wrote: the sessions in the file.
#[napi(object, object_from_js = false)]
pub struct SnapshotCounts {
    /// Live sessions.
    pub live: f64,
    /// Departed sessions remembered (for revival and linkage).
    pub dormant: f64,
}

impl From<Counts> for SnapshotCounts {
    fn from(c: Counts) -> SnapshotCounts {
        SnapshotCounts {
            live: convert::number(c.live),
            dormant: convert::number(c.dormant),
        }
    }
}

/// The snapshot options of a tracker, as [`crate::tracker::TrackerOptions`]
/// holds them.
pub struct Options {
    pub load: Option<Text>,
    pub snapshot: Option<Text>,
    pub snapshot_interval: Option<f64>,
    pub snapshot_key: Option<Key>,
}

/// `builder` with the snapshot options given.
pub fn configure(mut b: TrackerBuilder, o: Options) -> Result<TrackerBuilder> {
    if let Some(path) = o.load {
        b = b.load(String::from(path));
    }
    if let Some(path) = o.snapshot {
        b = b.snapshot(String::from(path));
    }
    if let Some(interval) = o.snapshot_interval {
        b = b.snapshot_interval(convert::millis(interval, "snapshotInterval")?);
    }
    if let Some(key) = o.snapshot_key {
        b = b.snapshot_key(key.get()?);
    }
    Ok(b)
}

/// The path argument of `save`: a string.
pub fn path(arg: Arg<Text>) -> Result<PathBuf> {
    arg.get("path").map(|p| PathBuf::from(String::from(p)))
}

/// The option `snapshotKey`: a `Uint8Array` (a `Buffer` is one) of exactly
/// 32 bytes, read when the options are; anything else is kept as its
/// error, `INVALID_ARGUMENT` naming `snapshotKey`, which [`Key::get`]
/// gives.
pub struct Key(Result<SnapshotKey>);

impl Key {
    /// The key, or why it was refused.
    pub fn get(self) -> Result<SnapshotKey> {
        self.0
    }
}

impl TypeName for Key {
    fn type_name() -> &'static str {
        "Uint8Array"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for Key {
    // Any value is accepted here; its check is kept for `get`.
    unsafe fn validate(
        _env: sys::napi_env,
        _value: sys::napi_value,
    ) -> napi::Result<sys::napi_value> {
        Ok(std::ptr::null_mut())
    }
}

impl FromNapiValue for Key {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: `env` and `value` are the ones napi hands to every conversion.
        Ok(Key(unsafe { read_key(env, value) }))
    }
}

/// The key in `value`, if it is a `Uint8Array` that the core accepts.
///
/// # Safety
///
/// `env` and `value` must be those of a napi conversion.
unsafe fn read_key(env: sys::napi_env, value: sys::napi_value) -> Result<SnapshotKey> {
    const EXPECTED: &str = "expected a Uint8Array (a Buffer) of 32 bytes";
    let mut is_typed_array = false;
    // SAFETY (both napi calls): `env` and `value` are a conversion's, and
    // each out-pointer is to a local.
    let status = unsafe { sys::napi_is_typedarray(env, value, &mut is_typed_array) };
    if status != sys::Status::napi_ok || !is_typed_array {
        let kind = type_of(env, value);
        return Err(error::invalid(
            "snapshotKey",
            format!("{EXPECTED}, not {kind}"),
        ));
    }
    let (mut kind, mut length, mut data) = (0, 0, std::ptr::null_mut());
    let (mut buffer, mut offset) = (std::ptr::null_mut(), 0);
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env,
            value,
            &mut kind,
            &mut length,
            &mut data,
            &mut buffer,
            &mut offset,
        )
    };
    if status != sys::Status::napi_ok || kind != sys::TypedarrayType::uint8_array {
        return Err(error::invalid(
            "snapshotKey",
            format!("{EXPECTED}, not another typed array"),
        ));
    }
    // A detached buffer has no data, and its length is 0.
    let bytes = match data.is_null() {
        true => &[][..],
        // SAFETY: napi gives the array's first byte (its offset applied)
        // and its length in bytes; it is read before the call returns.
        false => unsafe { std::slice::from_raw_parts(data.cast::<u8>(), length) },
    };
    SnapshotKey::new(bytes).map_err(|e| match e {
        // The core's rule, under the option's JavaScript name.
        sojourn::Error::InvalidArgument { reason, .. } => error::invalid("snapshotKey", reason),
        other => error::from_core(other),
    })
}

/// What `value` is, for a message: its type, never its content.
fn type_of(env: sys::napi_env, value: sys::napi_value) -> &'static str {
    let mut kind = 0;
    // SAFETY: `env` and `value` are a conversion's; the out-pointer is a local.
    if unsafe { sys::napi_typeof(env, value, &mut kind) } != sys::Status::napi_ok {
        return "a value of another type";
    }
    match kind {
        sys::ValueType::napi_undefined => "undefined",
        sys::ValueType::napi_null => "null",
        sys::ValueType::napi_boolean => "a boolean",
        sys::ValueType::napi_number => "a number",
        sys::ValueType::napi_string => "a string",
        sys::ValueType::napi_symbol => "a symbol",
        sys::ValueType::napi_function => "a function",
        sys::ValueType::napi_bigint => "a bigint",
        _ => "an object",
    }
}
