//! The background driver: a thread that sweeps every `sweep_interval`, so
//! that expiries are noticed and ends delivered even without traffic. An
//! explicit end nudges it to deliver at once, off the caller's thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::tracker::Inner;

#[derive(Default)]
struct State {
    stopped: bool,
    nudged: bool,
}

#[derive(Default)]
struct Signal {
    state: Mutex<State>,
    wake: Condvar,
}

/// Owns the driver thread; stopping it (or dropping the last handle)
/// wakes the thread and waits for it to finish its sweep.
pub(crate) struct Driver {
    signal: Arc<Signal>,
    closed: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Driver {
    pub fn start(inner: Weak<Inner>, interval: Duration) -> Driver {
        let signal = Arc::new(Signal::default());
        let thread = if interval.is_zero() {
            None
        } else {
            let signal = Arc::clone(&signal);
            thread::Builder::new()
                .name("sojourn-driver".into())
                .spawn(move || run(&inner, &signal, interval))
                .ok()
        };
        Driver {
            signal,
            closed: AtomicBool::new(false),
            thread: Mutex::new(thread),
        }
    }

    pub fn is_running(&self) -> bool {
        self.thread.lock().is_some()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Asks the driver to deliver pending ends now rather than at its next
    /// sweep.
    pub fn nudge(&self) {
        self.signal.state.lock().nudged = true;
        self.signal.wake.notify_one();
    }

    pub fn stop(&self) {
        self.closed.store(true, Ordering::Release);
        self.signal.state.lock().stopped = true;
        self.signal.wake.notify_all();
        let handle = self.thread.lock().take();
        if let Some(handle) = handle {
            // A callback that drops the last tracker handle runs on the
            // driver thread itself, which must not wait for itself.
            if handle.thread().id() != thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(inner: &Weak<Inner>, signal: &Signal, interval: Duration) {
    let mut next_sweep = Instant::now() + interval;
    // Ends queued while the last batch was being delivered.
    let mut more = false;
    loop {
        let nudged = {
            let mut state = signal.state.lock();
            while !state.stopped && !state.nudged && !more {
                if signal.wake.wait_until(&mut state, next_sweep).timed_out() {
                    break;
                }
            }
            if state.stopped {
                return;
            }
            std::mem::take(&mut state.nudged)
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if Instant::now() >= next_sweep {
            inner.expire_due();
            next_sweep = Instant::now() + interval;
            more = inner.ends.deliver();
        } else if nudged || more {
            more = inner.ends.deliver();
        }
    }
}
