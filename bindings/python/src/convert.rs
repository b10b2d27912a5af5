//! Python values into the core's types and back: session ids, kinds,
//! durations, counts, attributes, timestamps, file paths and the
//! snapshot key.
//!
//! A value of the wrong type raises `TypeError`. A value of the right type
//! that the core's type cannot hold (a negative duration, a negative or too
//! large integer, a naive datetime, an attribute that is a container, a
//! `str` with a lone surrogate, which no UTF-8 text holds) raises the core's
//! `InvalidArgument`, a `ValueError`, like every value the core itself
//! refuses; an id that is not valid Unicode raises `InvalidSessionId`, and
//! a token that is not is a token `resume` rejects.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDateTime, PyDelta, PyDeltaAccess, PyDict, PyFloat, PyFrozenSet,
    PyInt, PyList, PyMapping, PySet, PyString, PyTuple,
};
use sojourn::snapshot::SnapshotKey;
use sojourn::{AttrValue, Attrs, Kind, SessionId};

use crate::errors::{OrRaise, invalid};

/// A class or value of the `sojourn` package, looked up once: the enums and
/// exceptions are written in Python.
pub fn package_attr<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    static PACKAGE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let package = PACKAGE.get_or_try_init(py, || py.import("sojourn").map(Bound::unbind))?;
    package.bind(py).getattr(name)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

fn wrong_type(name: &str, expected: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("{name} must be {expected}, not {}", type_name(obj)))
}

/// A session id given as its text (any case) or as a `uuid.UUID`.
pub fn session_id(obj: &Bound<'_, PyAny>) -> PyResult<SessionId> {
    static UUID: PyOnceLock<Py<pyo3::types::PyType>> = PyOnceLock::new();
    let py = obj.py();
    let text = if let Ok(text) = obj.cast::<PyString>() {
        if let Ok(text) = text.to_str() {
            return SessionId::parse(text).or_raise(py);
        }
        // Not an id either way; lossy, so that a lone surrogate is refused
        // as any other character that no id holds.
        text.to_string_lossy().into_owned()
    } else if obj.is_instance(UUID.import(py, "uuid", "UUID")?)? {
        obj.str()?.to_cow()?.into_owned()
    } else {
        return Err(wrong_type("a session id", "a str or uuid.UUID", obj));
    };
    SessionId::parse(&text).or_raise(py)
}

/// Session ids from any iterable of them but a `str` (which would be read
/// one character at a time), each converted as [`session_id`] does.
pub fn session_ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<SessionId>> {
    let expected = "an iterable of session ids";
    if obj.is_instance_of::<PyString>() {
        return Err(wrong_type("ids", expected, obj));
    }
    let items = obj
        .try_iter()
        .map_err(|_| wrong_type("ids", expected, obj))?;
    // `__len__` may say anything (2 ** 62 aborted the process asking for
    // room at once): room for what it says up to a bound, more as read.
    let mut ids = Vec::with_capacity(obj.len().unwrap_or(0).min(1 << 16));
    for item in items {
        ids.push(session_id(&item?)?);
    }
    Ok(ids)
}

/// `"view"` or `"event"` (or a `sojourn.Kind`, a `str` too).
pub fn kind(obj: &Bound<'_, PyAny>) -> PyResult<Kind> {
    let text = obj
        .cast::<PyString>()
        .map_err(|_| wrong_type("kind", "\"view\" or \"event\"", obj))?;
    match text.to_str() {
        Ok(text) => text.parse().or_raise(obj.py()),
        Err(_) => text.to_string_lossy().parse().or_raise(obj.py()),
    }
}

/// A `str` argument that the core keeps (a user id): its text, refused
/// with `InvalidArgument` if it holds a lone surrogate, which no UTF-8
/// text can.
pub fn text(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let text = obj
        .cast::<PyString>()
        .map_err(|_| wrong_type(name, "a str", obj))?;
    unicode(name, text)
}

