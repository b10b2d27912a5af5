//! The tracker's store: the memory store called directly, any other
//! through the trait object. Measured on W1 under callgrind: calling the
//! memory store through `Arc<dyn Store>` cost 1.7% more instructions than
//! calling it directly (1.230 G against 1.209 G); one predictable branch
//! here gets that back and keeps every store pluggable.

use std::sync::Arc;

use crate::error::Result;
use crate::id::SessionId;
use crate::model::{Entry, EntryRef, Record};
use crate::session::{Kind, Tick};
use crate::store::{Cx, Found, MemoryStore, Sizes, Step, Store, Which};

pub(crate) enum Backend {
    Memory(MemoryStore),
    Other(Arc<dyn Store>),
}

/// Runs `$call` on the store, whichever it is.
macro_rules! on {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Backend::Memory($s) => $call,
            Backend::Other($s) => $call,
        }
    };
}

impl Store for Backend {
    #[inline]
    fn update(
        &self,
        id: SessionId,
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) -> Result<()> {
        on!(self, s => s.update(id, cx, f))
    }

    #[inline]
    fn update_each(
        &self,
        ids: &[SessionId],
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(usize, Found<'_>) -> Step,
    ) -> Result<()> {
        on!(self, s => s.update_each(ids, cx, f))
    }

    #[inline]
    fn peek(&self, id: SessionId, f: &mut dyn FnMut(&Record)) -> Result<()> {
        on!(self, s => s.peek(id, f))
    }

    fn parts(&self) -> usize {
        on!(self, s => s.parts())
    }

    fn scan(&self, part: usize, f: &mut dyn FnMut(SessionId, &Record)) -> Result<()> {
        on!(self, s => s.scan(part, f))
    }

    fn sweep(&self, part: usize, cx: &mut Cx<'_>, budget: usize) -> Result<bool> {
        on!(self, s => s.sweep(part, cx, budget))
    }

    fn user_ids(&self, user: &str, which: Which) -> Result<Vec<SessionId>> {
        on!(self, s => s.user_ids(user, which))
    }

    fn sizes(&self) -> Result<Sizes> {
        on!(self, s => s.sizes())
    }

    fn export(&self, part: usize, f: &mut dyn FnMut(EntryRef<'_>)) -> Result<()> {
        on!(self, s => s.export(part, f))
    }

    fn import(&self, entry: Entry, cx: &mut Cx<'_>) -> Result<()> {
        on!(self, s => s.import(entry, cx))
    }

    fn import_all(&self, entries: Vec<Entry>, cx: &mut Cx<'_>) -> Result<()> {
        on!(self, s => s.import_all(entries, cx))
    }

    #[inline]
    fn track(&self, id: SessionId, kind: Kind, cx: &mut Cx<'_>) -> Result<Result<Tick>> {
        on!(self, s => s.track(id, kind, cx))
    }

    #[inline]
    fn track_many(
        &self,
        ids: &[SessionId],
        kind: Kind,
        cx: &mut Cx<'_>,
    ) -> Result<Vec<Result<Tick>>> {
        on!(self, s => s.track_many(ids, kind, cx))
    }
}
