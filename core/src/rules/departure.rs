//! What a departure records, and how long a departed session is
//! remembered.

use super::Rules;
use crate::id::SessionId;
use crate::model::{Departure, Dormant, Entry, Record};
use crate::session::EndReason;
use crate::store::{Action, Found, Step};

impl Rules {
    /// The departure of the live session `id` at `now` for `reason`. An
    /// expiry happened at the deadline, however late it is noticed, so
    /// that summaries never depend on when a sweep ran.
    pub fn departure(
        &self,
        id: SessionId,
        record: Record,
        reason: EndReason,
        now: i64,
    ) -> Departure {
        let ended_at = match reason {
            EndReason::Idle | EndReason::Lifetime => self.expires_at(&record).min(now),
            EndReason::Ended | EndReason::Evicted => now,
        };
        let revivable = self.revivable(reason, &record, ended_at, true).is_ok();
        Departure {
            id,
            record,
            reason,
            ended_at,
            revivable,
        }
    }

    /// The application's `end` of the session shown: a due one departs
    /// for its own reason (settled first), a live one for `ended`.
    pub fn end(&self, found: Found<'_>, now: i64) -> Step {
        if let Some(step) = self.settle(&found, now) {
            return step;
        }
        match found {
            Found::Live(_) => Step::Done(Action::Depart(EndReason::Ended)),
            _ => Step::Done(Action::Keep),
        }
    }

    /// Whether departed sessions are remembered at all (`retention` > 0).
    pub fn remembers(&self) -> bool {
        self.retention_ms > 0
    }

    /// When the dormant record `d` is forgotten.
    pub fn forget_at(&self, d: &Dormant) -> i64 {
        d.ended_at.saturating_add(self.retention_ms)
    }

    /// Where a snapshot's session goes in the order of a load (least
    /// first): remembered before live, each by the deadline it has, so
    /// that a store too small for them all keeps the latest of each, as
    /// its capacity rules would have.
    pub fn import_order(&self, entry: &Entry) -> (bool, i64) {
        match entry {
            Entry::Dormant(_, d) => (false, self.forget_at(d)),
            Entry::Live(_, r) => (true, self.expires_at(r)),
        }
    }

    /// Whether the dormant record `d` is still remembered at `now`.
    pub fn retained(&self, d: &Dormant, now: i64) -> bool {
        self.forget_at(d) > now
    }
}

impl Departure {
    /// The dormant record this departure leaves.
    pub fn dormant(&self) -> Dormant {
        Dormant {
            record: self.record.clone(),
            reason: self.reason,
            ended_at: self.ended_at,
            barred: false,
            erased: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_rules;

    const MIN: i64 = 60_000;

    #[test]
    fn an_expiry_ends_at_its_deadline_however_late_it_is_seen() {
        let rules = test_rules();
        let id = SessionId::new_v7(0);
        let late = rules.departure(id, Record::new(0), EndReason::Idle, 50 * MIN);
        // Idle for the whole revive window (equal to the idle timeout).
        assert_eq!((late.ended_at, late.revivable), (30 * MIN, false));
        let evicted = rules.departure(id, Record::new(0), EndReason::Evicted, 5 * MIN);
        assert_eq!((evicted.ended_at, evicted.revivable), (5 * MIN, true));
        let ended = rules.departure(id, Record::new(0), EndReason::Ended, 5 * MIN);
        assert_eq!((ended.ended_at, ended.revivable), (5 * MIN, false));
        let dormant = ended.dormant();
        assert_eq!(rules.forget_at(&dormant), 5 * MIN + 24 * 60 * MIN);
        assert!(rules.retained(&dormant, rules.forget_at(&dormant) - 1));
        assert!(!rules.retained(&dormant, rules.forget_at(&dormant)));
    }
}
