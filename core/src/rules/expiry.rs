//! When a live session expires, and why; expiry on access.

use super::Rules;
use crate::model::Record;
use crate::session::EndReason;
use crate::store::{Action, Found, Step};

impl Rules {
    /// `min(last_seen + idle_timeout, started_at + max_lifetime)`.
    pub fn expires_at(&self, r: &Record) -> i64 {
        self.idle_deadline(r).min(self.lifetime_deadline(r))
    }

    fn idle_deadline(&self, r: &Record) -> i64 {
        r.last_seen.saturating_add(self.idle_ms)
    }

    pub(crate) fn lifetime_deadline(&self, r: &Record) -> i64 {
        r.started_at.saturating_add(self.lifetime_ms)
    }

    /// Why a session that reached `expires_at` ends.
    pub fn expiry_reason(&self, r: &Record) -> EndReason {
        if self.lifetime_deadline(r) <= self.idle_deadline(r) {
            EndReason::Lifetime
        } else {
            EndReason::Idle
        }
    }

    /// Whether the session is due at `now`, and for what reason: a session
    /// is live until the millisecond before its `expires_at`.
    #[inline]
    pub fn due(&self, r: &Record, now: i64) -> Option<EndReason> {
        (self.expires_at(r) <= now).then(|| self.expiry_reason(r))
    }

    /// Why a store at `max_sessions` sends away `r`, the live session
    /// closest to expiry: its own expiry when it is due, else eviction.
    pub fn eviction_reason(&self, r: &Record, now: i64) -> EndReason {
        self.due(r, now).unwrap_or(EndReason::Evicted)
    }

    /// Expiry on access, so that neither expiry nor retention waits for a
    /// sweep: a due live session departs, a dormant record past retention
    /// is forgotten, and the session is looked at again. `None` when the
    /// session is as it should be at `now`.
    #[inline]
    pub fn settle(&self, found: &Found<'_>, now: i64) -> Option<Step> {
        match found {
            Found::Live(r) => self
                .due(r, now)
                .map(|reason| Step::Again(Action::Depart(reason))),
            Found::Dormant(d) if !self.retained(d, now) => Some(Step::Again(Action::Forget)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_rules;

    const MIN: i64 = 60_000;

    #[test]
    fn expiry_is_the_earlier_of_idle_and_lifetime() {
        let rules = test_rules();
        let mut r = Record::new(0);
        assert_eq!(rules.expires_at(&r), 30 * MIN);
        assert_eq!(rules.expiry_reason(&r), EndReason::Idle);
        assert_eq!(rules.due(&r, 30 * MIN - 1), None);
        assert_eq!(rules.due(&r, 30 * MIN), Some(EndReason::Idle));
        r.touch(24 * 60 * MIN - 10 * MIN);
        assert_eq!(rules.expires_at(&r), 24 * 60 * MIN);
        assert_eq!(rules.expiry_reason(&r), EndReason::Lifetime);
    }

    #[test]
    fn eviction_of_a_due_session_is_its_expiry() {
        let rules = test_rules();
        let r = Record::new(0);
        assert_eq!(rules.eviction_reason(&r, MIN), EndReason::Evicted);
        assert_eq!(rules.eviction_reason(&r, 30 * MIN), EndReason::Idle);
    }

    #[test]
    fn access_settles_what_is_due_and_nothing_else() {
        let rules = test_rules();
        let mut r = Record::new(0);
        assert!(rules.settle(&Found::Live(&mut r), MIN).is_none());
        assert!(matches!(
            rules.settle(&Found::Live(&mut r), 30 * MIN),
            Some(Step::Again(Action::Depart(EndReason::Idle)))
        ));
        assert!(rules.settle(&Found::Absent, 0).is_none());
    }
}
