//! A session as a snapshot holds it: the model in a shape that postcard
//! (a format that does not describe itself) reads back, and compact: ids
//! as 128-bit numbers rather than 36 characters, attribute values tagged
//! (the model's are untagged, for JSON).

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::attrs::{AttrValue, Attrs};
use crate::id::SessionId;
use crate::model::{Dormant, Entry, Extra, Record};
use crate::session::EndReason;

#[derive(Serialize, Deserialize)]
pub enum Wire {
    Live(u128, WireRecord),
    Dormant(u128, WireRecord, EndReason, i64, bool, bool),
}

#[derive(Serialize, Deserialize)]
pub struct WireRecord {
    started_at: i64,
    last_seen: i64,
    views: u32,
    events: u32,
    session_index: u32,
    revivals: u32,
    user_id: Option<String>,
    previous_id: Option<u128>,
    attrs: Vec<(String, WireValue)>,
}

#[derive(Serialize, Deserialize)]
enum WireValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Wire {
    pub fn of(entry: &Entry) -> Wire {
        match entry {
            Entry::Live(id, r) => Wire::Live(id.as_u128(), WireRecord::of(r)),
            Entry::Dormant(id, d) => Wire::Dormant(
                id.as_u128(),
                WireRecord::of(&d.record),
                d.reason,
                d.ended_at,
                d.barred,
                d.erased,
            ),
        }
    }

    pub fn entry(self) -> Result<Entry, Problem> {
        Ok(match self {
            Wire::Live(id, r) => Entry::Live(id_of(id)?, r.record()?),
            Wire::Dormant(id, r, reason, ended_at, barred, erased) => Entry::Dormant(
                id_of(id)?,
                Dormant {
                    record: r.record()?,
                    reason,
                    ended_at,
                    barred,
                    erased,
                },
            ),
        })
    }
}

fn id_of(bits: u128) -> Result<SessionId, Problem> {
    SessionId::from_u128(bits).map_err(|_| Problem::Corrupt("a session id"))
}

impl WireRecord {
    fn of(r: &Record) -> WireRecord {
        let extra = r.extra.as_deref();
        WireRecord {
            started_at: r.started_at,
            last_seen: r.last_seen,
            views: r.views,
            events: r.events,
            session_index: r.session_index,
            revivals: r.revivals,
            user_id: extra.and_then(|e| e.user_id.as_deref()).map(str::to_owned),
            previous_id: extra.and_then(|e| e.previous_id).map(SessionId::as_u128),
            attrs: extra
                .map(|e| {
                    e.attrs
                        .iter()
                        .map(|(k, v)| (k.clone(), WireValue::of(v)))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn record(self) -> Result<Record, Problem> {
        let previous_id = self.previous_id.map(id_of).transpose()?;
        let attrs: Attrs = self
            .attrs
            .into_iter()
            .map(|(k, v)| (k, v.value()))
            .collect();
        let extra =
            (self.user_id.is_some() || previous_id.is_some() || !attrs.is_empty()).then(|| {
                Box::new(Extra {
                    user_id: self.user_id.map(Into::into),
                    previous_id,
                    attrs,
                })
            });
        Ok(Record {
            started_at: self.started_at,
            last_seen: self.last_seen,
            views: self.views,
            events: self.events,
            session_index: self.session_index,
            revivals: self.revivals,
            extra,
        })
    }
}

impl WireValue {
    fn of(v: &AttrValue) -> WireValue {
        match v {
            AttrValue::Null => WireValue::Null,
            AttrValue::Bool(b) => WireValue::Bool(*b),
            AttrValue::Int(i) => WireValue::Int(*i),
            AttrValue::Float(f) => WireValue::Float(*f),
            AttrValue::Str(s) => WireValue::Str(s.clone()),
        }
    }

    fn value(self) -> AttrValue {
        match self {
            WireValue::Null => AttrValue::Null,
            WireValue::Bool(b) => AttrValue::Bool(b),
            WireValue::Int(i) => AttrValue::Int(i),
            WireValue::Float(f) => AttrValue::Float(f),
            WireValue::Str(s) => AttrValue::Str(s),
        }
    }
}
