//! The locks of the core: the standard library's, whose state lives in the
//! lock itself (a futex word on Linux). parking_lot keeps the queues of
//! waiting threads in one table for the whole process; a `fork()` copies
//! that table as other threads left it, mid-update perhaps, and a child's
//! own, new locks then hang on it (seen: a child stuck in
//! `unpark_requeue`). With these, a child that never touches the parent's
//! tracker never meets a lock the parent's threads held.
//!
//! No lock of the core is held across code that can panic, so a poisoned
//! lock only means a panic elsewhere: its data is used as it is.

use std::sync::{LockResult, PoisonError, TryLockError};
use std::time::{Duration, Instant};

pub(crate) use std::sync::MutexGuard;

fn unpoisoned<G>(result: LockResult<G>) -> G {
    result.unwrap_or_else(PoisonError::into_inner)
}

/// `std::sync::Mutex`, without poisoning.
#[derive(Default)]
pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Self {
        Mutex(std::sync::Mutex::new(value))
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        unpoisoned(self.0.lock())
    }

    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// `std::sync::Condvar`, without poisoning.
#[derive(Default)]
pub(crate) struct Condvar(std::sync::Condvar);

impl Condvar {
    pub const fn new() -> Self {
        Condvar(std::sync::Condvar::new())
    }

    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        unpoisoned(self.0.wait(guard))
    }

    /// Waits until notified or `deadline`; the guard, and whether the
    /// deadline passed.
    pub fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Instant,
    ) -> (MutexGuard<'a, T>, bool) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (guard, true);
        }
        let (guard, result) = unpoisoned(self.0.wait_timeout(guard, left));
        (guard, result.timed_out())
    }

    pub fn wait_for<'a, T>(&self, guard: MutexGuard<'a, T>, d: Duration) -> MutexGuard<'a, T> {
        unpoisoned(self.0.wait_timeout(guard, d)).0
    }

    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}
