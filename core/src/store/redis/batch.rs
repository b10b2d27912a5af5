//! `track_many` on one Redis in two round trips, whatever the batch's
//! size: one pipeline reads the sessions this process has no value of,
//! the rules count every item on local copies (several items of one
//! session compose into one new value), and one pipeline swaps each
//! session's value if it is still the one counted on. Only the plain case
//! goes this way, a live session that stays live; an item that meets
//! anything else (a session gone, due, a swap lost to another process,
//! a decision made on a value nobody checked) is done after, one by one,
//! as `track` does it. A Cluster, whose pipelines go to one node, takes
//! the one-by-one way for the whole batch.

use std::collections::HashMap;

use super::{COMMIT, Held, RedisStore};
use crate::error::{Error, Result};
use crate::id::SessionId;
use crate::session::{Kind, Tick};
use crate::store::{Action, Cx, Found, Step, Store};

/// One session of the batch, as counted locally.
struct Local {
    id: SessionId,
    /// The value the count was made on, and whether Redis confirmed it.
    raw: Vec<u8>,
    checked: bool,
    state: Option<Held>,
    /// The deadline of the session as read, and whether an item counted.
    deadline: i64,
    changed: bool,
    /// Still on the pipelined way.
    plain: bool,
}

impl RedisStore {
    pub(super) fn track_batch(
        &self,
        ids: &[SessionId],
        kind: Kind,
        cx: &mut Cx<'_>,
    ) -> Result<Vec<Result<Tick>>> {
        let (rules, now) = (cx.rules, cx.now);
        let mut index: HashMap<SessionId, usize> = HashMap::with_capacity(ids.len());
        let mut locals: Vec<Local> = Vec::new();
        let mut unknown: Vec<usize> = Vec::new();
        for &id in ids {
            index.entry(id).or_insert_with(|| {
                let raw = self.recent.get(id).map(|v| v.to_vec());
                if raw.is_none() {
                    unknown.push(locals.len());
                }
                let checked = raw.is_none();
                locals.push(Local {
                    id,
                    raw: raw.unwrap_or_default(),
                    checked,
                    state: None,
                    deadline: 0,
                    changed: false,
                    plain: true,
                });
                locals.len() - 1
            });
        }
        if !unknown.is_empty() {
            let mut pipe = redis::pipe();
            for &k in &unknown {
                pipe.get(self.session_key(locals[k].id));
            }
            let values: Vec<Option<Vec<u8>>> = self.pool.with(|c| pipe.query(c))?;
            for (&k, value) in unknown.iter().zip(values) {
                locals[k].raw = value.unwrap_or_default();
                self.recent.put(locals[k].id, &locals[k].raw);
            }
        }
        for local in &mut locals {
            local.state = self.decode(&local.raw)?;
            match &local.state {
                Some(Held::Live(r)) => local.deadline = rules.expires_at(r),
                _ => local.plain = false,
            }
        }

        // Count every item on the local copies.
        let mut ticks: Vec<Option<Result<Tick>>> = Vec::with_capacity(ids.len());
        for &id in ids {
            let local = &mut locals[index[&id]];
            let tick = match &mut local.state {
                Some(Held::Live(record)) if local.plain => {
                    let found = Found::Live(record);
                    if rules.settle(&found, now).is_some() {
                        local.plain = false;
                        None
                    } else {
                        let (tick, step) = rules.track(found, id, kind, now);
                        match step {
                            Step::Done(Action::Changed) => {
                                local.changed = true;
                                Some(tick)
                            }
                            Step::Done(Action::Keep) => Some(tick),
                            _ => {
                                local.plain = false;
                                None
                            }
                        }
                    }
                }
                _ => None,
            };
            ticks.push(tick);
        }

        // Swap each session that changed; the rest must be checked.
        let mut swaps: Vec<(usize, Vec<u8>)> = Vec::new();
        for (k, local) in locals.iter_mut().enumerate() {
            if !local.plain {
                continue;
            }
            match &local.state {
                Some(Held::Live(a)) if local.changed => {
                    // A track moves a deadline later: no index entry to
                    // write (see `swap`); anything else goes one by one.
                    if rules.expires_at(a) >= local.deadline {
                        let value = serde_json::to_vec(&local.state)
                            .map_err(|e| Error::store(self.pool.address(), e))?;
                        swaps.push((k, value));
                    } else {
                        local.plain = false;
                    }
                }
                _ if local.checked => {}
                _ => local.plain = false,
            }
        }
        if !swaps.is_empty() {
            let mut pipe = redis::pipe();
            for (k, value) in &swaps {
                pipe.cmd("EVAL")
                    .arg(COMMIT)
                    .arg(1)
                    .arg(self.session_key(locals[*k].id))
                    .arg(&locals[*k].raw)
                    .arg(value);
            }
            let replies: Vec<Vec<Vec<u8>>> = self.pool.with(|c| pipe.query(c))?;
            for ((k, value), mut reply) in swaps.into_iter().zip(replies) {
                let local = &mut locals[k];
                if reply.first().map(Vec::as_slice) == Some(b"1") {
                    self.recent.put(local.id, &value);
                } else {
                    let current = reply.pop().filter(|_| reply.len() == 1).unwrap_or_default();
                    self.recent.put(local.id, &current);
                    local.plain = false;
                }
            }
        }

        // The rest, one by one, in order.
        let mut out = Vec::with_capacity(ids.len());
        for (&id, tick) in ids.iter().zip(ticks) {
            let result = match tick {
                Some(tick) if locals[index[&id]].plain => tick,
                _ => match self.track(id, kind, cx) {
                    Ok(tick) => tick,
                    Err(err) => Err(err),
                },
            };
            out.push(result);
        }
        Ok(out)
    }
}
