//! Delivery of session ends to a Python `on_end` callable.
//!
//! The core calls back from its driver thread (or from whichever call
//! delivers: `sweep`, `close`). The callable is called with the GIL taken,
//! once per batch of ends (`scope`): a thread that keeps the GIL busy hands
//! it over every switch interval (5 ms), and taking it once per end would
//! let a backlog of ends fall behind without bound. What the callable
//! raises goes to `sys.unraisablehook` and delivery goes on.

use std::sync::{Arc, Mutex, PoisonError};

use pyo3::PyTraverseError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use sojourn::SessionEnd;

use crate::session::PySessionEnd;

/// The callable, shared by the tracker object (which shows it to the
/// garbage collector, so that a callable referring back to its tracker can
/// be collected) and the core's callback. Only a thread attached to Python
/// takes the lock, and never across a call into Python.
pub struct Callback(Mutex<Option<Py<PyAny>>>);

impl Callback {
    pub fn new(callable: Bound<'_, PyAny>) -> Arc<Callback> {
        Arc::new(Callback(Mutex::new(Some(callable.unbind()))))
    }

    /// The function the core calls with every end.
    pub fn on_end(self: &Arc<Self>) -> impl Fn(SessionEnd) + Send + Sync + 'static {
        let this = Arc::clone(self);
        // While the interpreter shuts down nothing can be called: the end
        // is dropped rather than attaching to a finalizing interpreter.
        move |end| Python::try_attach(|py| this.call(py, end)).unwrap_or(())
    }

    /// Runs a batch of ends with the GIL taken once (taking it again for
    /// each end is then only a check). While the interpreter shuts down
    /// the batch runs without it, and each end is dropped.
    pub fn scope() -> impl Fn(&mut dyn FnMut()) + Send + Sync + 'static {
        |run| {
            let mut run = Some(run);
            Python::try_attach(|_py| {
                if let Some(run) = run.take() {
                    run();
                }
            });
            if let Some(run) = run {
                run();
            }
        }
    }

    fn call(&self, py: Python<'_>, end: SessionEnd) {
        let Some(callable) = self.get(py) else {
            return;
        };
        let callable = callable.bind(py);
        if let Err(err) = callable.call1((PySessionEnd(end),)) {
            err.write_unraisable(py, Some(callable));
        }
    }

    fn get(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().map(|callable| callable.clone_ref(py))
    }

    pub fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(slot) = self.0.try_lock() {
            visit.call(slot.as_ref())?;
        }
        Ok(())
    }

    /// Lets go of the callable (breaking a reference cycle); later ends are
    /// not delivered.
    pub fn clear(&self) {
        let callable = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(callable);
    }
}
