//! Python bindings of sojourn: the module `sojourn._native`, under the
//! hand-written package `sojourn` (`python/sojourn/__init__.py`), which adds
//! the enums and the exception classes. Conversions only: every rule and
//! default lives in the core.

mod clock;
mod config;
mod convert;
mod ends;
mod errors;
mod process;
mod session;
mod snapshot;
mod store;
mod tracker;
mod warnings;
mod web;

use pyo3::prelude::*;

/// The native part of sojourn; import ``sojourn`` instead.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<tracker::PyTracker>()?;
    m.add_class::<session::PySession>()?;
    m.add_function(wrap_pyfunction!(session::restore, m)?)?;
    m.add_class::<session::PyTick>()?;
    m.add_class::<session::PySessionEnd>()?;
    m.add_class::<session::PyStats>()?;
    m.add_class::<session::PyEndedStats>()?;
    m.add_class::<snapshot::PySnapshotCounts>()?;
    m.add_class::<clock::PyMockClock>()?;
    m.add_class::<store::PyFaultSwitch>()?;
    m.add_class::<web::PyWeb>()?;
    m.add_class::<web::PyVisit>()?;
    m.add_class::<web::PyReply>()?;
    m.add("DEFAULTS", config::defaults(py)?)?;
    m.add("LIMITS", config::limits(py)?)?;
    m.add("WEB_DEFAULTS", web::defaults(py)?)?;
    m.add("BROWSER_CLIENT", sojourn::web::BROWSER_CLIENT)?;
    m.add("BROWSER_CLIENT_TYPE", sojourn::web::BROWSER_CLIENT_TYPE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(process::close_all, m)?)?;
    m.add_function(wrap_pyfunction!(process::after_fork_in_child, m)?)?;

    let tracker = m.getattr("Tracker")?;
    let doc: String = tracker.getattr("__doc__")?.extract()?;
    tracker.setattr("__doc__", doc + &config::defaults_doc())?;

    py.import("atexit")?
        .call_method1("register", (m.getattr("_close_all")?,))?;
    Ok(())
}
