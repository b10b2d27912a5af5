//! Every rule of `docs/semantics.md`, once, as pure functions of the
//! model and the tracker's `now`. No store type appears here: stores call
//! these, the tracker plans with them.

mod departure;
mod expiry;
mod revival;
mod track;

pub(crate) use revival::{Hinted, Resumed, Revival, set_user};

/// The configuration's durations and bounds as the rules use them:
/// milliseconds, so that the hot path compares integers. Made by the
/// tracker from its `Config`; stores receive it in every [`crate::store::Cx`].
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub(crate) idle_ms: i64,
    pub(crate) lifetime_ms: i64,
    pub(crate) window_ms: i64,
    pub(crate) retention_ms: i64,
    pub(crate) max_attrs_bytes: usize,
    pub(crate) max_counter_hint: u32,
}

impl Rules {
    /// The rules a configuration makes, for a store's own tests (a
    /// tracker makes its own); refuses a configuration out of range.
    pub fn from_config(config: &crate::Config) -> crate::Result<Rules> {
        config.rules()
    }
}

#[cfg(test)]
pub(crate) fn test_rules() -> Rules {
    const MIN: i64 = 60_000;
    Rules {
        idle_ms: 30 * MIN,
        lifetime_ms: 24 * 60 * MIN,
        window_ms: 30 * MIN,
        retention_ms: 24 * 60 * MIN,
        max_attrs_bytes: 4096,
        max_counter_hint: 100_000,
    }
}
