//! One tracker per process: the trackers this process has open, closed
//! when the interpreter exits, and renewed in a child after `fork()`.
//!
//! At exit: a driver thread that calls `on_end` while the interpreter
//! finalizes would try to take a GIL that no longer exists; the module
//! registers `_close_all` with `atexit`, which runs before finalization,
//! so exiting never aborts, and the pending ends are delivered (within
//! each tracker's `close_timeout`).
//!
//! After `fork()` (gunicorn `--preload`, `multiprocessing`): the child has
//! a copy of every tracker, but not the threads that drove them, and their
//! locks may be copied held. The package calls `_after_fork_in_child` from
//! `os.register_at_fork`: it gives every tracker object a new core
//! tracker with the same configuration (`Tracker::forked`), and forgets the
//! copied one without touching it. Each [`Slot`] holds the core tracker of
//! one Python tracker, so that the object the application holds keeps
//! working in the child.
//!
//! A tracker on Redis connects when it is renewed. If its Redis does not
//! answer then, the slot is left *stale*: it keeps the parent's copy,
//! which is never used (its connections are the parent's), and the next
//! call that needs the store renews it, or raises the `StoreError` that
//! renewing gave, as a call to a Redis that is down would.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use arc_swap::ArcSwap;
use pyo3::prelude::*;
use sojourn::Tracker;

use crate::warnings;

/// The core tracker of one Python tracker: replaced in a child after fork.
pub struct Slot {
    /// Dropped with the slot unless it is stale.
    tracker: ManuallyDrop<ArcSwap<Tracker>>,
    /// In a child after fork: the tracker is still the parent's copy,
    /// because renewing it failed (its Redis did not answer).
    stale: AtomicBool,
    /// `close()` was called while the slot was stale: its renewal is
    /// closed at once.
    closed_stale: AtomicBool,
}

impl Slot {
    /// A new slot, remembered (without being kept alive) for `close_all`
    /// and for a child after fork.
    pub fn register(tracker: Tracker) -> Arc<Slot> {
        let slot = Arc::new(Slot {
            tracker: ManuallyDrop::new(ArcSwap::from_pointee(tracker)),
            stale: AtomicBool::new(false),
            closed_stale: AtomicBool::new(false),
        });
        let mut open = open();
        open.retain(|s| s.strong_count() > 0);
        open.push(Arc::downgrade(&slot));
        slot
    }

    /// The tracker, for one call that may use a stale slot's without
    /// reaching the store (`token`, `closed`), or that knows the slot is
    /// not stale: a tracker on the memory store is always renewed.
    #[inline]
    pub fn get(&self) -> arc_swap::Guard<Arc<Tracker>> {
        self.tracker.load()
    }

    /// The tracker for a call that reaches the store: a stale slot is
    /// renewed first, or the renewal's error returned. May connect to
    /// Redis: call it with the GIL let go.
    pub fn current(&self) -> sojourn::Result<arc_swap::Guard<Arc<Tracker>>> {
        if self.stale.load(Ordering::Acquire) {
            self.renew()?;
        }
        Ok(self.get())
    }

    /// Whether `close()` was called (a stale slot's: on it, in this child).
    pub fn is_closed(&self) -> bool {
        self.closed_stale.load(Ordering::Acquire) || self.get().is_closed()
    }

    /// `close()` of a stale slot that cannot be renewed: this process
    /// never had a tracker of its own, so nothing is pending; its renewal
    /// will be closed.
    pub fn close_stale(&self) {
        self.closed_stale.store(true, Ordering::Release);
    }

    /// In a child after fork: the parent's copy replaced by a tracker of
    /// this process's, or the slot marked stale if that fails.
    fn renew_after_fork(&self) {
        if self.renew().is_err() {
            self.stale.store(true, Ordering::Release);
        }
    }

    /// Replaces the parent's copy with a new tracker of the same
    /// configuration (`Tracker::forked`). Several threads may try at once:
    /// the first to swap wins, the others' trackers are dropped (they are
    /// this process's own).
    fn renew(&self) -> sojourn::Result<()> {
        let copied = self.tracker.load_full();
        // The parent's copy must never be dropped: its locks may be held by
        // threads this process does not have. This reference is never
        // given back, so no other can be its last.
        let copied = ManuallyDrop::new(copied);
        let child = copied.forked()?;
        if self.closed_stale.load(Ordering::Acquire) {
            child.close();
        }
        let previous = self.tracker.compare_and_swap(&*copied, Arc::new(child));
        if Arc::ptr_eq(&previous, &copied) {
            self.stale.store(false, Ordering::Release);
        }
        Ok(())
    }

    /// Whether the slot still holds the parent's copy.
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Acquire)
    }

    /// The tracker, to hand to another thread or keep; none for a stale
    /// slot, whose tracker is the parent's.
    fn get_full(&self) -> Option<Arc<Tracker>> {
        (!self.is_stale()).then(|| self.tracker.load_full())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !*self.stale.get_mut() {
            // SAFETY: `tracker` is not used again: this is the slot's end.
            unsafe { ManuallyDrop::drop(&mut self.tracker) };
        }
        // A stale slot's tracker is the parent's copy: never dropped.
    }
}

// Taken only with the GIL held, and never across anything that lets it go:
// so no other thread holds it when a thread (which holds the GIL) forks.
static OPEN: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

fn open() -> std::sync::MutexGuard<'static, Vec<Weak<Slot>>> {
    OPEN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Closes every tracker still alive: stops its driver after delivering its
/// pending ends (each within its `close_timeout`); returns how many ends
/// were dropped, and gives the core's `ENDS_DROPPED` warnings. Registered
/// with `atexit` by the module.
#[pyfunction]
#[pyo3(name = "_close_all")]
pub fn close_all(py: Python<'_>) -> PyResult<usize> {
    let trackers: Vec<Arc<Tracker>> = std::mem::take(&mut *open())
        .iter()
        .filter_map(Weak::upgrade)
        .filter_map(|slot| slot.get_full())
        .collect();
    let dropped = py.detach(move || trackers.iter().map(|tracker| tracker.close()).sum());
    // Ends dropped past a `close_timeout` say so.
    warnings::give(py)?;
    Ok(dropped)
}

/// In a child process just forked: every open tracker gets a core tracker
/// of its own (empty, its own driver, the same configuration); the copies
/// of the parent's are forgotten, never touched. Called by the package's
/// `os.register_at_fork(after_in_child=...)` hook.
#[pyfunction]
#[pyo3(name = "_after_fork_in_child")]
pub fn after_fork_in_child(py: Python<'_>) -> PyResult<()> {
    let slots: Vec<Arc<Slot>> = open().iter().filter_map(Weak::upgrade).collect();
    for slot in slots {
        slot.renew_after_fork();
    }
    // A driver thread that could not start in the child says so.
    warnings::give(py)
}
