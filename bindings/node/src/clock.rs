//! The injectable clock, so that tests move time instead of sleeping.

use chrono::{DateTime, Utc};
use napi::{Either, JsDate};
use napi_derive::napi;
use sojourn::Clock;

use crate::convert::{self, Arg};
use crate::error::{OrThrow, Result};

/// A clock that moves only when told to: give it to a tracker as
/// `clock` to test expiry without sleeping, or to replay recorded traffic.
#[napi]
pub struct MockClock {
    pub(crate) inner: sojourn::MockClock,
}

#[napi]
impl MockClock {
    /// A clock standing at `now`: a `Date`, or milliseconds since the Unix
    /// epoch, from 1970 to year 9899 (`INVALID_ARGUMENT` outside).
    #[napi(constructor)]
    pub fn new(
        #[napi(ts_arg_type = "Date | number")] now: Arg<Either<f64, JsDate>>,
    ) -> Result<Self> {
        let now = convert::timestamp(now.get("now")?, "now")?;
        Ok(MockClock {
            inner: sojourn::MockClock::new(now).or_throw()?,
        })
    }

    /// Moves the clock forward by `ms` milliseconds; `INVALID_ARGUMENT`,
    /// and the clock stays, past year 9899.
    #[napi]
    pub fn advance(&self, #[napi(ts_arg_type = "number")] ms: Arg<f64>) -> Result<()> {
        let by = convert::millis(ms.get("ms")?, "ms")?;
        self.inner.advance(by).or_throw()
    }

    /// Sets the clock to `now`: a `Date`, or milliseconds since the Unix
    /// epoch, from 1970 to year 9899 (`INVALID_ARGUMENT` outside).
    #[napi]
    pub fn set(
        &self,
        #[napi(ts_arg_type = "Date | number")] now: Arg<Either<f64, JsDate>>,
    ) -> Result<()> {
        let now = convert::timestamp(now.get("now")?, "now")?;
        self.inner.set(now).or_throw()
    }

    /// The time the clock stands at.
    #[napi]
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.inner.now_ms()).unwrap_or_default()
    }
}
