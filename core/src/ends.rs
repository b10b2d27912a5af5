//! Delivery of session ends to the `on_end` callback: queued when sessions
//! depart (under no lock), handed over in order by whoever delivers next.

use std::panic::{AssertUnwindSafe, catch_unwind};

use parking_lot::Mutex;

use crate::config::OnEnd;
use crate::session::SessionEnd;

pub(crate) struct Ends {
    callback: Option<OnEnd>,
    pending: Mutex<Vec<SessionEnd>>,
    // Held while calling back, so ends arrive one at a time and in order.
    delivering: Mutex<()>,
}

impl Ends {
    pub fn new(callback: Option<OnEnd>) -> Self {
        Ends {
            callback,
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

    /// Calls back with every pending end. A callback that panics is
    /// reported and the others still run. A call made from inside a
    /// callback, or while another thread delivers, returns at once: the
    /// delivering thread picks up what was queued.
    pub fn deliver(&self) {
        let Some(callback) = &self.callback else {
            return;
        };
        let Some(_turn) = self.delivering.try_lock() else {
            return;
        };
        loop {
            let batch = std::mem::take(&mut *self.pending.lock());
            if batch.is_empty() {
                return;
            }
            for end in batch {
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
    }
}
