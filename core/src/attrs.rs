//! Session attributes: a small map of string keys to JSON scalars (entry
//! page, referrer, utm fields, user agent…), bounded in encoded size.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An attribute value: a JSON scalar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A finite floating-point number.
    Float(f64),
    /// A string.
    Str(String),
}

/// A session's attributes, sorted by key.
pub type Attrs = BTreeMap<String, AttrValue>;

impl From<&str> for AttrValue {
    fn from(value: &str) -> Self {
        AttrValue::Str(value.to_owned())
    }
}
impl From<String> for AttrValue {
    fn from(value: String) -> Self {
        AttrValue::Str(value)
    }
}
impl From<bool> for AttrValue {
    fn from(value: bool) -> Self {
        AttrValue::Bool(value)
    }
}
impl From<i64> for AttrValue {
    fn from(value: i64) -> Self {
        AttrValue::Int(value)
    }
}
impl From<f64> for AttrValue {
    fn from(value: f64) -> Self {
        AttrValue::Float(value)
    }
}

impl TryFrom<serde_json::Value> for AttrValue {
    type Error = Error;
    fn try_from(value: serde_json::Value) -> Result<Self> {
        use serde_json::Value;
        Ok(match value {
            Value::Null => AttrValue::Null,
            Value::Bool(b) => AttrValue::Bool(b),
            Value::String(s) => AttrValue::Str(s),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => AttrValue::Int(i),
                (None, Some(_)) if n.is_u64() => {
                    return Err(Error::invalid("attrs", "an integer is out of range"));
                }
                (None, Some(f)) => AttrValue::Float(f),
                (None, None) => return Err(Error::invalid("attrs", "unrepresentable number")),
            },
            Value::Array(_) | Value::Object(_) => {
                return Err(Error::invalid("attrs", "values must be JSON scalars"));
            }
        })
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

/// Converts a JSON object into attributes, checking every value.
pub fn attrs_from_json(value: serde_json::Value) -> Result<Attrs> {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| Ok((k, AttrValue::try_from(v)?)))
            .collect(),
        _ => Err(Error::invalid("attrs", "expected an object")),
    }
}

/// Checks the keys and values given to a tracker call.
pub(crate) fn check(attrs: &Attrs) -> Result<()> {
    for (key, value) in attrs {
        if key.is_empty() {
            return Err(Error::invalid("attrs", "keys must not be empty"));
        }
        if let AttrValue::Float(f) = value {
            if !f.is_finite() {
                return Err(Error::invalid(
                    "attrs",
                    format!("{key:?} is not a finite number"),
                ));
            }
        }
    }
    Ok(())
}

/// The size of the compact JSON encoding of `attrs`, in bytes.
pub(crate) fn encoded_len(attrs: &Attrs) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Scalars and string keys always serialise; a failure would only mean a
    // non-finite float, which `check` refuses first.
    let _ = serde_json::to_writer(&mut counter, attrs);
    counter.0
}

/// Merges `update` into `base` (keys given replace theirs) and checks the
/// result against the size bound, leaving `base` untouched on error.
pub(crate) fn merged(base: Option<&Attrs>, update: Attrs, max_bytes: usize) -> Result<Attrs> {
    check(&update)?;
    let mut out = base.cloned().unwrap_or_default();
    out.extend(update);
    let size = encoded_len(&out);
    if size > max_bytes {
        return Err(Error::invalid(
            "attrs",
            format!("encoded size {size} bytes is over the limit of {max_bytes}"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, AttrValue)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn size_is_the_compact_json_length() {
        let a = attrs(&[("a", "xxxx".into())]);
        assert_eq!(encoded_len(&a), r#"{"a":"xxxx"}"#.len());
        assert_eq!(encoded_len(&Attrs::new()), 2);
    }

    #[test]
    fn merge_replaces_given_keys_and_keeps_others() {
        let base = attrs(&[("page", "/".into()), ("ref", "x".into())]);
        let out = merged(Some(&base), attrs(&[("page", "/b".into())]), 4096).unwrap();
        assert_eq!(out, attrs(&[("page", "/b".into()), ("ref", "x".into())]));
    }

    #[test]
    fn merge_refuses_oversize_empty_keys_and_nan() {
        let err = merged(None, attrs(&[("a", "xxxxx".into())]), 12).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert!(merged(None, attrs(&[("a", "xxxx".into())]), 12).is_ok());
        assert!(merged(None, attrs(&[("", 1i64.into())]), 100).is_err());
        assert!(merged(None, attrs(&[("x", f64::NAN.into())]), 100).is_err());
    }

    #[test]
    fn json_conversion_accepts_only_scalars() {
        let ok =
            attrs_from_json(serde_json::json!({"a": 1, "b": 1.5, "c": null, "d": true, "e": "s"}));
        assert_eq!(ok.unwrap().len(), 5);
        assert!(attrs_from_json(serde_json::json!({"a": [1]})).is_err());
        assert!(attrs_from_json(serde_json::json!({"a": {"b": 1}})).is_err());
        assert!(attrs_from_json(serde_json::json!({"a": u64::MAX})).is_err());
        assert!(attrs_from_json(serde_json::json!([1])).is_err());
    }
}
