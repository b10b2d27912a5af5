//! A session as a snapshot holds it: the model in a shape that postcard
//! (a format that does not describe itself) reads back, and compact: ids
//! as 128-bit numbers rather than 36 characters, attribute values tagged
//! (the model's are untagged, for JSON). `Out` writes it from the model
//! where it lies, copying nothing; `Wire` reads it back, owned. The two
//! are the same shape, field for field (a round trip test holds them so).

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::attrs::{AttrValue, Attrs};
use crate::id::SessionId;
use crate::model::{Dormant, Entry, EntryRef, Extra, Record};
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
    /// Read as pairs straight into the map: no list in between.
    #[serde(deserialize_with = "attrs_in")]
    attrs: Attrs,
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

/// A list of (name, tagged value) pairs as attributes (the last of a
/// name wins, as a map's collect would).
fn attrs_in<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Attrs, D::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Attrs;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of attributes")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Attrs, A::Error> {
            let mut attrs = Attrs::new();
            while let Some((name, value)) = seq.next_element::<(String, WireValue)>()? {
                attrs.insert(name, value.value());
            }
            Ok(attrs)
        }
    }
    d.deserialize_seq(Pairs)
}

fn id_of(bits: u128) -> Result<SessionId, Problem> {
    SessionId::from_u128(bits).map_err(|_| Problem::Corrupt("a session id"))
}

impl WireRecord {
    fn record(self) -> Result<Record, Problem> {
        let previous_id = self.previous_id.map(id_of).transpose()?;
        let attrs = self.attrs;
        let extra =
            (self.user_id.is_some() || previous_id.is_some() || !attrs.is_empty()).then(|| {
                std::sync::Arc::new(Extra {
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

/// A session written where it lies: serializes exactly as [`Wire`].
#[derive(Serialize)]
pub enum Out<'a> {
    Live(u128, RecordOut<'a>),
    Dormant(u128, RecordOut<'a>, EndReason, i64, bool, bool),
}

#[derive(Serialize)]
pub struct RecordOut<'a> {
    started_at: i64,
    last_seen: i64,
    views: u32,
    events: u32,
    session_index: u32,
    revivals: u32,
    user_id: Option<&'a str>,
    previous_id: Option<u128>,
    attrs: AttrsOut<'a>,
}

/// The attributes as [`WireRecord`]'s list of pairs.
pub struct AttrsOut<'a>(Option<&'a Attrs>);

#[derive(Serialize)]
enum ValueOut<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl<'a> Out<'a> {
    pub fn of(entry: EntryRef<'a>) -> Out<'a> {
        match entry {
            EntryRef::Live(id, r) => Out::Live(id.as_u128(), RecordOut::of(r)),
            EntryRef::Dormant(id, d) => Out::Dormant(
                id.as_u128(),
                RecordOut::of(&d.record),
                d.reason,
                d.ended_at,
                d.barred,
                d.erased,
            ),
        }
    }
}

impl<'a> RecordOut<'a> {
    fn of(r: &'a Record) -> RecordOut<'a> {
        let extra = r.extra.as_deref();
        RecordOut {
            started_at: r.started_at,
            last_seen: r.last_seen,
            views: r.views,
            events: r.events,
            session_index: r.session_index,
            revivals: r.revivals,
            user_id: extra.and_then(|e| e.user_id.as_deref()),
            previous_id: extra.and_then(|e| e.previous_id).map(SessionId::as_u128),
            attrs: AttrsOut(extra.map(|e| &e.attrs)),
        }
    }
}

impl Serialize for AttrsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // An exact length: postcard writes it first.
        fn pair<'v>((k, v): (&'v String, &'v AttrValue)) -> (&'v str, ValueOut<'v>) {
            (k.as_str(), ValueOut::of(v))
        }
        match self.0 {
            Some(attrs) => s.collect_seq(attrs.iter().map(pair)),
            None => s.collect_seq(Attrs::new().iter().map(pair)),
        }
    }
}

impl<'a> ValueOut<'a> {
    fn of(v: &'a AttrValue) -> ValueOut<'a> {
        match v {
            AttrValue::Null => ValueOut::Null,
            AttrValue::Bool(b) => ValueOut::Bool(*b),
            AttrValue::Int(i) => ValueOut::Int(*i),
            AttrValue::Float(f) => ValueOut::Float(*f),
            AttrValue::Str(s) => ValueOut::Str(s),
        }
    }
}
