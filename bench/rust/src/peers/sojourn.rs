//! Sojourn's core, configured as a user would (defaults, driver running).

use sojourn::{Hints, Kind, SessionId, Tracker};

use crate::replay::Contender;

pub struct SojournCore {
    pub tracker: Tracker,
}

impl Default for SojournCore {
    fn default() -> Self {
        SojournCore {
            tracker: Tracker::builder()
                .unsigned_tokens(true)
                .build()
                .expect("the default configuration is valid"),
        }
    }
}

impl Contender for SojournCore {
    type Id = SessionId;
    type Key = SessionId;

    fn key(&self, uuid: u128) -> SessionId {
        SessionId::from_u128(uuid).expect("the workload holds uuid4 ids")
    }

    fn start(&self) -> SessionId {
        self.tracker
            .start(None, None)
            .map(|s| s.id)
            .expect("start succeeds")
    }

    fn track(&self, id: &SessionId, view: bool) -> u64 {
        let kind = if view { Kind::View } else { Kind::Event };
        self.tracker.track(*id, kind).map_or(0, |t| t.sequence)
    }

    fn get(&self, id: &SessionId) -> bool {
        matches!(self.tracker.get(*id), Ok(Some(_)))
    }

    fn identify(&self, id: &SessionId, user: &str) {
        let _ = self.tracker.identify(*id, user);
    }

    fn revive(&self, key: &SessionId) -> SessionId {
        let _ = self.tracker.revive(*key, Hints::default());
        *key
    }

    fn revive_hinted(&self, key: &SessionId, views: u64, events: u64) -> SessionId {
        let hints = Hints {
            view_sequence: views,
            event_sequence: events,
            ..Hints::default()
        };
        let _ = self.tracker.revive(*key, hints);
        *key
    }
}
