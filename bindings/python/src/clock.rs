//! The injectable clock: the core's `MockClock`, for tests and replays.

use pyo3::prelude::*;
use pyo3::types::PyDateTime;
use sojourn::{Clock, MockClock, SystemClock};

use crate::convert;

/// A clock that moves only when told to, for tests and for replaying
/// recorded traffic: give it to `Tracker(clock=...)` and expiry is tested
/// by moving the clock instead of sleeping.
///
/// `MockClock(now=None)` stands at the aware datetime `now`, or at the
/// current time when it is `None`.
#[pyclass(name = "MockClock", module = "sojourn", frozen)]
pub struct PyMockClock(pub MockClock);

#[pymethods]
impl PyMockClock {
    #[new]
    #[pyo3(signature = (now = None))]
    fn new(now: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let ms = match now {
            Some(now) => convert::unix_ms("now", now)?,
            None => SystemClock.now_ms(),
        };
        Ok(PyMockClock(MockClock::new(ms)))
    }

    /// The time the clock stands at, as an aware UTC datetime.
    fn now<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDateTime>> {
        convert::datetime(py, self.0.now_ms())
    }

    /// Moves the clock forward by `by`: seconds (int or float) or a timedelta.
    fn advance(&self, by: &Bound<'_, PyAny>) -> PyResult<()> {
        self.0.advance(convert::duration("by", by)?);
        Ok(())
    }

    /// Sets the clock to the aware datetime `now` (it may move backwards).
    fn set(&self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.0.set(convert::unix_ms("now", now)?);
        Ok(())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("MockClock({})", self.now(py)?.str()?))
    }
}
