//! Delivery of session ends to the main thread, where JavaScript's `onEnd`
//! runs. The core is built with `on_ends_ready`: it keeps the ends in its
//! own bounded queue (past `maxPendingEnds` the oldest is dropped and
//! counted), and tells [`Notifier::notify`], from whichever thread queued
//! them, that some wait: once, until they have all been taken. That makes
//! one call of a threadsafe function, without a payload and without
//! waiting, which runs the wrapper's `ready` function on the main thread on
//! a later turn of the event loop; `ready` takes the pending ends with
//! `_takeEnds` ([`EndBatch`]) and calls `onEnd` with each (`node/sojourn.js`).
//!
//! So nothing but that one call is ever queued in the threadsafe function,
//! however many ends wait, and the ends themselves stay in the core's
//! bounded queue, which is freed with the tracker. The threadsafe function
//! is unreferenced: it never keeps the process alive. It is released by
//! `close()`, when the tracker is dropped, and when its environment is torn
//! down (a worker thread that exits: [`Teardown`]), whichever comes first;
//! the pending ends are dropped then too.
//!
//! The threadsafe function is made with napi's own calls rather than
//! napi-rs's: a call without a payload, nothing to free when the
//! environment goes away with calls queued, and no call of
//! `napi_fatal_exception` (a crash) should `ready` ever throw.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use napi::bindgen_prelude::{Float64Array, ToNapiValue};
use napi::sys;

use crate::convert::{self, check};
use crate::error::{OrThrow, Result};
use crate::internal::Compact;
use crate::scratch::slot;

/// The numbers of one end in an [`EndBatch`]: the session's, in the slots
/// of the scratch buffer ([`slot`]), then these.
pub mod end_slot {
    use crate::scratch::slot;

    /// When the session ended, in milliseconds since the Unix epoch.
    pub const ENDED_AT: usize = slot::EXPIRES_AT + 1;
    /// `lastSeen - startedAt`, in milliseconds.
    pub const DURATION: usize = ENDED_AT + 1;
    /// Why: 0 idle, 1 lifetime, 2 ended, 3 evicted.
    pub const REASON: usize = DURATION + 1;
    /// Whether it is revivable: 1 or 0.
    pub const REVIVABLE: usize = REASON + 1;
    /// The numbers of one end.
    pub const LENGTH: usize = REVIVABLE + 1;
}

/// A threadsafe function handle, used under the [`Slot`]'s lock only.
struct Raw(sys::napi_threadsafe_function);

// SAFETY: napi's threadsafe functions are made to be called and released
// from any thread; the handle is only used while the slot's lock is held,
// and forgotten (under it) when napi finalizes the function.
unsafe impl Send for Raw {}

