//! The core's `store` module, for tests: a switch that makes the tracker's
//! store fail on demand, as an unreachable Redis would.

use std::sync::Arc;

use napi_derive::napi;
use sojourn::store::{FaultyStore, Store};
use sojourn::{Config, MemoryStore};

use crate::convert::Arg;
use crate::error::Result;

/// Makes a tracker's store fail on demand, for tests of what an application
/// does when its store is unreachable. Given to a tracker as `faultSwitch`,
/// the tracker's store is the memory store behind a faulty one: while the
/// switch is on, every call that reaches the store throws `STORE_ERROR`
/// (its message naming `faulty://sojourn`) and changes nothing; switched
/// off, the tracker goes on from where it was. Exported for tests as
/// `testing.FaultSwitch`.
#[napi]
#[derive(Default)]
pub struct FaultSwitch {
    pub(crate) inner: sojourn::store::FaultSwitch,
}

#[napi]
impl FaultSwitch {
    /// A switch that is off: the store answers.
    #[napi(constructor)]
    pub fn new() -> Self {
        FaultSwitch::default()
    }

    /// From now on, every call of the store fails (`true`) or goes
    /// through (`false`).
    #[napi]
    pub fn fail(&self, #[napi(ts_arg_type = "boolean")] on: Arg<bool>) -> Result<()> {
        self.inner.fail(on.get("on")?);
        Ok(())
    }
}

/// The store of a tracker made with `switch`: the memory store, sized as the
/// configuration says, behind a faulty store that `switch` controls.
pub fn faulty(
    switch: sojourn::store::FaultSwitch,
) -> impl Fn(&Config) -> sojourn::Result<Arc<dyn Store>> + Send + Sync + 'static {
    move |c: &Config| {
        let inner: Arc<dyn Store> = Arc::new(MemoryStore::new(c.max_sessions, c.max_dormant));
        Ok(Arc::new(FaultyStore::new(inner, switch.clone())) as Arc<dyn Store>)
    }
}
