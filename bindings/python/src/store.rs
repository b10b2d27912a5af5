//! The store seam, for tests: `sojourn.testing.FaultSwitch`, which makes a
//! tracker whose store fails on demand (the core's `FaultyStore` over the
//! memory store), so that an application can test what it does with a
//! `StoreError`. An internal hook, documented, not a store of its own.

use std::sync::Arc;

use pyo3::prelude::*;
use sojourn::store::{FaultSwitch, FaultyStore, Store};
use sojourn::{Config, MemoryStore, TrackerBuilder};

/// Turns the failures of a tracker's store on and off, for testing how an
/// application handles ``sojourn.StoreError``.
///
/// ``Tracker(fault_switch=switch)`` keeps its sessions in memory, as
/// always, behind a store that fails while the switch is on: from
/// ``switch.fail(True)`` until ``switch.fail(False)``, every call that
/// reads or writes the store raises ``StoreError`` (code ``STORE_ERROR``,
/// ``address`` ``"faulty://sojourn"``) and changes nothing; the first
/// sweep that fails also warns (``SojournWarning``, code
/// ``STORE_ERROR``), once until the store answers again. A switch starts
/// off; one switch may drive several trackers.
#[pyclass(name = "FaultSwitch", module = "sojourn.testing", frozen)]
pub struct PyFaultSwitch(FaultSwitch);

#[pymethods]
impl PyFaultSwitch {
    #[new]
    fn new() -> Self {
        PyFaultSwitch(FaultSwitch::default())
    }

    /// From now on, every call of the trackers it drives that reaches the
    /// store fails (``True``) or goes through (``False``).
    fn fail(&self, on: bool) {
        self.0.fail(on);
    }
}

impl PyFaultSwitch {
    /// `builder` with a store that fails while this switch is on: the
    /// core's `FaultyStore` over the memory store it would have had.
    pub fn store(&self, builder: TrackerBuilder) -> TrackerBuilder {
        let switch = self.0.clone();
        builder.store(move |c: &Config| {
            let inner: Arc<dyn Store> = Arc::new(MemoryStore::new(c.max_sessions, c.max_dormant));
            Ok(Arc::new(FaultyStore::new(inner, switch.clone())) as Arc<dyn Store>)
        })
    }
}
