//! The rules of expiry and revival as pure functions of a record and the
//! time, shared by every store.

use crate::config::{MAX_CLOCK_SKEW, Rules};
use crate::id::SessionId;
use crate::session::EndReason;
use crate::store::record::{Dormant, Record};

const SKEW_MS: i64 = MAX_CLOCK_SKEW.as_millis() as i64;

impl Rules {
    /// `min(last_seen + idle_timeout, started_at + max_lifetime)`.
    pub fn expires_at(&self, r: &Record) -> i64 {
        self.idle_deadline(r).min(self.lifetime_deadline(r))
    }

    fn idle_deadline(&self, r: &Record) -> i64 {
        r.last_seen.saturating_add(self.idle_ms)
    }

    fn lifetime_deadline(&self, r: &Record) -> i64 {
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

    /// Whether a session that departed for `reason` may come back at `now`;
    /// `resume` applies the revive window, an explicit `revive` does not.
    pub fn revivable(
        &self,
        reason: EndReason,
        r: &Record,
        now: i64,
        window: bool,
    ) -> Result<(), &'static str> {
        if !matches!(reason, EndReason::Idle | EndReason::Evicted) {
            return Err(match reason {
                EndReason::Lifetime => "it reached its max_lifetime",
                _ => "it was ended",
            });
        }
        if now >= self.lifetime_deadline(r) {
            return Err("it would be past its max_lifetime");
        }
        if window && now.saturating_sub(r.last_seen) >= self.window_ms {
            return Err("it has been inactive longer than the revive_window");
        }
        Ok(())
    }

    pub fn dormant_revivable(
        &self,
        d: &Dormant,
        now: i64,
        window: bool,
    ) -> Result<(), &'static str> {
        if d.erased {
            return Err("it was erased");
        }
        if d.barred {
            return Err("its user was logged out");
        }
        self.revivable(d.reason, &d.record, now, window)
    }

    /// Whether an id the tracker does not know may be revived at `now`: a
    /// UUIDv7 carries its creation time, which must be less than
    /// `max_lifetime` ago (a session started then would already be over)
    /// and not too far in the future.
    pub fn acceptable_unknown(&self, id: SessionId, now: i64) -> Result<(), &'static str> {
        match id.v7_unix_ms() {
            Some(made) if made <= now.saturating_sub(self.lifetime_ms) => {
                Err("its UUIDv7 time is max_lifetime ago or older")
            }
            Some(made) if made > now.saturating_add(SKEW_MS) => {
                Err("its UUIDv7 time is in the future")
            }
            _ => Ok(()),
        }
    }

    /// When an unknown id's session started: its v7 time, or now.
    pub fn unknown_started_at(&self, id: SessionId, now: i64) -> i64 {
        id.v7_unix_ms().map_or(now, |made| made.min(now))
    }

    /// A client's counter hint, cut down to `max_counter_hint`; and
    /// whether it was.
    pub fn counter_hint(&self, hint: u64) -> (u32, bool) {
        match u32::try_from(hint) {
            Ok(n) if n <= self.max_counter_hint => (n, false),
            _ => (self.max_counter_hint, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn rules() -> Rules {
        Rules {
            idle_ms: 30 * MIN,
            lifetime_ms: 24 * 60 * MIN,
            window_ms: 30 * MIN,
            retention_ms: 24 * 60 * MIN,
            max_attrs_bytes: 4096,
            max_counter_hint: 100_000,
        }
    }

    #[test]
    fn expiry_is_the_earlier_of_idle_and_lifetime() {
        let rules = rules();
        let mut r = Record::new(0);
        assert_eq!(rules.expires_at(&r), 30 * MIN);
        assert_eq!(rules.expiry_reason(&r), EndReason::Idle);
        r.touch(24 * 60 * MIN - 10 * MIN);
        assert_eq!(rules.expires_at(&r), 24 * 60 * MIN);
        assert_eq!(rules.expiry_reason(&r), EndReason::Lifetime);
    }

    #[test]
    fn revival_needs_reason_window_and_lifetime() {
        let rules = rules();
        let r = Record::new(0);
        assert!(
            rules
                .revivable(EndReason::Evicted, &r, 29 * MIN, true)
                .is_ok()
        );
        assert!(
            rules
                .revivable(EndReason::Idle, &r, 30 * MIN, true)
                .is_err()
        );
        assert!(
            rules
                .revivable(EndReason::Idle, &r, 30 * MIN, false)
                .is_ok()
        );
        assert!(rules.revivable(EndReason::Ended, &r, MIN, true).is_err());
        assert!(
            rules
                .revivable(EndReason::Lifetime, &r, MIN, false)
                .is_err()
        );
        assert!(
            rules
                .revivable(EndReason::Idle, &r, 24 * 60 * MIN, false)
                .is_err()
        );
    }

    #[test]
    fn counter_hints_are_cut_down_to_the_bound() {
        let rules = rules();
        assert_eq!(rules.counter_hint(7), (7, false));
        assert_eq!(rules.counter_hint(100_000), (100_000, false));
        assert_eq!(rules.counter_hint(100_001), (100_000, true));
        assert_eq!(rules.counter_hint(u64::MAX), (100_000, true));
    }

    #[test]
    fn unknown_v7_ids_must_be_recent() {
        let rules = rules();
        let now = 1_767_225_600_000;
        let recent = SessionId::new_v7(now - 60 * MIN);
        let old = SessionId::new_v7(now - 25 * 60 * MIN);
        let future = SessionId::new_v7(now + 2 * MIN);
        assert!(rules.acceptable_unknown(recent, now).is_ok());
        assert!(rules.acceptable_unknown(old, now).is_err());
        assert!(rules.acceptable_unknown(future, now).is_err());
        // Made exactly max_lifetime ago: a session started then is over.
        let boundary = SessionId::new_v7(now - rules.lifetime_ms);
        assert!(rules.acceptable_unknown(boundary, now).is_err());
        let inside = SessionId::new_v7(now - rules.lifetime_ms + 1);
        assert!(rules.acceptable_unknown(inside, now).is_ok());
        assert_eq!(rules.unknown_started_at(recent, now), now - 60 * MIN);
        let v4 = SessionId::parse("9b2f4c1e-3d5a-4b6c-8d7e-0f1a2b3c4d5e").unwrap();
        assert!(rules.acceptable_unknown(v4, now).is_ok());
        assert_eq!(rules.unknown_started_at(v4, now), now);
    }
}