/// The threadsafe function, until it is released or finalized.
#[derive(Default)]
struct Slot(Mutex<Option<Raw>>);

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Option<Raw>> {
        // Nothing panics while the lock is held.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Tells the main thread that ends wait, from any thread (and, over
/// another function, that warnings wait: `tracker.rs`).
#[derive(Clone)]
pub struct Notifier(Arc<Slot>);

impl Notifier {
    /// A threadsafe function over `ready`, which it calls with no argument;
    /// unreferenced, so that it never keeps the process alive. `label`
    /// names it in diagnostics.
    ///
    /// # Safety
    ///
    /// `env` must be the environment of the current call, and `ready` a
    /// function of that call.
    pub unsafe fn new(env: sys::napi_env, ready: sys::napi_value, label: &str) -> Result<Notifier> {
        let slot = Arc::new(Slot::default());
        let mut name = ptr::null_mut();
        // SAFETY (every napi call here): `env` and `ready` are the call's,
        // and each out-pointer is to a local.
        check(unsafe {
            sys::napi_create_string_utf8(
                env,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            )
        })
        .or_throw()?;
        // The function's finalizer owns this reference until napi calls it.
        let finalize_data = Arc::into_raw(Arc::clone(&slot)).cast_mut().cast::<c_void>();
        let mut raw = ptr::null_mut();
        let made = check(unsafe {
            sys::napi_create_threadsafe_function(
                env,
                ready,
                ptr::null_mut(),
                name,
                // No bound: at most one call is queued at a time anyway.
                0,
                1,
                finalize_data,
                Some(finalized),
                ptr::null_mut(),
                Some(call_ready),
                &mut raw,
            )
        });
        if let Err(error) = made {
            // SAFETY: napi did not take the reference: it is still ours.
            drop(unsafe { Arc::from_raw(finalize_data.cast::<Slot>()) });
            return Err(error).or_throw();
        }
        *slot.lock() = Some(Raw(raw));
        let notifier = Notifier(slot);
        if let Err(error) = check(unsafe { sys::napi_unref_threadsafe_function(env, raw) }) {
            notifier.release();
            return Err(error).or_throw();
        }
        Ok(notifier)
    }

    /// Asks for a call of `ready` on the main thread, on a later turn of
    /// its event loop; returns at once. Nothing once released.
    pub fn notify(&self) {
        let mut slot = self.0.lock();
        if let Some(Raw(raw)) = *slot {
            // SAFETY: the function is alive while it is in the slot: it is
            // taken out under this lock before it is released, and when
            // napi finalizes it.
            let status = unsafe {
                sys::napi_call_threadsafe_function(
                    raw,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
            if status != sys::Status::napi_ok {
                // Closing: its environment is going away, and napi has
                // let go of this thread's use of it.
                *slot = None;
            }
        }
    }

    /// Lets go of the function: no call of `ready` after this one, and the
    /// calls queued are dropped. Twice is nothing.
    pub fn release(&self) {
        if let Some(Raw(raw)) = self.0.lock().take() {
            // SAFETY: as in `notify`. Aborting empties the queue, whose
            // calls carry nothing to free. The status is not checked: this
            // fails only if napi is closing the function already.
            unsafe {
                sys::napi_release_threadsafe_function(
                    raw,
                    sys::ThreadsafeFunctionReleaseMode::abort,
                )
            };
        }
    }
}

/// napi's call of `ready` on the main thread. Never throws into Node: an
/// exception that `ready` lets escape (it catches what `onEnd` throws, so
/// only a terminating worker's) is cleared.
unsafe extern "C" fn call_ready(
    env: sys::napi_env,
    ready: sys::napi_value,
    _context: *mut c_void,
    _data: *mut c_void,
) {
    // Both are null when the environment is torn down with calls queued:
    // there is nothing to free.
    if env.is_null() || ready.is_null() {
        return;
    }
    let mut this = ptr::null_mut();
    let mut result = ptr::null_mut();
    // SAFETY: `env` and `ready` are napi's, valid in this call.
    unsafe {
        if sys::napi_get_undefined(env, &mut this) != sys::Status::napi_ok {
            return;
        }
        let status = sys::napi_call_function(env, this, ready, 0, ptr::null(), &mut result);
        if status == sys::Status::napi_pending_exception {
            let mut exception = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut exception);
        }
    }
}

/// napi's finalizer of the function: it is gone, and must never be called
/// or released again.
unsafe extern "C" fn finalized(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the reference that `Notifier::new` gave napi.
    let slot = unsafe { Arc::from_raw(data.cast::<Slot>()) };
    slot.lock().take();
}

/// Lets go of the threadsafe function and drops the pending ends when the
/// environment is torn down (a worker thread exits, the process ends),
/// through an environment cleanup hook: nothing of the tracker's ends
/// outlives its environment. Dropping this removes the hook.
pub struct Teardown {
    env: sys::napi_env,
    hook: *mut Hook,
}

struct Hook {
    notifier: Notifier,
    tracker: sojourn::Tracker,
    /// The hook has run: the environment is being torn down, and the hook
    /// is not to be removed (napi could not tell which environment it is
    /// in, outside a JavaScript context).
    ran: AtomicBool,
}

impl Teardown {
    /// Registers the hook for `tracker`'s ends in `env`.
    ///
    /// # Safety
    ///
    /// `env` must be the environment of the current call, on its thread;
    /// the value must be dropped on that thread, while `env` is alive.
    pub unsafe fn new(
        env: sys::napi_env,
        notifier: Notifier,
        tracker: sojourn::Tracker,
    ) -> Result<Teardown> {
        let hook = Box::into_raw(Box::new(Hook {
            notifier,
            tracker,
            ran: AtomicBool::new(false),
        }));
        // SAFETY: `hook` lives until `drop`, which removes the hook first.
        let added =
            check(unsafe { sys::napi_add_env_cleanup_hook(env, Some(torn_down), hook.cast()) });
        if let Err(error) = added {
            // SAFETY: not registered: still ours alone.
            drop(unsafe { Box::from_raw(hook) });
            return Err(error).or_throw();
        }
        Ok(Teardown { env, hook })
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        // SAFETY: the hook was added with these values in this environment,
        // which is alive on this thread; once it has run, napi has let go
        // of it, and it is only freed.
        unsafe {
            if !(*self.hook).ran.load(Ordering::Acquire) {
                sys::napi_remove_env_cleanup_hook(self.env, Some(torn_down), self.hook.cast());
            }
            drop(Box::from_raw(self.hook));
        }
    }
}

/// The cleanup hook: the environment is going away.
unsafe extern "C" fn torn_down(hook: *mut c_void) {
    // SAFETY: `hook` is a `Teardown`'s, alive until that is dropped.
    let hook = unsafe { &*hook.cast::<Hook>() };
    hook.ran.store(true, Ordering::Release);
    // A panic must not unwind into Node; none is expected.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        hook.notifier.release();
        // The ends pending now; the tracker, with anything queued after,
        // goes when napi finalizes it, right after the hooks.
        drop(hook.tracker.take_ends(usize::MAX));
    }));
}

