//! The tracker's source of time, injectable so that every expiry rule is
//! tested by moving a clock instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::MAX_CLOCK_MS;
use crate::error::{Error, Result};

/// Wall-clock time in milliseconds since the Unix epoch.
///
/// A reading must lie from 1970-01-01 to [`MAX_CLOCK_MS`] (year 9899), so
/// that every deadline the tracker computes is a time that every language
/// can represent; a tracker moves a reading outside that range to its
/// nearest end.
pub trait Clock: Send + Sync + 'static {
    /// The current time, in milliseconds since 1970-01-01T00:00:00Z.
    fn now_ms(&self) -> i64;
}

/// A reading moved into the range every clock must keep.
pub(crate) fn in_range(ms: i64) -> i64 {
    ms.clamp(0, MAX_CLOCK_MS)
}

/// Refuses a time outside the range of [`Clock`].
fn check(name: &'static str, unix_ms: i64) -> Result<i64> {
    if (0..=MAX_CLOCK_MS).contains(&unix_ms) {
        Ok(unix_ms)
    } else {
        Err(Error::invalid(
            name,
            format!(
                "{unix_ms} ms is outside the clock's range, 1970-01-01 to year 9899 \
                 (0 to {MAX_CLOCK_MS} ms)"
            ),
        ))
    }
}

/// The system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            // Fits until the year 292,277,026.
            Ok(since) => since.as_millis() as i64,
            Err(_) => 0,
        }
    }
}

/// A clock that moves only when told to: for tests, and for replaying
/// recorded traffic. Clones share the same time.
#[derive(Debug, Clone)]
pub struct MockClock(Arc<AtomicI64>);

impl MockClock {
    /// A clock standing at `unix_ms`; `InvalidArgument` outside the range
    /// of [`Clock`].
    pub fn new(unix_ms: i64) -> Result<Self> {
        Ok(MockClock(Arc::new(AtomicI64::new(check("now", unix_ms)?))))
    }

    /// Moves the clock forward; `InvalidArgument` (and the clock stays) if
    /// that would take it past the range of [`Clock`].
    pub fn advance(&self, by: Duration) -> Result<()> {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                check("by", now.saturating_add(ms)).ok()
            })
            .map(drop)
            .map_err(|now| {
                Error::invalid(
                    "by",
                    format!("{by:?} from {now} ms would pass the clock's range"),
                )
            })
    }

    /// Sets the clock to `unix_ms` (it may move backwards); `InvalidArgument`
    /// outside the range of [`Clock`].
    pub fn set(&self, unix_ms: i64) -> Result<()> {
        self.0.store(check("now", unix_ms)?, Ordering::SeqCst);
        Ok(())
    }
}

impl Clock for MockClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_clock_moves_only_when_told() {
        let clock = MockClock::new(1_000).unwrap();
        let shared = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        shared.advance(Duration::from_millis(250)).unwrap();
        assert_eq!(clock.now_ms(), 1_250);
        clock.set(5).unwrap();
        assert_eq!(shared.now_ms(), 5);
    }

    #[test]
    fn mock_clock_refuses_times_out_of_range_and_stays() {
        assert!(MockClock::new(-1).is_err());
        assert!(MockClock::new(MAX_CLOCK_MS + 1).is_err());
        let clock = MockClock::new(MAX_CLOCK_MS - 10).unwrap();
        let err = clock.advance(Duration::from_millis(11)).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert!(clock.advance(Duration::MAX).is_err());
        assert_eq!(clock.now_ms(), MAX_CLOCK_MS - 10);
        assert!(clock.set(-5).is_err());
        clock.advance(Duration::from_millis(10)).unwrap();
        assert_eq!(clock.now_ms(), MAX_CLOCK_MS);
        assert_eq!(in_range(i64::MIN), 0);
        assert_eq!(in_range(i64::MAX), MAX_CLOCK_MS);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
