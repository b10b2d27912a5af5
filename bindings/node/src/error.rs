//! Every error this package throws, mapped in this one place: a JavaScript
//! `Error` whose `code` is the core's stable code (`SESSION_NOT_FOUND`,
//! `INVALID_SESSION_ID`, `SESSION_NOT_REVIVABLE`, `INVALID_ARGUMENT`,
//! `STORE_ERROR`, `SNAPSHOT_ERROR`), and whose message is the core's (a
//! snapshot's names the file and what is wrong with it).

use napi::Status;

/// The `code` of a thrown error: one of the core's codes, or, for a failure
/// of the napi runtime itself (never the caller's doing), napi's status.
pub enum Code {
    /// A stable code of the core.
    Sojourn(&'static str),
    /// A failure inside napi.
    Napi(Status),
}

/// What a binding call returns: the thrown error carries a [`Code`].
pub type Result<T> = napi::Result<T, Code>;

const INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::Sojourn(code) => code,
            Code::Napi(status) => status.as_ref(),
        }
    }
}

/// napi's own failures. Those that say a value had the wrong type are the
/// caller's `INVALID_ARGUMENT`.
impl From<Status> for Code {
    fn from(status: Status) -> Code {
        match status {
            Status::InvalidArg
            | Status::ObjectExpected
            | Status::StringExpected
            | Status::NameExpected
            | Status::FunctionExpected
            | Status::NumberExpected
            | Status::BooleanExpected
            | Status::ArrayExpected
            | Status::BigintExpected
            | Status::DateExpected
            | Status::ArrayBufferExpected
            | Status::DetachableArraybufferExpected => Code::Sojourn(INVALID_ARGUMENT),
            other => Code::Napi(other),
        }
    }
}

/// A core error, with its code and message.
pub fn from_core(error: sojourn::Error) -> napi::Error<Code> {
    napi::Error::new(Code::Sojourn(error.code()), error.to_string())
}

/// A value that could not be converted: the wrong type or out of range.
pub fn invalid(name: &str, reason: impl std::fmt::Display) -> napi::Error<Code> {
    napi::Error::new(
        Code::Sojourn(INVALID_ARGUMENT),
        format!("invalid {name}: {reason}"),
    )
}

/// A napi conversion that failed on a caller's value.
pub fn invalid_value(name: &str, error: napi::Error) -> napi::Error<Code> {
    invalid(name, &error.reason)
}

/// Turns the core's and napi's results into thrown errors with a [`Code`]:
/// `tracker.track(..).or_throw()?`.
pub trait OrThrow<T> {
    /// The value, or the error mapped to its code.
    fn or_throw(self) -> Result<T>;
}

impl<T> OrThrow<T> for sojourn::Result<T> {
    fn or_throw(self) -> Result<T> {
        self.map_err(from_core)
    }
}

impl<T> OrThrow<T> for napi::Result<T> {
    fn or_throw(self) -> Result<T> {
        self.map_err(|e| napi::Error::new(Code::from(e.status), e.reason.clone()))
    }
}

/// A core error as a JavaScript value, not thrown: an `Error` with its
/// `code`, as a thrown one has (for the items of `trackMany`).
pub struct ErrorValue(pub sojourn::Error);

impl napi::bindgen_prelude::ToNapiValue for ErrorValue {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        error: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: `env` is the one napi hands to every conversion, and
        // each value is made in it.
        unsafe {
            let code = <&str>::to_napi_value(env, error.0.code())?;
            let message = String::to_napi_value(env, error.0.to_string())?;
            let mut value = std::ptr::null_mut();
            crate::convert::check(napi::sys::napi_create_error(env, code, message, &mut value))?;
            Ok(value)
        }
    }
}
