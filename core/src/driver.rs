//! The background driver: a sweeper thread that notices expiries every
//! `sweep_interval` and forgets dormant records past retention, and, with
//! an `on_end`, a deliverer thread that calls it whenever ends wait. Two
//! threads, so that a slow callback never holds up the sweeps.
//!
//! A thread that cannot start (a pids limit, `ulimit -u`) is reported by
//! a warning, and the tracker's own calls do the driver's work instead
//! (`Housekeeping`).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::sync::{Condvar, Mutex};

use crate::ends::Ends;

/// What the driver needs of a tracker: its sweeper's chore and its last
/// work at close; nothing of its internals.
pub(crate) trait Chores: Send + Sync + 'static {
    /// Departs the sessions due and forgets the records past retention.
    fn sweep_due(&self);
    /// The last sweep and delivery of a closing tracker; returns how many
    /// ends were dropped.
    fn close(&self) -> u64;
    /// The delivery of what is pending, without a sweep: a tracker closed
    /// before its last handle went (its store is not reached again).
    fn deliver(&self) -> u64;
}

#[derive(Default)]
struct Signal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// Owns the driver's threads; stopping it (or dropping the last handle)
/// wakes them and waits for them: at most the one callback running then.
pub(crate) struct Driver {
    inner: Weak<dyn Chores>,
    signal: Arc<Signal>,
    ends: Arc<Ends>,
    closed: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// The process that started the threads: a child after `fork()` has
    /// none of them, and must never wait for them.
    pid: u32,
}

impl Driver {
    /// Starts the threads the configuration asks for (none for a zero
    /// interval). Returns the error of a thread that could not start; the
    /// others are stopped then.
    pub fn start(
        inner: Weak<dyn Chores>,
        ends: Arc<Ends>,
        interval: Duration,
    ) -> (Driver, Option<std::io::Error>) {
        let driver = Driver {
            inner: inner.clone(),
            signal: Arc::default(),
            ends: Arc::clone(&ends),
            closed: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
            pid: std::process::id(),
        };
        if interval.is_zero() {
            return (driver, None);
        }
        let signal = Arc::clone(&driver.signal);
        let mut failed = spawn("sojourn-sweeper", move || sweep(&inner, &signal, interval))
            .map(|t| driver.threads.lock().push(t))
            .err();
        if failed.is_none() && ends.has_callback() {
            failed = spawn("sojourn-deliverer", move || ends.run_deliverer())
                .map(|t| driver.threads.lock().push(t))
                .err();
        }
        if failed.is_some() {
            driver.halt();
        }
        (driver, failed)
    }

