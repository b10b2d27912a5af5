//! A store that fails on demand: it wraps another and, while switched on,
//! fails every call before it reaches the store inside, which is thus left
//! unchanged. For tests of what an application does when its store fails
//! (Redis unreachable), in Rust and through the bindings.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::model::{Entry, EntryRef, Record};
use crate::session::{Kind, Tick};
use crate::store::{Cx, Found, Sizes, Step, Store, Which};

/// The address a faulty store's errors name.
pub const FAULTY_ADDRESS: &str = "faulty://sojourn";

/// Turns a [`FaultyStore`]'s failures on and off; clones share the switch.
#[derive(Debug, Clone, Default)]
pub struct FaultSwitch(Arc<AtomicBool>);

impl FaultSwitch {
    /// From now on, every call fails (`true`) or goes through (`false`).
    pub fn fail(&self, on: bool) {
        self.0.store(on, Ordering::SeqCst);
    }

    fn check(&self) -> Result<()> {
        if self.0.load(Ordering::SeqCst) {
            let cause = std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "the store is switched to fail",
            );
            return Err(Error::store(FAULTY_ADDRESS, cause));
        }
        Ok(())
    }
}

/// See the module documentation.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    switch: FaultSwitch,
}

impl FaultyStore {
    /// Wraps `inner`; `switch` turns the failures on and off.
    pub fn new(inner: Arc<dyn Store>, switch: FaultSwitch) -> Self {
        FaultyStore { inner, switch }
    }
}

impl Store for FaultyStore {
    fn update(
        &self,
        id: SessionId,
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(Found<'_>) -> Step,
    ) -> Result<()> {
        self.switch.check()?;
        self.inner.update(id, cx, f)
    }

    fn update_each(
        &self,
        ids: &[SessionId],
        cx: &mut Cx<'_>,
        f: &mut dyn FnMut(usize, Found<'_>) -> Step,
    ) -> Result<()> {
        self.switch.check()?;
        self.inner.update_each(ids, cx, f)
    }

    fn peek(&self, id: SessionId, f: &mut dyn FnMut(&Record)) -> Result<()> {
        self.switch.check()?;
        self.inner.peek(id, f)
    }

    fn parts(&self) -> usize {
        self.inner.parts()
    }

    fn scan(&self, part: usize, f: &mut dyn FnMut(SessionId, &Record)) -> Result<()> {
        self.switch.check()?;
        self.inner.scan(part, f)
    }

    fn sweep(&self, part: usize, cx: &mut Cx<'_>, budget: usize) -> Result<bool> {
        self.switch.check()?;
        self.inner.sweep(part, cx, budget)
    }

    fn user_ids(&self, user: &str, which: Which) -> Result<Vec<SessionId>> {
        self.switch.check()?;
        self.inner.user_ids(user, which)
    }

    fn sizes(&self) -> Result<Sizes> {
        self.switch.check()?;
        self.inner.sizes()
    }

    fn export(&self, part: usize, f: &mut dyn FnMut(EntryRef<'_>)) -> Result<()> {
        self.switch.check()?;
        self.inner.export(part, f)
    }

    fn import(&self, entry: Entry, cx: &mut Cx<'_>) -> Result<()> {
        self.switch.check()?;
        self.inner.import(entry, cx)
    }

    fn track(&self, id: SessionId, kind: Kind, cx: &mut Cx<'_>) -> Result<Result<Tick>> {
        self.switch.check()?;
        self.inner.track(id, kind, cx)
    }

    fn track_many(
        &self,
        ids: &[SessionId],
        kind: Kind,
        cx: &mut Cx<'_>,
    ) -> Result<Vec<Result<Tick>>> {
        self.switch.check()?;
        self.inner.track_many(ids, kind, cx)
    }
}
