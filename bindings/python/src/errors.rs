//! Every core error becomes the Python exception of its code, in this one
//! place. The exception classes are written in Python (`sojourn/__init__.py`)
//! so that they can inherit from `KeyError` and `ValueError` as well.

use pyo3::intern;
use pyo3::prelude::*;
use sojourn::Error;

use crate::convert::package_attr;

/// `Result<T, sojourn::Error>` into `PyResult<T>`.
pub trait OrRaise<T> {
    /// The value, or the Python exception for the core error.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|err| raise(py, err))
    }
}

/// A Python value that cannot become the core's type: the core's own
/// `InvalidArgument` for the argument `name`, so it is raised as every
/// other invalid argument is.
pub fn invalid(py: Python<'_>, name: &'static str, reason: impl Into<String>) -> PyErr {
    raise(
        py,
        Error::InvalidArgument {
            name,
            reason: reason.into(),
        },
    )
}

/// The Python exception for a core error: its class by code, its message
/// the core's, its fields as keyword attributes.
pub fn raise(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    let code = err.code();
    let (class, details): (&str, Vec<(&str, String)>) = match err {
        Error::SessionNotFound { id } => ("SessionNotFound", vec![("session_id", id.to_string())]),
        Error::InvalidSessionId { input, reason } => (
            "InvalidSessionId",
            vec![("input", input), ("reason", reason.to_owned())],
        ),
        Error::SessionNotRevivable { id, reason } => (
            "SessionNotRevivable",
            vec![
                ("session_id", id.to_string()),
                ("reason", reason.to_owned()),
            ],
        ),
        Error::InvalidArgument { name, reason } => (
            "InvalidArgument",
            vec![("argument", name.to_owned()), ("reason", reason)],
        ),
        Error::Store { address, cause, .. } => {
            ("StoreError", vec![("address", address), ("cause", cause)])
        }
        // The path and what is wrong with the file; the core never puts
        // the snapshot key in either.
        Error::Snapshot { path, problem } => {
            ("SnapshotError", vec![("path", path), ("problem", problem)])
        }
        // A code this binding does not know yet: the base class, which
        // still carries the code.
        _ => ("SojournError", vec![]),
    };
    exception(py, class, &message, code, &details).unwrap_or_else(|failed| failed)
}

fn exception(
    py: Python<'_>,
    class: &str,
    message: &str,
    code: &str,
    details: &[(&str, String)],
) -> PyResult<PyErr> {
    // `class(message, **details)` would run the class's `__init__`, Python
    // code, under this Rust frame: a daemon thread doing that as the
    // interpreter exits is ended there by a forced unwind (`pthread_exit`
    // while taking the GIL), which pyo3's `catch_unwind` cannot let through,
    // and the process aborts. `BaseException.__new__` and `setattr` run no
    // Python code and make the same object: every `__init__` of
    // `sojourn/__init__.py` only keeps the message and the keywords.
    let class = package_attr(py, class)?;
    let instance = class.call_method1(intern!(py, "__new__"), (&class, message))?;
    for (key, value) in details {
        instance.setattr(*key, value)?;
    }
    if !instance.getattr("code")?.eq(code)? {
        instance.setattr("code", code)?;
    }
    Ok(PyErr::from_value(instance))
}
