//! Delivery of session ends to the `on_end` callback: queued when sessions
//! depart (under no lock), handed over in order by whoever delivers next.

use std::panic::{AssertUnwindSafe, catch_unwind};

use parking_lot::Mutex;

use crate::config::{OnEnd, OnEndScope};
use crate::session::SessionEnd;

pub(crate) struct Ends {
    callback: Option<OnEnd>,
    scope: Option<OnEndScope>,
    pending: Mutex<Vec<SessionEnd>>,
    // Held while calling back, so ends arrive one at a time and in order.
    delivering: Mutex<()>,
}

impl Ends {
    pub fn new(callback: Option<OnEnd>, scope: Option<OnEndScope>) -> Self {
        Ends {
            callback,
            scope,
            pending: Mutex::new(Vec::new()),
            delivering: Mutex::new(()),
        }
    }

    /// Whether anyone listens; when not, summaries are not even built.
    pub fn wanted(&self) -> bool {
        self.callback.is_some()
    }

    pub fn push(&self, ends: impl IntoIterator<Item = SessionEnd>) {
        if self.wanted() {
            self.pending.lock().extend(ends);
        }
    }

    /// Calls back with every end pending now, in order; returns whether
    /// more were queued meanwhile. A callback that panics is reported and
    /// the others still run. A call made from inside a callback, or while
    /// another thread delivers, returns at once (false): the delivering
    /// thread reports that more are pending. One batch a call, so that
    /// threads that end sessions faster than the callback takes them can
    /// never keep the driver from noticing that it should stop.
    pub fn deliver(&self) -> bool {
        let Some(callback) = &self.callback else {
            return false;
        };
        let Some(_turn) = self.delivering.try_lock() else {
            return false;
        };
        let batch = std::mem::take(&mut *self.pending.lock());
        if batch.is_empty() {
            return false;
        }
        let mut batch = Some(batch);
        let mut run = || call_back(callback, batch.take());
        match &self.scope {
            Some(scope) => {
                let _ = catch_unwind(AssertUnwindSafe(|| scope(&mut run)));
            }
            None => run(),
        }
        // A scope that panicked before running the batch must not lose it.
        call_back(callback, batch.take());
        !self.pending.lock().is_empty()
    }
}

/// Calls back with each end of `batch`; a panic in one is reported and the
/// others still run.
fn call_back(callback: &OnEnd, batch: Option<Vec<SessionEnd>>) {
    for end in batch.into_iter().flatten() {
        let id = end.session.id;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(end))) {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic".to_owned());
            eprintln!("sojourn: the on_end callback panicked for session {id}: {message}");
        }
    }
}
