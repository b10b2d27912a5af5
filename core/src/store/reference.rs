//! The reference store: one mutex over two ordered maps, every choice a
//! plain scan. Deliberately simple, so that it is obviously right; the
//! conformance suite and the property test hold the memory store (and any
//! later store) to it. No performance work: never use it in production.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::id::SessionId;
use crate::model::{Dormant, Entry, EntryRef, Record};
use crate::store::{Action, Cx, Found, Sizes, Step, Store, Which};
use crate::sync::Mutex;

/// A store for tests: see the module documentation.
pub struct ReferenceStore {
    state: Mutex<State>,
    max_live: usize,
    max_dormant: usize,
}

#[derive(Default)]
struct State {
    live: BTreeMap<SessionId, Record>,
    dormant: BTreeMap<SessionId, Dormant>,
}

impl ReferenceStore {
    /// A store bounded as a `MemoryStore::new` with the same arguments.
    pub fn new(max_sessions: usize, max_dormant: usize) -> Self {
        ReferenceStore {
            state: Mutex::new(State::default()),
            max_live: max_sessions,
            max_dormant,
        }
    }
}

impl State {
    fn depart(&mut self, id: SessionId, reason: crate::EndReason, cx: &mut Cx, max_dormant: usize) {
        if let Some(record) = self.live.remove(&id) {
            if let Some(dormant) = cx.depart(id, record, reason) {
                self.remember(id, dormant, cx, max_dormant);
            }
        }
    }

    fn remember(&mut self, id: SessionId, dormant: Dormant, cx: &Cx, max_dormant: usize) {
        if max_dormant == 0 {
            return;
        }
        // The oldest goes, newcomer included.
        let newcomer = (cx.rules.forget_at(&dormant), id);
        while self.dormant.len() >= max_dormant {
            let oldest = self
                .dormant
                .iter()
                .map(|(id, d)| (cx.rules.forget_at(d), *id))
                .min();
            let Some(oldest) = oldest else { break };
            if newcomer < oldest {
                return;
            }
            self.dormant.remove(&oldest.1);
        }
        self.dormant.insert(id, dormant);
    }

    fn insert(
        &mut self,
        id: SessionId,
        record: Record,
        cx: &mut Cx,
        max_live: usize,
        max_dormant: usize,
    ) {
        self.dormant.remove(&id);
        self.live.remove(&id);
        while self.live.len() >= max_live {
            let closest = self
                .live
                .iter()
                .min_by_key(|(id, r)| (cx.rules.expires_at(r), **id));
            let Some((&closest, r)) = closest else { break };
            let reason = cx.rules.eviction_reason(r, cx.now);
            self.depart(closest, reason, cx, max_dormant);
        }
        self.live.insert(id, record);
    }
}

impl Store for ReferenceStore {
    fn update(
        &self,
        id: SessionId,
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) -> Result<()> {
        let mut state = self.state.lock();
        loop {
            let step = if let Some(record) = state.live.get_mut(&id) {
                f(Found::Live(record))
            } else if let Some(dormant) = state.dormant.get_mut(&id) {
                f(Found::Dormant(dormant))
            } else {
                f(Found::Absent)
            };
            let (action, again) = match step {
                Step::Done(action) => (action, false),
                Step::Again(action) => (action, true),
            };
            match action {
                // No index to keep: user lookups scan.
                Action::Keep | Action::Changed | Action::UserChanged { .. } => {}
                Action::Depart(reason) => state.depart(id, reason, cx, self.max_dormant),
                Action::Forget => {
                    state.dormant.remove(&id);
                }
                Action::Insert(record) => {
                    state.insert(id, record, cx, self.max_live, self.max_dormant)
                }
            }
            if !again {
                return Ok(());
            }
        }
    }

    fn peek(&self, id: SessionId, f: &mut dyn FnMut(&Record)) -> Result<()> {
        if let Some(record) = self.state.lock().live.get(&id) {
            f(record);
        }
        Ok(())
    }

    fn parts(&self) -> usize {
        1
    }

    fn scan(&self, _part: usize, f: &mut dyn FnMut(SessionId, &Record)) -> Result<()> {
        for (&id, record) in &self.state.lock().live {
            f(id, record);
        }
        Ok(())
    }

    fn sweep(&self, _part: usize, cx: &mut Cx<'_>, budget: usize) -> Result<bool> {
        let mut state = self.state.lock();
        let mut due: Vec<(i64, SessionId)> = state
            .live
            .iter()
            .filter(|(_, r)| cx.rules.due(r, cx.now).is_some())
            .map(|(&id, r)| (cx.rules.expires_at(r), id))
            .collect();
        due.sort();
        let more = due.len() > budget;
        for &(_, id) in due.iter().take(budget) {
            let reason = state.live.get(&id).and_then(|r| cx.rules.due(r, cx.now));
            if let Some(reason) = reason {
                state.depart(id, reason, cx, self.max_dormant);
            }
        }
        if more {
            return Ok(true);
        }
        let mut past: Vec<(i64, SessionId)> = state
            .dormant
            .iter()
            .filter(|(_, d)| !cx.rules.retained(d, cx.now))
            .map(|(&id, d)| (cx.rules.forget_at(d), id))
            .collect();
        past.sort();
        for &(_, id) in past.iter().take(budget) {
            state.dormant.remove(&id);
        }
        Ok(past.len() > budget)
    }

    fn user_ids(&self, user: &str, which: Which) -> Result<Vec<SessionId>> {
        let state = self.state.lock();
        Ok(match which {
            Which::Live => state
                .live
                .iter()
                .filter(|(_, r)| r.user_id() == Some(user))
                .map(|(&id, _)| id)
                .collect(),
            Which::Dormant => state
                .dormant
                .iter()
                .filter(|(_, d)| d.record.user_id() == Some(user))
                .map(|(&id, _)| id)
                .collect(),
        })
    }

    fn sizes(&self) -> Result<Sizes> {
        let state = self.state.lock();
        Ok(Sizes {
            live: state.live.len() as u64,
            dormant: state.dormant.len() as u64,
        })
    }

    fn export(&self, _part: usize, f: &mut dyn FnMut(EntryRef<'_>)) -> Result<()> {
        let state = self.state.lock();
        for (&id, record) in &state.live {
            f(EntryRef::Live(id, record));
        }
        for (&id, dormant) in &state.dormant {
            f(EntryRef::Dormant(id, dormant));
        }
        Ok(())
    }

    fn import(&self, entry: Entry, cx: &mut Cx<'_>) -> Result<()> {
        let mut state = self.state.lock();
        match entry {
            Entry::Live(id, record) => {
                state.insert(id, record, cx, self.max_live, self.max_dormant)
            }
            Entry::Dormant(id, dormant) => {
                state.live.remove(&id);
                state.dormant.remove(&id);
                state.remember(id, dormant, cx, self.max_dormant);
            }
        }
        Ok(())
    }
}