/// Ends taken for the wrapper: `[numbers, session, session…]`, `numbers`
/// a `Float64Array` of [`end_slot::LENGTH`] numbers an end, and each
/// session as the other internal methods return one ([`Compact`]).
pub struct EndBatch(pub Vec<sojourn::SessionEnd>);

impl ToNapiValue for EndBatch {
    unsafe fn to_napi_value(env: sys::napi_env, batch: Self) -> napi::Result<sys::napi_value> {
        let mut numbers = Vec::with_capacity(end_slot::LENGTH * batch.0.len());
        let mut array = ptr::null_mut();
        // SAFETY (every napi call here): `env` is the one napi hands to
        // every conversion, and each value is made in it.
        check(unsafe { sys::napi_create_array_with_length(env, batch.0.len() + 1, &mut array) })?;
        for (i, end) in (1..).zip(batch.0) {
            let at = numbers.len();
            numbers.resize(at + end_slot::LENGTH, 0.0);
            let n = &mut numbers[at..];
            let s = &end.session;
            n[slot::VIEW_SEQUENCE] = convert::number(s.view_sequence);
            n[slot::EVENT_SEQUENCE] = convert::number(s.event_sequence);
            n[slot::SEQUENCE] = convert::number(s.sequence);
            n[slot::SESSION_INDEX] = f64::from(s.session_index);
            n[slot::REVIVALS] = f64::from(s.revivals);
            n[slot::STARTED_AT] = s.started_at.timestamp_millis() as f64;
            n[slot::LAST_SEEN] = s.last_seen.timestamp_millis() as f64;
            n[slot::EXPIRES_AT] = s.expires_at.timestamp_millis() as f64;
            n[end_slot::ENDED_AT] = end.ended_at.timestamp_millis() as f64;
            n[end_slot::DURATION] = end.duration.as_millis() as f64;
            n[end_slot::REASON] = match end.reason {
                sojourn::EndReason::Idle => 0.0,
                sojourn::EndReason::Lifetime => 1.0,
                sojourn::EndReason::Ended => 2.0,
                sojourn::EndReason::Evicted => 3.0,
            };
            n[end_slot::REVIVABLE] = f64::from(u8::from(end.revivable));
            let session = unsafe { Compact::to_napi_value(env, Compact::new(end.session))? };
            check(unsafe { sys::napi_set_element(env, array, i, session) })?;
        }
        let numbers = unsafe { Float64Array::to_napi_value(env, Float64Array::new(numbers))? };
        check(unsafe { sys::napi_set_element(env, array, 0, numbers) })?;
        Ok(array)
    }
}
