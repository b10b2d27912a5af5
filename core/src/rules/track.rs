//! A view or an event counted: the increment, its bound, the tick.

use super::Rules;
use crate::config::MAX_COUNTER;
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::session::{Kind, Tick};
use crate::store::{Action, Found, Step};

impl Rules {
    /// Counts one `kind` on the session shown (settled): the counters
    /// right after it, or the item's error (not live; a counter at its
    /// maximum), and what the store is to do.
    #[inline]
    pub fn track(
        &self,
        found: Found<'_>,
        id: SessionId,
        kind: Kind,
        now: i64,
    ) -> (Result<Tick>, Step) {
        let Found::Live(record) = found else {
            return (Err(Error::SessionNotFound { id }), Step::Done(Action::Keep));
        };
        let counter = match kind {
            Kind::View => &mut record.views,
            Kind::Event => &mut record.events,
        };
        let Some(next) = counter.checked_add(1) else {
            let full = format!("the {kind:?} counter of {id} is at its maximum, {MAX_COUNTER}");
            return (Err(Error::invalid("kind", full)), Step::Done(Action::Keep));
        };
        *counter = next;
        record.touch(now);
        let tick = Tick {
            view_sequence: record.views.into(),
            event_sequence: record.events.into(),
            sequence: u64::from(record.views) + u64::from(record.events),
        };
        (Ok(tick), Step::Done(Action::Changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Record;
    use crate::rules::test_rules;

    #[test]
    fn a_full_counter_refuses_and_changes_nothing() {
        let rules = test_rules();
        let id = SessionId::new_v7(0);
        let mut r = Record::new(0);
        r.views = u32::MAX;
        let (tick, step) = rules.track(Found::Live(&mut r), id, Kind::View, 9);
        assert_eq!(tick.unwrap_err().code(), "INVALID_ARGUMENT");
        assert!(matches!(step, Step::Done(Action::Keep)));
        assert_eq!((r.views, r.last_seen), (u32::MAX, 0));
        let (tick, _) = rules.track(Found::Live(&mut r), id, Kind::Event, 9);
        assert_eq!(tick.unwrap().sequence, u64::from(u32::MAX) + 1);
        assert_eq!(r.last_seen, 9);
    }
}
