//! The background driver: a thread that sweeps every `sweep_interval`, so
//! that expiries are noticed and ends delivered even without traffic.

use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::tracker::Inner;

#[derive(Default)]
struct Signal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// Owns the driver thread; stopping it (or dropping the last handle)
/// wakes the thread and waits for it to finish its sweep.
pub(crate) struct Driver {
    signal: Arc<Signal>,
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
            thread: Mutex::new(thread),
        }
    }

    pub fn is_running(&self) -> bool {
        self.thread.lock().is_some()
    }

    pub fn stop(&self) {
        *self.signal.stopped.lock() = true;
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
    loop {
        {
            let mut stopped = signal.stopped.lock();
            if !*stopped {
                signal.wake.wait_for(&mut stopped, interval);
            }
            if *stopped {
                return;
            }
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.sweep();
    }
}
