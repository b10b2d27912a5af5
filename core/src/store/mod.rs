//! Where sessions live. The memory store is embedded; the rules it applies
//! are in `rules.rs`, shared with every store.

pub(crate) mod memory;
pub(crate) mod record;
pub(crate) mod shard;
pub(crate) mod table;
pub(crate) mod users;
