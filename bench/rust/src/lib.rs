//! Workload W1 and the contenders that replay it: Sojourn's core and the
//! peers a user would otherwise write.

pub mod peers;
pub mod replay;
pub mod workload;
