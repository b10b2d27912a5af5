//! The scratch buffer: where the tracker's internal methods put the numbers
//! of a result (counters, index, timestamps, outcome) for the package's
//! wrapper to read, instead of building an object. napi-rs sets each
//! property of an object with a call of its own; the wrapper builds the
//! same plain objects in JavaScript for a fraction of that.
//!
//! The wrapper (`node/sojourn.js`) gives each tracker a buffer of its own,
//! once, in its constructor, and keeps it in a private field.

use std::cell::OnceCell;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};

use napi::bindgen_prelude::{
    Float64Array, FromNapiValue, TypeName, TypedArrayType, ValidateNapiValue,
};
use napi::{ValueType, sys};

use crate::error::{self, Result};

/// The slots of the buffer, in the order `node/sojourn.js` reads them.
pub mod slot {
    /// Views, of a tick or a session.
    pub const VIEW_SEQUENCE: usize = 0;
    /// Events, of a tick or a session.
    pub const EVENT_SEQUENCE: usize = 1;
    /// Views and events, of a tick or a session.
    pub const SEQUENCE: usize = 2;
    /// A session's index.
    pub const SESSION_INDEX: usize = 3;
    /// A session's revivals.
    pub const REVIVALS: usize = 4;
    /// A session's start, in milliseconds since the Unix epoch.
    pub const STARTED_AT: usize = 5;
    /// A session's last activity, in milliseconds since the Unix epoch.
    pub const LAST_SEEN: usize = 6;
    /// A session's expiry, in milliseconds since the Unix epoch.
    pub const EXPIRES_AT: usize = 7;
    /// What `resume` found: 0 existing, 1 revived, 2 started.
    pub const OUTCOME: usize = 8;
    /// The length of the buffer.
    pub const LENGTH: usize = 9;
}

/// A tracker's scratch buffer, bound once.
#[derive(Default)]
pub struct Scratch(OnceCell<Buffer>);

impl Scratch {
    /// Binds `buffer`; a second buffer is refused.
    pub fn bind(&self, buffer: Buffer) -> Result<()> {
        self.0
            .set(buffer)
            .map_err(|_| error::invalid("buffer", "this tracker has its buffer already"))
    }

    /// The bound buffer. Its numbers are written after the operation, but
    /// this is asked before it, so that a tracker without one refuses the
    /// call and changes nothing. (Inlined into the hot paths: the
    /// error is the cold part.)
    #[inline]
    pub fn get(&self) -> Result<&Buffer> {
        self.0
            .get()
            .ok_or_else(|| error::invalid("buffer", "this tracker has no buffer"))
    }
}

/// A `Float64Array` of [`slot::LENGTH`] numbers over a `SharedArrayBuffer`,
/// and where its numbers are.
pub struct Buffer {
    /// Holds a reference to the array: while this lives, the array and its
    /// memory do.
    _array: Float64Array,
    /// The array's first number.
    data: NonNull<f64>,
}

impl Buffer {
    /// Writes `value` into `slot` (one of [`slot`]'s).
    pub fn put(&self, slot: usize, value: f64) {
        assert!(slot < slot::LENGTH, "no slot {slot}");
        // SAFETY: `data` points at the `slot::LENGTH` numbers of an array
        // whose buffer is a SharedArrayBuffer (checked on conversion): such
        // a buffer can be neither detached nor shrunk, so its memory stays
        // where it was found, and `_array`'s reference keeps it alive as long
        // as `self`. The slot is within the array, and its 8 bytes are
        // aligned (checked too). The store is atomic, so no access of
        // another thread to the buffer races with it: the wrapper's buffer
        // is private to its tracker and shared with no worker, but a buffer
        // bound by other code might be. (A relaxed atomic store is a plain
        // store on x86-64 and AArch64.)
        let cell = unsafe { AtomicU64::from_ptr(self.data.as_ptr().add(slot).cast()) };
        cell.store(value.to_bits(), Ordering::Relaxed);
    }
}

impl TypeName for Buffer {
    fn type_name() -> &'static str {
        "Float64Array"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for Buffer {}

impl FromNapiValue for Buffer {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        let refused = || {
            napi::Error::from_reason(format!(
                "expected a Float64Array of {} numbers over a SharedArrayBuffer",
                slot::LENGTH
            ))
        };
        let status = |status| match status {
            sys::Status::napi_ok => Ok(()),
            _ => Err(refused()),
        };
        let mut is_typed_array = false;
        // SAFETY (the three napi calls): `env` and `value` are those napi
        // hands to every conversion, and each out-pointer is to a local.
        status(unsafe { sys::napi_is_typedarray(env, value, &mut is_typed_array) })?;
        if !is_typed_array {
            return Err(refused());
        }
        let (mut kind, mut length, mut data, mut buffer) = (0, 0, ptr::null_mut(), ptr::null_mut());
        status(unsafe {
            sys::napi_get_typedarray_info(
                env,
                value,
                &mut kind,
                &mut length,
                &mut data,
                &mut buffer,
                ptr::null_mut(),
            )
        })?;
        // A typed array's buffer is an ArrayBuffer or a SharedArrayBuffer.
        let mut is_array_buffer = true;
        status(unsafe { sys::napi_is_arraybuffer(env, buffer, &mut is_array_buffer) })?;
        let data = NonNull::new(data.cast::<f64>()).filter(|data| data.is_aligned());
        match data {
            Some(data)
                if kind == TypedArrayType::Float64 as i32
                    && length == slot::LENGTH
                    && !is_array_buffer =>
            {
                // SAFETY: as above; this takes the reference.
                let array = unsafe { Float64Array::from_napi_value(env, value)? };
                Ok(Buffer {
                    _array: array,
                    data,
                })
            }
            _ => Err(refused()),
        }
    }
}
