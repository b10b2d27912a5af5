//! Attributes from JSON, as a binding or a request hands them over:
//! scalars within the size bound are kept exactly, anything else is
//! `INVALID_ARGUMENT` and changes nothing.

use sojourn::{AttrValue, Attrs, Hints, attrs_from_json};

use crate::tracker;

pub fn run(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let (t, _) = tracker(true);
    let first = t
        .start(
            None,
            Some(Attrs::from([("entry".into(), AttrValue::from("/"))])),
        )
        .unwrap();
    let attrs = match attrs_from_json(value) {
        Ok(attrs) => attrs,
        Err(e) => {
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            return;
        }
    };
    for value in attrs.values() {
        if let AttrValue::Float(f) = value {
            assert!(f.is_finite());
        }
    }
    // An empty key passes JSON, and is refused where attrs are used.
    let empty_key = attrs.contains_key("");

    // Merged into a live session, or refused with nothing changed.
    match t.set_attrs(first.id, attrs.clone()) {
        Ok(after) => {
            assert!(!empty_key, "an empty key was kept");
            for (key, value) in &attrs {
                assert_eq!(after.attrs.get(key), Some(value));
            }
            // What a binding writes out, it reads back the same.
            let json = serde_json::to_value(&after.attrs).unwrap();
            assert_eq!(attrs_from_json(json).unwrap(), after.attrs);
        }
        Err(e) => {
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            assert_eq!(t.peek(first.id).unwrap().unwrap().attrs, first.attrs);
        }
    }

    // A new session's attrs: kept whole, or the start refused.
    let live = t.len().unwrap();
    match t.start(None, Some(attrs.clone())) {
        Ok(s) => {
            assert!(!empty_key, "an empty key was kept");
            assert_eq!(s.attrs, attrs);
        }
        Err(e) => {
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            assert_eq!(t.len().unwrap(), live);
        }
    }

    // A revival's attrs over the bound are left out, never an error.
    let (s, _) = t
        .resume(
            None,
            Hints {
                attrs: Some(attrs),
                ..Hints::default()
            },
        )
        .unwrap_or_else(|e| {
            assert_eq!(e.code(), "INVALID_ARGUMENT");
            t.resume(None, Hints::default()).unwrap()
        });
    assert!(t.exists(s.id).unwrap());
}
