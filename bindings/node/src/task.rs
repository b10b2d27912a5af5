//! A call of the core on libuv's thread pool, as a Promise (a napi-rs
//! [`Task`]): its arguments converted on the main thread when the call is
//! made, the core's call run on the pool, its result converted on the main
//! thread again, where the Promise settles. Every operation of the Redis
//! tracker is one (`redis.rs`), and so is `save` of either tracker: the
//! event loop goes on while the call waits on Redis or writes a file. A
//! call whose arguments do not convert rejects its Promise with that
//! error, and nothing is queued.

use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::bindgen_prelude::{AsyncTask, FromNapiValue, ToNapiValue, TypeName, Unknown};
use napi::{Env, JsError, Task, sys};

use crate::convert::check;
use crate::error::{Code, ErrorValue, Result};

/// The Promise of a call of the core on the thread pool.
pub type Pending<R, J> = Promised<Call<R, J>>;

/// A Promise: of a task queued on the thread pool, or refused before it
/// was queued (a bad argument), rejected with that error.
pub enum Promised<T: Task> {
    Queued(AsyncTask<T>),
    Refused(napi::Error<Code>),
}

impl<T: Task> Promised<T> {
    pub(crate) fn of(task: Result<T>) -> Promised<T> {
        match task {
            Ok(task) => Promised::Queued(AsyncTask::new(task)),
            Err(error) => Promised::Refused(error),
        }
    }
}

impl<T: Task> ToNapiValue for Promised<T> {
    unsafe fn to_napi_value(env: sys::napi_env, p: Self) -> napi::Result<sys::napi_value> {
        match p {
            // SAFETY: `env` is the one napi hands to every conversion.
            Promised::Queued(task) => unsafe { AsyncTask::to_napi_value(env, task) },
            Promised::Refused(error) => {
                let (mut deferred, mut promise) = (std::ptr::null_mut(), std::ptr::null_mut());
                // SAFETY: as above; each out-pointer is to a local, and the
                // error is made in `env`.
                unsafe {
                    check(sys::napi_create_promise(env, &mut deferred, &mut promise))?;
                    let error = JsError::from(error).into_value(env);
                    check(sys::napi_reject_deferred(env, deferred, error))?;
                }
                Ok(promise)
            }
        }
    }
}

/// One call of the core, run on the thread pool: `op` with the tracker;
/// its result converted by `convert` on the main thread, or its error
/// made the `Error` (with its `code`) that the Promise rejects with.
pub struct Call<R, J> {
    tracker: sojourn::Tracker,
    op: Option<Op<R>>,
    convert: fn(R) -> J,
}

impl<R, J> Call<R, J> {
    /// The call of `op` with `tracker`, its result converted by `convert`.
    pub(crate) fn new(
        tracker: sojourn::Tracker,
        op: impl FnOnce(&sojourn::Tracker) -> sojourn::Result<R> + Send + 'static,
        convert: fn(R) -> J,
    ) -> Call<R, J> {
        Call {
            tracker,
            op: Some(Box::new(op)),
            convert,
        }
    }
}

/// The core's call that a [`Call`] makes.
type Op<R> = Box<dyn FnOnce(&sojourn::Tracker) -> sojourn::Result<R> + Send>;

impl<R: Send + 'static, J: ToNapiValue> Task for Call<R, J> {
    type Output = sojourn::Result<R>;
    type JsValue = Out<J>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let op = self
            .op
            .take()
            .ok_or_else(|| napi::Error::from_reason("sojourn: a call ran twice".to_owned()))?;
        // A panic must not unwind into libuv; none is expected.
        catch_unwind(AssertUnwindSafe(|| op(&self.tracker)))
            .map_err(|_| napi::Error::from_reason("sojourn: a call panicked".to_owned()))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Out<J>> {
        match output {
            Ok(value) => Ok(Out((self.convert)(value))),
            // SAFETY: `env` is the main thread's, in the task's completion.
            Err(error) => Err(unsafe { rejection(env.raw(), ErrorValue(error))? }),
        }
    }
}

/// What the Promise rejects with: `error` made in `env`, handed to napi
/// as it is (napi would make another `Error` of its own, with napi's
/// status for `code`).
///
/// # Safety
///
/// `env` must be the current environment, on its thread.
pub(crate) unsafe fn rejection(
    env: sys::napi_env,
    error: impl ToErrorValue,
) -> napi::Result<napi::Error> {
    // SAFETY: as the caller's; the value is made in `env` and read at once.
    let value = unsafe { error.into_js(env)? };
    let value = unsafe { Unknown::from_napi_value(env, value)? };
    Ok(napi::Error::from(value))
}

/// An error made into a JavaScript `Error` with its `code`.
pub(crate) trait ToErrorValue {
    /// # Safety
    ///
    /// `env` must be the current environment, on its thread.
    unsafe fn into_js(self, env: sys::napi_env) -> napi::Result<sys::napi_value>;
}

impl ToErrorValue for ErrorValue {
    unsafe fn into_js(self, env: sys::napi_env) -> napi::Result<sys::napi_value> {
        // SAFETY: as the caller's.
        unsafe { ErrorValue::to_napi_value(env, self) }
    }
}

impl ToErrorValue for JsError<Code> {
    unsafe fn into_js(self, env: sys::napi_env) -> napi::Result<sys::napi_value> {
        // SAFETY: as the caller's.
        Ok(unsafe { self.into_value(env) })
    }
}

/// A task's result, as its conversion made it.
pub struct Out<J>(J);

impl<J> TypeName for Out<J> {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Unknown
    }
}

impl<J: ToNapiValue> ToNapiValue for Out<J> {
    unsafe fn to_napi_value(env: sys::napi_env, out: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: `env` is the one napi hands to every conversion.
        unsafe { J::to_napi_value(env, out.0) }
    }
}
