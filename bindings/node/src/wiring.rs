//! What ties a core tracker to JavaScript, for both classes (`Tracker`,
//! `RedisTracker`): the threadsafe functions that tell the main thread when
//! session ends wait (`ready`) and when warnings given on another thread
//! wait (`warned`), the hook that lets go of them when the environment is
//! torn down, and the core's warnings kept for the wrapper.
//!
//! It is made in two steps, so that the core tracker may be built off the
//! main thread in between (a Redis tracker connects there): [`Wiring`], on
//! the main thread, makes the threadsafe functions and hands the builder
//! its hooks; once the tracker is built, [`Wiring::attach`], on the main
//! thread again, adds the teardown hook and gives the [`Wired`] tracker.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use napi::bindgen_prelude::Function;
use napi::{JsValue, sys};
use sojourn::TrackerBuilder;

use crate::convert::{self, Arg};
use crate::ends::{EndBatch, Notifier, Teardown};
use crate::error::Result;

/// The warnings the core gave, until the wrapper takes them.
type Warnings = Arc<Mutex<Vec<sojourn::Warning>>>;

/// The threadsafe functions, made before the core tracker is built; let go
/// of when dropped (a tracker that could not be built).
pub struct Wiring {
    /// With `ready`: tells the main thread that ends wait.
    notifier: Option<Notifier>,
    alarm: Option<Alarm>,
    warnings: Warnings,
    /// `maxPendingEnds`, `closeTimeout` and `sweepInterval`.
    ends_options: (usize, Duration, Duration),
}

impl Drop for Wiring {
    fn drop(&mut self) {
        if let Some(notifier) = self.notifier.take() {
            notifier.release();
        }
    }
}

impl Wiring {
    /// The threadsafe functions over `ready` and `warned`, and `builder`
    /// with the hooks that call them: the core's warnings are kept for the
    /// wrapper (and `warned` is called, for those given on another
    /// thread), and, with `ready`, the core keeps the session ends for the
    /// wrapper and `ready` is called when some wait.
    ///
    /// # Safety
    ///
    /// `env` must be the environment of the current call, on its thread.
    pub unsafe fn new(
        env: sys::napi_env,
        mut builder: TrackerBuilder,
        ready: Option<Arg<Function<'_, (), ()>>>,
        warned: Option<Arg<Function<'_, (), ()>>>,
    ) -> Result<(TrackerBuilder, Wiring)> {
        let ready = ready.map(|f| f.get("ready")).transpose()?;
        let warned = warned.map(|f| f.get("warned")).transpose()?;
        let alarm = match warned {
            // SAFETY: `warned` is a function of this call, in its `env`.
            Some(warned) => Some(Alarm(unsafe {
                Notifier::new(env, warned.raw(), "sojourn.warned")?
            })),
            None => None,
        };
        let warnings: Warnings = Arc::default();
        let sink = Arc::clone(&warnings);
        let wake = alarm.as_ref().map(|a| a.0.clone());
        builder = builder.on_warning(move |warning| {
            let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
            sink.push(warning.clone());
            drop(sink);
            // The wrapper takes the warnings after the calls that give
            // them; the driver's come between calls, and only this tells it.
            if let Some(wake) = &wake {
                wake.notify();
            }
        });
        let notifier = match ready {
            // SAFETY: `ready` is a function of this call, in its `env`.
            Some(ready) => Some(unsafe { Notifier::new(env, ready.raw(), "sojourn.onEnd")? }),
            None => None,
        };
        if let Some(notifier) = &notifier {
            let notifier = notifier.clone();
            builder = builder.on_ends_ready(move || notifier.notify());
        }
        let config = builder.config();
        let ends_options = (
            config.max_pending_ends,
            config.close_timeout,
            config.sweep_interval,
        );
        let wiring = Wiring {
            notifier,
            alarm,
            warnings,
            ends_options,
        };
        Ok((builder, wiring))
    }

    /// `inner`, the tracker built with this wiring's builder, wired: with
    /// `ready`, the environment's teardown lets go of the threadsafe
    /// function and of the pending ends.
    ///
    /// # Safety
    ///
    /// `env` must be the environment of the current call, on its thread
    /// (the one `new` was called in); the value must be dropped there.
    pub unsafe fn attach(mut self, env: sys::napi_env, inner: sojourn::Tracker) -> Result<Wired> {
        let delivery = match &self.notifier {
            // SAFETY: this call's `env`; a tracker is dropped on the main
            // thread of its environment, which is alive then.
            Some(n) => Some(Delivery {
                _teardown: unsafe { Teardown::new(env, n.clone(), inner.clone())? },
                notifier: n.clone(),
            }),
            None => None,
        };
        // Now the delivery's (dropping this would release it).
        self.notifier = None;
        Ok(Wired {
            delivery,
            alarm: self.alarm.take(),
            inner,
            warnings: Arc::clone(&self.warnings),
            ends_options: self.ends_options,
        })
    }
}

