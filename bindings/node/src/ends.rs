//! Delivery of session ends to the JavaScript `onEnd` function: the core
//! calls back from whichever thread delivers (the driver thread, or the
//! caller of `sweep`); each end is queued for the main thread through a
//! threadsafe function, without waiting.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use napi::Env;
use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::error::{OrThrow, Result};
use crate::session::SessionEnd;

type Queue = ThreadsafeFunction<SessionEnd, (), SessionEnd, napi::Status, false>;

/// The `onEnd` function, held until `close()` releases it.
#[derive(Clone)]
pub struct OnEnd(Arc<Mutex<Option<Queue>>>);

impl OnEnd {
    /// Holds `f` for calls from any thread. It does not keep the process
    /// alive: a script that never closes its tracker exits when its own
    /// work is done.
    pub fn new(env: &Env, f: &Function<SessionEnd, ()>) -> Result<OnEnd> {
        let mut queue = f
            .build_threadsafe_function::<SessionEnd>()
            .build()
            .or_throw()?;
        // `unref` and `refer` are deprecated for clones that hold the
        // function alive; here they are what they were made for: not
        // holding the event loop while idle, and holding it in `release`
        // until the last ends are delivered.
        #[allow(deprecated)]
        queue.unref(env).or_throw()?;
        Ok(OnEnd(Arc::new(Mutex::new(Some(queue)))))
    }

    /// The core's callback: queues each end for the main thread.
    pub fn callback(&self) -> impl Fn(sojourn::SessionEnd) + Send + Sync + 'static {
        let slot = Arc::clone(&self.0);
        move |end| {
            if let Some(queue) = &*lock(&slot) {
                // A call fails only once the environment is shutting down,
                // when nobody is left to tell.
                let _ = queue.call(end.into(), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }

    /// Lets go of the function. The ends already queued are still
    /// delivered, and the process waits for them; later ends are dropped.
    pub fn release(&self, env: &Env) -> Result<()> {
        if let Some(mut queue) = lock(&self.0).take() {
            #[allow(deprecated)]
            queue.refer(env).or_throw()?;
        }
        Ok(())
    }
}

fn lock(slot: &Mutex<Option<Queue>>) -> MutexGuard<'_, Option<Queue>> {
    // The lock is never held across a call that can panic.
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}
