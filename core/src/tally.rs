//! The tracker's counters since it was made, striped by thread. Every
//! track adds one; a counter shared by every thread would move its cache
//! line between cores on every call, and two threads would then run
//! hardly faster than one. Kept by the tracker, not the store: they count
//! what this tracker did, whatever store it shares.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::session::{EndReason, Kind, Stats};

const STRIPES: usize = 16;

/// What is counted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    Views,
    Events,
    Started,
    Revived,
    Resumed,
    Rejected,
    HintsClamped,
    AttrsDropped,
    Idle,
    Lifetime,
    Ended,
    Evicted,
    Loaded,
}

const COUNTS: usize = 13;

impl From<Kind> for Count {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::View => Count::Views,
            Kind::Event => Count::Events,
        }
    }
}

impl From<EndReason> for Count {
    fn from(reason: EndReason) -> Self {
        match reason {
            EndReason::Idle => Count::Idle,
            EndReason::Lifetime => Count::Lifetime,
            EndReason::Ended => Count::Ended,
            EndReason::Evicted => Count::Evicted,
        }
    }
}

#[derive(Default)]
#[repr(align(128))]
struct Stripe([AtomicU64; COUNTS]);

#[derive(Default)]
pub(crate) struct Tally {
    stripes: [Stripe; STRIPES],
}

fn my_stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|s| *s)
}

impl Tally {
    #[inline]
    pub fn add(&self, what: impl Into<Count>, n: u64) {
        if n == 0 {
            return;
        }
        self.stripes[my_stripe()].0[what.into() as usize].fetch_add(n, Ordering::Relaxed);
    }

    fn total(&self, what: Count) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0[what as usize].load(Ordering::Relaxed))
            .sum()
    }

    /// Fills in the counters of `stats`.
    pub fn fill(&self, stats: &mut Stats) {
        stats.views = self.total(Count::Views);
        stats.events = self.total(Count::Events);
        stats.started = self.total(Count::Started);
        stats.revived = self.total(Count::Revived);
        stats.resumed = self.total(Count::Resumed);
        stats.rejected = self.total(Count::Rejected);
        stats.hints_clamped = self.total(Count::HintsClamped);
        stats.attrs_dropped = self.total(Count::AttrsDropped);
        stats.ended.idle = self.total(Count::Idle);
        stats.ended.lifetime = self.total(Count::Lifetime);
        stats.ended.ended = self.total(Count::Ended);
        stats.ended.evicted = self.total(Count::Evicted);
        stats.loaded = self.total(Count::Loaded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_add_up() {
        let tally = Tally::default();
        std::thread::scope(|s| {
            for _ in 0..20 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        tally.add(Kind::View, 1);
                    }
                    tally.add(Kind::Event, 3);
                    tally.add(EndReason::Evicted, 1);
                });
            }
        });
        let mut stats = Stats::default();
        tally.fill(&mut stats);
        assert_eq!((stats.views, stats.events), (20_000, 60));
        assert_eq!(stats.ended.evicted, 20);
    }
}
