//! The injectable clock: the core's `MockClock`, for tests and replays.

use pyo3::prelude::*;
use pyo3::types::PyDateTime;
use sojourn::{Clock, MockClock, SystemClock};

use crate::convert;
use crate::errors::OrRaise;

/// A clock that moves only when told to, for tests and for replaying
/// recorded traffic: give it to `Tracker(clock=...)` and expiry is tested
/// by moving the clock instead of sleeping.
///
/// `MockClock(now=None)` stands at the aware datetime `now`, or at the
/// current time when it is `None`. Its time stays from 1970 to year 9899
/// (so that every deadline a tracker computes is a `datetime`):
/// ``InvalidArgument`` outside, and the clock stays.
#[pyclass(name = "MockClock", module = "sojourn", frozen)]
pub struct PyMockClock(pub MockClock);

#[pymethods]
impl PyMockClock {
    #[new]
    #[pyo3(signature = (now = None))]
    fn new(py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let ms = match now {
            Some(now) => convert::unix_ms("now", now)?,
            None => SystemClock.now_ms(),
        };
        MockClock::new(ms).or_raise(py).map(PyMockClock)
    }

    /// The time the clock stands at, as an aware UTC datetime.
    fn now<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDateTime>> {
        convert::datetime(py, self.0.now_ms())
    }

    /// Moves the clock forward by `by`: seconds (int or float) or a timedelta.
    fn advance(&self, by: &Bound<'_, PyAny>) -> PyResult<()> {
        let d = convert::duration("by", by)?;
        self.0.advance(d).or_raise(by.py())
    }

    /// Sets the clock to the aware datetime `now` (it may move backwards).
    fn set(&self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        let ms = convert::unix_ms("now", now)?;
        self.0.set(ms).or_raise(now.py())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("MockClock({})", self.now(py)?.str()?))
    }
}