/// [`text`], borrowed from the `str` (UTF-8 that Python keeps with it: no
/// copy), for a call that only reads it.
pub fn text_ref<'a>(name: &'static str, obj: &'a Bound<'_, PyAny>) -> PyResult<&'a str> {
    let text = obj
        .cast::<PyString>()
        .map_err(|_| wrong_type(name, "a str", obj))?;
    text.to_str().map_err(|err| surrogate(text.py(), name, err))
}

/// A `str` that could not be encoded: a lone surrogate is `InvalidArgument`.
fn surrogate(py: Python<'_>, name: &'static str, err: PyErr) -> PyErr {
    if err.is_instance_of::<PyUnicodeEncodeError>(py) {
        invalid(
            py,
            name,
            "holds a lone surrogate, which is not text (no UTF-8 encoding exists)",
        )
    } else {
        err
    }
}

/// A sequence of `str` (a Redis Cluster's node URLs): any iterable of
/// them but a single `str`, which would iterate as its characters.
pub fn texts(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let expected = "a list of str";
    if obj.is_instance_of::<PyString>() {
        return Err(wrong_type(name, "a list of str, not a single str", obj));
    }
    let items = obj
        .try_iter()
        .map_err(|_| wrong_type(name, expected, obj))?;
    items
        .map(|item| {
            let item = item?;
            let text = item.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "{name} must be {expected}, and holds a {}",
                    type_name(&item)
                ))
            })?;
            unicode(name, text)
        })
        .collect()
}

/// An optional [`text`]: `None` is none.
pub fn opt_text(name: &'static str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    obj.filter(|o| !o.is_none())
        .map(|o| text(name, o))
        .transpose()
}

/// The text of a `str`, or `InvalidArgument` for a lone surrogate.
fn unicode(name: &'static str, text: &Bound<'_, PyString>) -> PyResult<String> {
    let py = text.py();
    text.to_str()
        .map(str::to_owned)
        .map_err(|err| surrogate(py, name, err))
}

/// A token for `resume`: what a client sent, never an error but for its
/// type. A `str` that is not valid Unicode cannot be a token (tokens are
/// ASCII): it is read lossily, and the core rejects it as any other bad
/// token.
pub fn token(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let text = obj
        .cast::<PyString>()
        .map_err(|_| wrong_type("token", "a str or None", obj))?;
    Ok(text.to_string_lossy().into_owned())
}

/// A duration in seconds (`int` or `float`) or a `timedelta`.
pub fn duration(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let py = obj.py();
    let expected = "seconds (an int or float) or a timedelta";
    if obj.is_instance_of::<PyBool>() {
        return Err(wrong_type(name, expected, obj));
    }
    if let Ok(delta) = obj.cast::<PyDelta>() {
        if delta.get_days() < 0 {
            return Err(invalid(py, name, format!("{} is negative", obj.str()?)));
        }
        return obj.extract();
    }
    if let Ok(seconds) = obj.cast::<PyFloat>() {
        let seconds = seconds.value();
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| invalid(py, name, format!("{seconds} s is not a duration")));
    }
    if obj.is_instance_of::<PyInt>() {
        return count(name, obj).map(Duration::from_secs);
    }
    Err(wrong_type(name, expected, obj))
}

/// A whole number from 0 to 2**64 - 1 (an `int`, or anything with
/// `__index__`; never a `bool`).
pub fn count(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>() {
        return Err(wrong_type(name, "an int", obj));
    }
    obj.extract::<u64>().map_err(|err| {
        if err.is_instance_of::<PyOverflowError>(obj.py()) {
            let reason = match obj.lt(0) {
                Ok(true) => format!("{} is negative", int_text(obj)),
                _ => format!("{} is over the limit of {}", int_text(obj), u64::MAX),
            };
            invalid(obj.py(), name, reason)
        } else {
            wrong_type(name, "an int", obj)
        }
    })
}

