//! Loads the W1 and W2 files written by `bench/workload.py` (formats
//! described there).

use std::io;

/// What one operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    TrackView,
    TrackEvent,
    Get,
    Start,
    Identify,
    Revive,
}

pub struct Workload {
    pub prestart: usize,
    pub ops: Vec<Op>,
    pub target: Vec<u32>,
    pub user: Vec<u32>,
    pub users: Vec<String>,
    /// The uuid4 ids of the revives, in op order.
    pub revives: Vec<u128>,
    /// W2 only (empty in W1): the returning visitors' ids, revived first in
    /// this order with their clients' view and event counters as hints.
    pub returning: Vec<u128>,
    pub view_hints: Vec<u32>,
    pub event_hints: Vec<u32>,
}

fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Workload {
    /// Whether this is W2 (the restart storm).
    pub fn is_w2(&self) -> bool {
        !self.returning.is_empty()
    }

    pub fn load(path: &str) -> io::Result<Workload> {
        let data = std::fs::read(path)?;
        let bad =
            |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: {what}"));
        let w2 = match data.get(..4) {
            Some(b"SJW1") if data.len() >= 20 => false,
            Some(b"SJW2") if data.len() >= 20 => true,
            _ => return Err(bad("neither a W1 nor a W2 file")),
        };
        let header = u32s(&data[4..20]);
        // W1: version, prestart, n_ops, n_users; W2: version, returning, ...
        let (first, n, n_users) = (header[1] as usize, header[2] as usize, header[3] as usize);
        let mut at = 20;
        let mut take = |len: usize| {
            let slice = data.get(at..at + len).ok_or_else(|| bad("truncated"));
            at += len;
            slice
        };
        let (prestart, returning, view_hints, event_hints) = if w2 {
            let ids = take(16 * first)?
                .chunks_exact(16)
                .map(|c| u128::from_be_bytes(c.try_into().unwrap_or_default()))
                .collect();
            let views = u32s(take(4 * first)?);
            let events = u32s(take(4 * first)?);
            (0, ids, views, events)
        } else {
            (first, Vec::new(), Vec::new(), Vec::new())
        };
        let ops = take(n)?
            .iter()
            .map(|&b| match b {
                0 => Ok(Op::TrackView),
                1 => Ok(Op::TrackEvent),
                2 => Ok(Op::Get),
                3 => Ok(Op::Start),
                4 => Ok(Op::Identify),
                5 => Ok(Op::Revive),
                _ => Err(bad("unknown op")),
            })
            .collect::<io::Result<Vec<Op>>>()?;
        let target = u32s(take(4 * n)?);
        let user = u32s(take(4 * n)?);
        let n_revives = ops.iter().filter(|&&op| op == Op::Revive).count();
        let revives = take(16 * n_revives)?
            .chunks_exact(16)
            .map(|c| u128::from_be_bytes(c.try_into().unwrap_or_default()))
            .collect();
        let users = (0..n_users).map(|i| format!("user-{i}")).collect();
        Ok(Workload {
            prestart,
            ops,
            target,
            user,
            users,
            revives,
            returning,
            view_hints,
            event_hints,
        })
    }
}
