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

use std::sync::{Arc, Mutex, PoisonError, Weak};

use arc_swap::ArcSwap;
use pyo3::prelude::*;
use sojourn::Tracker;

use crate::warnings;

/// The core tracker of one Python tracker: replaced in a child after fork.
pub struct Slot(ArcSwap<Tracker>);

impl Slot {
    /// A new slot, remembered (without being kept alive) for `close_all`
    /// and for a child after fork.
    pub fn register(tracker: Tracker) -> Arc<Slot> {
        let slot = Arc::new(Slot(ArcSwap::from_pointee(tracker)));
        let mut open = open();
        open.retain(|s| s.strong_count() > 0);
        open.push(Arc::downgrade(&slot));
        slot
    }

    /// The tracker, for one call.
    pub fn get(&self) -> arc_swap::Guard<Arc<Tracker>> {
        self.0.load()
    }

    /// The tracker, to hand to another thread or keep.
    pub fn get_full(&self) -> Arc<Tracker> {
        self.0.load_full()
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
        .map(|slot| slot.get_full())
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
        let parent = slot.get_full();
        if let Ok(child) = parent.forked() {
            let copied = slot.0.swap(Arc::new(child));
            // Its locks may be held by threads this process does not have,
            // and dropping it would wait for them: never touch it again.
            std::mem::forget(copied);
            std::mem::forget(parent);
        }
    }
    // A driver thread that could not start in the child says so.
    warnings::give(py)
}
