//! The core's warnings as Python warnings: `sojourn.SojournWarning`, with
//! the warning's stable `code`. The core gives them synchronously, on the
//! thread that builds a tracker (or renews one after fork), which holds
//! the GIL: they are kept for that thread, then given with `warnings.warn`
//! once the call is done.

use std::cell::RefCell;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sojourn::Warning;

use crate::convert::package_attr;

thread_local! {
    static SAID: RefCell<Vec<Warning>> = const { RefCell::new(Vec::new()) };
}

/// The core's `on_warning` for every Python tracker: keeps the warning for
/// [`give`].
pub fn hook(warning: &Warning) {
    SAID.with(|said| said.borrow_mut().push(warning.clone()));
}

/// Gives the warnings kept on this thread, each as a `SojournWarning`
/// whose `code` is the core's. Under `-W error` (or pytest's
/// `filterwarnings = error`) the first one raises.
pub fn give(py: Python<'_>) -> PyResult<()> {
    let said = SAID.with(|said| std::mem::take(&mut *said.borrow_mut()));
    for warning in said {
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", warning.code)?;
        let instance =
            package_attr(py, "SojournWarning")?.call((&warning.message,), Some(&kwargs))?;
        py.import("warnings")?
            .call_method1("warn", (instance, py.None(), 1))?;
    }
    Ok(())
}