/// An integer for a message: its digits, or, past what `str()` writes
/// (Python's 4,300 digits; an `int` subclass whose `__str__` raises), its
/// size in bits, so that no message of ours raises, or sends its own
/// error to `sys.unraisablehook` (what formatting a `Bound` with `{}`
/// does when `str()` fails).
fn int_text(obj: &Bound<'_, PyAny>) -> String {
    if let Ok(text) = obj.str() {
        return text.to_string_lossy().into_owned();
    }
    let sign = if matches!(obj.lt(0), Ok(true)) {
        "a negative"
    } else {
        "an"
    };
    match obj
        .call_method0("bit_length")
        .and_then(|bits| bits.extract::<u64>())
    {
        Ok(bits) => format!("{sign} integer of {bits} bits"),
        Err(_) => "an integer".to_owned(),
    }
}

/// A count that the core keeps as a `usize` (a capacity, a size bound).
pub fn size(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    let n = count(name, obj)?;
    usize::try_from(n).map_err(|_| invalid(obj.py(), name, format!("{n} is too large")))
}

/// A secret: `str` (its UTF-8 bytes) or `bytes`.
pub fn secret(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(text) = obj.cast::<PyString>() {
        Ok(unicode(name, text)?.into_bytes())
    } else if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() {
        obj.extract()
    } else {
        Err(wrong_type(name, "a str or bytes", obj))
    }
}

/// A file path: a `str` or an `os.PathLike` whose `__fspath__` gives one
/// (`pathlib.Path`), as `os.fspath` reads it, encoded as the file system
/// encoding says (a name that `os.listdir` decoded with surrogate escapes
/// comes back as its bytes). A path of `bytes` is refused (`TypeError`),
/// and a `str` that no file name can be (a lone surrogate that is no
/// escaped byte) raises `InvalidArgument`. Whether the path names a file
/// that can be read or written is the core's to say.
pub fn path(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    let py = obj.py();
    let expected = "a str or os.PathLike[str]";
    let fspath = if obj.is_instance_of::<PyString>() {
        obj.clone()
    } else {
        static FSPATH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let fspath = FSPATH.import(py, "os", "fspath")?;
        match fspath.call1((obj,)) {
            Ok(path) => path,
            Err(err) if err.is_instance_of::<PyTypeError>(py) => {
                return Err(wrong_type(name, expected, obj));
            }
            Err(err) => return Err(err),
        }
    };
    let text = fspath.cast::<PyString>().map_err(|_| {
        if fspath.is(obj) {
            wrong_type(name, expected, obj)
        } else {
            PyTypeError::new_err(format!(
                "{name} must be {expected}, and this {}'s __fspath__ gives {}",
                type_name(obj),
                type_name(&fspath)
            ))
        }
    })?;
    text.extract::<PathBuf>().map_err(|err| {
        if err.is_instance_of::<PyUnicodeEncodeError>(py) {
            invalid(
                py,
                name,
                "holds a lone surrogate that is no file name's byte (no encoding of it exists)",
            )
        } else {
            err
        }
    })
}

/// The snapshot key: exactly 32 `bytes` (or a `bytearray`), checked by the
/// core. No message of this function's or the core's shows any of it.
pub fn snapshot_key(obj: &Bound<'_, PyAny>) -> PyResult<SnapshotKey> {
    let py = obj.py();
    let key = if let Ok(bytes) = obj.cast::<PyBytes>() {
        SnapshotKey::new(bytes.as_bytes())
    } else if let Ok(array) = obj.cast::<PyByteArray>() {
        let mut copy = array.to_vec();
        let key = SnapshotKey::new(&copy);
        copy.fill(0);
        key
    } else {
        let hint = if obj.is_instance_of::<PyString>() {
            " (32 bytes: bytes.fromhex() of 64 hex digits, for one)"
        } else {
            ""
        };
        return Err(PyTypeError::new_err(format!(
            "snapshot_key must be bytes, not {}{hint}",
            type_name(obj)
        )));
    };
    key.or_raise(py)
}

