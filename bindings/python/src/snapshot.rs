//! Snapshots, as the core's `snapshot` module has them: what
//! `Tracker.save` wrote, as `sojourn.SnapshotCounts`. The options
//! (`load`, `snapshot`, `snapshot_interval`, `snapshot_key`) are converted
//! in `config.rs`, the error (`SnapshotError`) in `errors.rs`.

use pyo3::prelude::*;
use sojourn::snapshot::Counts;

/// How many sessions a snapshot holds: what ``Tracker.save`` wrote.
/// Immutable; equal to another with the same counts.
#[pyclass(name = "SnapshotCounts", module = "sojourn", frozen, eq)]
#[derive(PartialEq)]
pub struct PySnapshotCounts(pub Counts);

#[pymethods]
impl PySnapshotCounts {
    /// Live sessions.
    #[getter]
    fn live(&self) -> u64 {
        self.0.live
    }

    /// Remembered (dormant) sessions: ended or departed, kept for revival
    /// and links until ``retention``.
    #[getter]
    fn dormant(&self) -> u64 {
        self.0.dormant
    }

    fn __hash__(&self) -> u64 {
        self.0.live.rotate_left(32) ^ self.0.dormant
    }

    fn __repr__(&self) -> String {
        format!(
            "SnapshotCounts(live={}, dormant={})",
            self.0.live, self.0.dormant
        )
    }
}
