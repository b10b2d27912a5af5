//! Stopping every tracker's background driver when the interpreter exits.
//!
//! A driver thread that calls `on_end` while the interpreter finalizes
//! would try to take a GIL that no longer exists; the module registers
//! `_close_all` with `atexit`, which runs before finalization, so exiting
//! never aborts, whether or not the program closed its trackers.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use pyo3::prelude::*;
use sojourn::Tracker;

static OPEN: Mutex<Vec<Weak<Tracker>>> = Mutex::new(Vec::new());

/// Remembers a tracker, without keeping it alive, for `close_all`.
pub fn register(tracker: &Arc<Tracker>) {
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    open.retain(|t| t.strong_count() > 0);
    open.push(Arc::downgrade(tracker));
}

/// Closes every tracker still alive: stops its driver after delivering its
/// pending ends. Registered with `atexit` by the module.
#[pyfunction]
#[pyo3(name = "_close_all")]
pub fn close_all(py: Python<'_>) {
    let open: Vec<Arc<Tracker>> =
        std::mem::take(&mut *OPEN.lock().unwrap_or_else(PoisonError::into_inner))
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
    py.detach(move || {
        for tracker in &open {
            tracker.close();
        }
    });
}