/// Attributes: a mapping of `str` keys to JSON scalars.
pub fn attrs(obj: &Bound<'_, PyAny>) -> PyResult<Attrs> {
    let items = if let Ok(dict) = obj.cast::<PyDict>() {
        dict.items()
    } else if let Ok(mapping) = obj.cast::<PyMapping>() {
        mapping.items()?
    } else {
        return Err(wrong_type("attrs", "a dict", obj));
    };
    let mut attrs = Attrs::new();
    for item in items.iter() {
        // A mapping of the caller's whose `items()` gives what is no pair:
        // the wrong type of attrs, not a `ValueError` of the unpacking.
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "attrs must be a mapping, and its items() gave a {}, not a (key, value) pair",
                type_name(&item)
            ))
        })?;
        let key = key
            .cast::<PyString>()
            .map_err(|_| wrong_type("an attrs key", "a str", &key))?;
        let key = unicode("attrs", key)?;
        let value = attr_value(&key, &value)?;
        attrs.insert(key, value);
    }
    Ok(attrs)
}

fn attr_value(key: &str, obj: &Bound<'_, PyAny>) -> PyResult<AttrValue> {
    let py = obj.py();
    Ok(if obj.is_none() {
        AttrValue::Null
    } else if let Ok(b) = obj.cast::<PyBool>() {
        AttrValue::Bool(b.is_true())
    } else if obj.is_instance_of::<PyInt>() {
        AttrValue::Int(obj.extract().map_err(|_| {
            invalid(
                py,
                "attrs",
                format!("{key:?}: {} is out of the 64-bit range", int_text(obj)),
            )
        })?)
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        AttrValue::Float(f.value())
    } else if let Ok(s) = obj.cast::<PyString>() {
        AttrValue::Str(unicode("attrs", s)?)
    } else if obj.is_instance_of::<PyDict>()
        || obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<PySet>()
        || obj.is_instance_of::<PyFrozenSet>()
    {
        return Err(invalid(
            py,
            "attrs",
            format!(
                "{key:?}: values must be JSON scalars, not {}",
                type_name(obj)
            ),
        ));
    } else {
        return Err(wrong_type(
            &format!("attrs[{key:?}]"),
            "a str, int, float, bool or None",
            obj,
        ));
    })
}

/// Attributes as a new `dict`.
pub fn attrs_to_py<'py>(py: Python<'py>, attrs: &Attrs) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in attrs {
        match value {
            AttrValue::Null => dict.set_item(key, py.None())?,
            AttrValue::Bool(b) => dict.set_item(key, b)?,
            AttrValue::Int(i) => dict.set_item(key, i)?,
            AttrValue::Float(f) => dict.set_item(key, f)?,
            AttrValue::Str(s) => dict.set_item(key, s)?,
        }
    }
    Ok(dict)
}

/// An aware `datetime` as Unix milliseconds.
pub fn unix_ms(name: &'static str, obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = obj.py();
    let dt = obj
        .cast::<PyDateTime>()
        .map_err(|_| wrong_type(name, "an aware datetime", obj))?;
    if dt.call_method0("utcoffset")?.is_none() {
        return Err(invalid(
            py,
            name,
            "a naive datetime has no time zone; give an aware one",
        ));
    }
    let seconds: f64 = dt.call_method0("timestamp")?.extract()?;
    Ok((seconds * 1000.0).round() as i64)
}

/// Unix milliseconds as an aware UTC `datetime`.
/// Exact to the millisecond, however far from 1970 (a float of seconds is
/// not, near year 9999).
pub fn datetime(py: Python<'_>, unix_ms: i64) -> PyResult<Bound<'_, PyDateTime>> {
    let time = chrono::DateTime::from_timestamp_millis(unix_ms)
        .ok_or_else(|| invalid(py, "time", format!("{unix_ms} ms is not a time")))?;
    time.into_pyobject(py)
}