    pub fn is_running(&self) -> bool {
        !self.threads.lock().is_empty()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Stops the threads and waits for them, unless called from one of
    /// them (a callback that closes or drops the tracker). In a child
    /// process after `fork()`, which has none of them, and whose locks may
    /// have been held by threads it does not have, it only marks the
    /// tracker closed and returns false.
    pub fn stop(&self) -> bool {
        self.closed.store(true, Ordering::Release);
        self.halt()
    }

    /// Stops the threads, as [`Driver::stop`] does, without marking the
    /// tracker closed.
    fn halt(&self) -> bool {
        if std::process::id() != self.pid {
            if let Some(mut threads) = self.threads.try_lock() {
                std::mem::forget(std::mem::take(&mut *threads));
            }
            return false;
        }
        *self.signal.stopped.lock() = true;
        self.signal.wake.notify_all();
        self.ends.stop();
        let threads = std::mem::take(&mut *self.threads.lock());
        for handle in threads {
            if handle.thread().id() != thread::current().id() {
                let _ = handle.join();
            }
        }
        true
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The last handle is gone: close, as `Tracker::close` would; if
        // it was closed already, only deliver the ends of calls made since.
        let was_closed = self.closed.swap(true, Ordering::AcqRel);
        if self.halt() {
            if let Some(inner) = self.inner.upgrade() {
                if was_closed {
                    inner.deliver();
                } else {
                    inner.close();
                }
            }
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    #[cfg(test)]
    if tests::REFUSE_THREADS.with(|refuse| refuse.get()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            "refused by the test",
        ));
    }
    thread::Builder::new().name(name.into()).spawn(f)
}

fn sweep(inner: &Weak<dyn Chores>, signal: &Signal, interval: Duration) {
    let mut next = Instant::now() + interval;
    loop {
        {
            let mut stopped = signal.stopped.lock();
            while !*stopped {
                let timed_out;
                (stopped, timed_out) = signal.wake.wait_until(stopped, next);
                if timed_out {
                    break;
                }
            }
            if *stopped {
                return;
            }
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.sweep_due();
        next = Instant::now() + interval;
    }
}

/// The driver's work done by the tracker's calls, when its threads could
/// not start: each call delivers what is pending, and the first call past
/// each `sweep_interval` sweeps.
pub(crate) struct Housekeeping {
    on_calls: AtomicBool,
    interval_ms: i64,
    next_ms: AtomicI64,
}

impl Housekeeping {
    pub fn new(interval: Duration) -> Self {
        Housekeeping {
            on_calls: AtomicBool::new(false),
            interval_ms: i64::try_from(interval.as_millis()).unwrap_or(i64::MAX),
            next_ms: AtomicI64::new(0),
        }
    }

    pub fn enable(&self) {
        self.on_calls.store(true, Ordering::Release);
    }

    pub fn disable(&self) {
        self.on_calls.store(false, Ordering::Release);
    }

    /// Whether calls do the driver's work.
    #[inline]
    pub fn on_calls(&self) -> bool {
        self.on_calls.load(Ordering::Relaxed)
    }

    /// Whether a sweep is due at `now`; true for one caller per interval.
    pub fn sweep_due(&self, now: i64) -> bool {
        let next = self.next_ms.load(Ordering::Relaxed);
        now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now.saturating_add(self.interval_ms),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use crate::{MockClock, Tracker, Warning};

    thread_local! {
        /// Makes this thread's trackers fail to start their threads.
        pub static REFUSE_THREADS: Cell<bool> = const { Cell::new(false) };
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn without_threads_the_calls_sweep_and_deliver_and_a_warning_says_so() {
        let clock = MockClock::new(1_767_225_600_000).unwrap();
        let warnings: Arc<Mutex<Vec<Warning>>> = Arc::default();
        let ends = Arc::new(Mutex::new(Vec::new()));
        let (w, e) = (Arc::clone(&warnings), Arc::clone(&ends));
        REFUSE_THREADS.with(|r| r.set(true));
        let tracker = Tracker::builder()
            .secret("a secret of at least sixteen bytes")
            .clock(clock.clone())
            .idle_timeout(Duration::from_secs(60))
            .sweep_interval(Duration::from_secs(1))
            .on_warning(move |warning| w.lock().unwrap().push(warning.clone()))
            .on_end(move |end| e.lock().unwrap().push(end.session.id))
            .build();
        REFUSE_THREADS.with(|r| r.set(false));
        let tracker = tracker.unwrap();
        let codes: Vec<_> = warnings.lock().unwrap().iter().map(|w| w.code).collect();
        assert_eq!(codes, ["NO_DRIVER"]);
        assert!(!tracker.driver.is_running());
        // An end is delivered by the call that made it.
        let a = tracker.start(None, None).unwrap().id;
        tracker.end(a).unwrap();
        assert_eq!(*ends.lock().unwrap(), [a]);
        // An idle session is swept by the first call past the interval.
        let b = tracker.start(None, None).unwrap().id;
        let c = tracker.start(None, None).unwrap().id;
        clock.advance(Duration::from_secs(61)).unwrap();
        assert!(tracker.get(c).unwrap().is_none());
        let d = tracker.start(None, None).unwrap().id;
        let got = ends.lock().unwrap().clone();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.contains(&b) && got.contains(&c) && !got.contains(&d));
        // close() ends that.
        tracker.close();
        clock.advance(Duration::from_secs(61)).unwrap();
        tracker.start(None, None).unwrap();
        assert_eq!(ends.lock().unwrap().len(), 3);
    }

    #[test]
    fn sweeps_go_on_while_a_callback_is_slow() {
        let clock = MockClock::new(1_767_225_600_000).unwrap();
        let (entered, blocked) = mpsc::channel::<()>();
        let (release, wait) = mpsc::channel::<()>();
        let wait = Mutex::new(wait);
        let tracker = Tracker::builder()
            .unsigned_tokens(true)
            .clock(clock.clone())
            .idle_timeout(Duration::from_secs(60))
            .sweep_interval(Duration::from_millis(2))
            .on_end(move |_| {
                let _ = entered.send(());
                let _ = wait.lock().unwrap().recv();
            })
            .build()
            .unwrap();
        let first = tracker.start(None, None).unwrap().id;
        tracker.end(first).unwrap();
        blocked.recv_timeout(Duration::from_secs(10)).unwrap();
        // The callback is stuck on the first end; ten sessions idle out.
        for _ in 0..10 {
            tracker.start(None, None).unwrap();
        }
        clock.advance(Duration::from_secs(61)).unwrap();
        let inner = &tracker.inner;
        wait_until("the sweeper to send them away", || {
            inner.ends.pending() == 10
        });
        drop(release);
        wait_until("their delivery", || inner.ends.pending() == 0);
        tracker.close();
    }

    #[test]
    fn a_tracker_without_a_secret_warns_unless_told_so() {
        let codes = |b: crate::TrackerBuilder| {
            let seen: Arc<Mutex<Vec<&'static str>>> = Arc::default();
            let sink = Arc::clone(&seen);
            let t = b
                .sweep_interval(Duration::ZERO)
                .on_warning(move |w| sink.lock().unwrap().push(w.code))
                .build()
                .unwrap();
            let forked = t.forked().unwrap();
            drop((t, forked));
            seen.lock().unwrap().clone()
        };
        assert_eq!(codes(Tracker::builder()), ["UNSIGNED_TOKENS"]);
        assert!(codes(Tracker::builder().unsigned_tokens(true)).is_empty());
        assert!(codes(Tracker::builder().secret("sixteen bytes or more")).is_empty());
    }
}
