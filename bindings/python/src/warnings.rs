//! The core's warnings as Python warnings: `sojourn.SojournWarning`, with
//! the warning's stable `code`.
//!
//! On a thread of the application's (one that builds a tracker, renews
//! one after fork, or calls one, its GIL let go or not), a warning is kept
//! for that thread, then given with `warnings.warn` once the call is done:
//! under `-W error` it is the call that raises it. Every call that reaches
//! the store gives them, since a call may sweep (`sessions`, `count`,
//! `stats`, `sweep`, `close`; any call when the driver could not start) and
//! a sweep that fails warns `STORE_ERROR`. On the core's own thread (the
//! sweeper), where no call of the application's returns, the warning is
//! given at once, with the GIL taken; what `warnings.warn` raises then goes
//! to `sys.unraisablehook`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sojourn::Warning;

use crate::convert::package_attr;

thread_local! {
    static SAID: RefCell<Vec<Warning>> = const { RefCell::new(Vec::new()) };
}

/// How many warnings are kept, on all threads: a call after which none is
/// (nearly every call) gives them with one load, not a look at its thread's.
static KEPT: AtomicUsize = AtomicUsize::new(0);

/// The core's `on_warning` for every Python tracker: keeps the warning for
/// [`give`] on a thread of the application's, gives it at once on the
/// core's.
pub fn hook(warning: &Warning) {
    if python_thread() {
        SAID.with(|said| said.borrow_mut().push(warning.clone()));
        KEPT.fetch_add(1, Ordering::Relaxed);
    } else {
        // While the interpreter shuts down, nothing can be warned.
        Python::try_attach(|py| {
            if let Err(err) = warn(py, warning) {
                err.write_unraisable(py, None);
            }
        });
    }
}

/// Whether Python has a state for this thread: every thread of the
/// application's, attached or not; not the core's, which attach only for
/// a moment.
fn python_thread() -> bool {
    // SAFETY: reads this thread's own slot, which needs no GIL.
    !unsafe { pyo3::ffi::PyGILState_GetThisThreadState() }.is_null()
}

/// Gives the warnings kept on this thread, each as a `SojournWarning`
/// whose `code` is the core's. Under `-W error` (or pytest's
/// `filterwarnings = error`) the first one raises.
#[inline]
pub fn give(py: Python<'_>) -> PyResult<()> {
    if KEPT.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    give_kept(py)
}

#[cold]
fn give_kept(py: Python<'_>) -> PyResult<()> {
    let said = SAID.with(|said| std::mem::take(&mut *said.borrow_mut()));
    KEPT.fetch_sub(said.len(), Ordering::Relaxed);
    for warning in &said {
        warn(py, warning)?;
    }
    Ok(())
}

fn warn(py: Python<'_>, warning: &Warning) -> PyResult<()> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", warning.code)?;
    let instance = package_attr(py, "SojournWarning")?.call((&warning.message,), Some(&kwargs))?;
    py.import("warnings")?
        .call_method1("warn", (instance, py.None(), 1))?;
    Ok(())
}