/// A core tracker and its wiring.
pub struct Wired {
    /// With `onEnd`, how ends reach the main thread; first, so that it is
    /// let go of before the core tracker closes.
    delivery: Option<Delivery>,
    /// With `warned`, how the warnings given on another thread reach the
    /// main thread; before the core tracker, as `delivery`.
    alarm: Option<Alarm>,
    pub inner: sojourn::Tracker,
    /// The core's warnings, for the wrapper to emit (`_takeWarnings`):
    /// given on the main thread (while the tracker is made, when `close()`
    /// drops ends, when a sweep fails) or on another (a background sweep
    /// that fails; any call of a Redis tracker), which then calls `warned`
    /// through `alarm`.
    warnings: Warnings,
    /// `maxPendingEnds`, `closeTimeout` and `sweepInterval`, for the
    /// wrapper's delivery.
    ends_options: (usize, Duration, Duration),
}

impl Wired {
    /// After the core's `close()`: lets go of the threadsafe functions.
    /// The wrapper delivers the pending ends itself (the core drops none
    /// here), and takes the warnings of later calls after each.
    pub fn release(&self) {
        if let Some(delivery) = &self.delivery {
            delivery.notifier.release();
        }
        if let Some(alarm) = &self.alarm {
            alarm.0.release();
        }
    }

    /// What does as [`Wired::release`] from any thread (a Redis tracker's
    /// `close()` releases on the thread pool, after the core's).
    pub fn releaser(&self) -> Releaser {
        let delivery = self.delivery.as_ref().map(|d| d.notifier.clone());
        let alarm = self.alarm.as_ref().map(|a| a.0.clone());
        Releaser(delivery.into_iter().chain(alarm).collect())
    }

    /// Up to `max` of the pending ends, oldest first.
    pub fn take_ends(&self, max: usize) -> Vec<sojourn::SessionEnd> {
        self.inner.take_ends(max)
    }

    /// Drops every pending end, and `taken` ends that the wrapper took but
    /// will not deliver: the core counts them in `stats().endsDropped` and
    /// warns `ENDS_DROPPED`. Returns how many.
    pub fn drop_ends(&self, taken: u64) -> u64 {
        let taken = usize::try_from(taken).unwrap_or(usize::MAX);
        self.inner.drop_ends(taken) as u64
    }

    /// The warnings that the core gave so far; each once.
    pub fn take_warnings(&self) -> Vec<sojourn::Warning> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// `maxPendingEnds`, `closeTimeout` and `sweepInterval`.
    pub fn ends_options(&self) -> (usize, Duration, Duration) {
        self.ends_options
    }

    /// `_takeEnds(max)`: up to `max` pending ends for the wrapper, `None`
    /// when none is pending.
    pub fn take_ends_packed(&self, max: f64) -> Result<Option<EndBatch>> {
        let max = convert::size(max, "max")?;
        let ends = self.take_ends(max);
        Ok((!ends.is_empty()).then_some(EndBatch(ends)))
    }

    /// `_dropEnds(taken)`.
    pub fn drop_ends_internal(&self, taken: f64) -> Result<f64> {
        let taken = convert::count(taken, "taken")?;
        Ok(convert::number(self.drop_ends(taken)))
    }

    /// `_takeWarnings()`: `[code, message, code, message…]`.
    pub fn take_warnings_internal(&self) -> Vec<String> {
        self.take_warnings()
            .into_iter()
            .flat_map(|w| [w.code.to_owned(), w.message])
            .collect()
    }

    /// `_endsOptions()`: `[maxPendingEnds, closeTimeout, sweepInterval]`,
    /// durations in milliseconds.
    pub fn ends_options_internal(&self) -> Vec<f64> {
        let (max, timeout, interval) = self.ends_options();
        vec![
            max as f64,
            timeout.as_millis() as f64,
            interval.as_millis() as f64,
        ]
    }
}

/// Lets go of a tracker's threadsafe functions, from any thread.
pub struct Releaser(Vec<Notifier>);

impl Releaser {
    /// As [`Wired::release`].
    pub fn release(&self) {
        for notifier in &self.0 {
            notifier.release();
        }
    }
}

/// The threadsafe function that tells the main thread when ends wait, and
/// the hook that lets go of it and of the pending ends when the
/// environment is torn down. Released when dropped.
struct Delivery {
    notifier: Notifier,
    _teardown: Teardown,
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.notifier.release();
    }
}

/// The threadsafe function that tells the main thread when warnings wait
/// (`warned`). Released by `close()` and when dropped; napi finalizes it
/// when the environment is torn down.
struct Alarm(Notifier);

impl Drop for Alarm {
    fn drop(&mut self) {
        self.0.release();
    }
}
