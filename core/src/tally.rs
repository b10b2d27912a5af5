//! The counts of tracked views and events, striped by thread. Every track
//! adds one; a counter shared by every thread would move its cache line
//! between cores on every call, and two threads would then run hardly
//! faster than one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::session::Kind;

const STRIPES: usize = 16;

#[derive(Default)]
#[repr(align(128))]
struct Stripe {
    views: AtomicU64,
    events: AtomicU64,
}

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
    pub fn add(&self, kind: Kind, n: u64) {
        if n == 0 {
            return;
        }
        let stripe = &self.stripes[my_stripe()];
        let counter = match kind {
            Kind::View => &stripe.views,
            Kind::Event => &stripe.events,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Views and events tracked so far.
    pub fn totals(&self) -> (u64, u64) {
        self.stripes.iter().fold((0, 0), |(v, e), s| {
            (
                v + s.views.load(Ordering::Relaxed),
                e + s.events.load(Ordering::Relaxed),
            )
        })
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
                });
            }
        });
        assert_eq!(tally.totals(), (20_000, 60));
    }
}
