//! The collect endpoint's body: a batch of views and events from the
//! browser client, read within limits; what is wrong with one is an HTTP
//! status, a stable code and a message, as JSON.

use serde::Deserialize;

use crate::session::Kind;

/// Default bound of a collect request's body, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default bound of a collect request's items.
pub const DEFAULT_MAX_ITEMS: usize = 100;

/// How much one collect request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectLimits {
    /// Bytes of body at most (default 64 KiB): more is `413`.
    pub max_body_bytes: usize,
    /// Items at most (default 100): more is `400`.
    pub max_items: usize,
}

impl Default for CollectLimits {
    fn default() -> Self {
        CollectLimits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_items: DEFAULT_MAX_ITEMS,
        }
    }
}

/// A collect request's body, read: what to track, and the client's own
/// idea of its session (for a server that forgot it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The token the client holds, for a client whose cookie is gone
    /// (`navigator.sendBeacon` sets no header): the cookie comes first.
    pub token: Option<String>,
    /// The client's view counter, a revival hint.
    pub view_sequence: u64,
    /// The client's event counter, a revival hint.
    pub event_sequence: u64,
    /// What happened, in order.
    pub items: Vec<Kind>,
}

/// Why a request was refused: an HTTP status and a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `400`, `405`, `413`, or `503` when the store failed.
    pub status: u16,
    /// `INVALID_BODY`, `TOO_MANY_ITEMS`, `BODY_TOO_LARGE`, or an error code
    /// of the tracker's (`STORE_ERROR`).
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl Rejection {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            status,
            code,
            message: message.into(),
        }
    }

    /// The JSON body of the response: `{"error": {"code", "message"}}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } }).to_string()
    }
}

/// The JSON the browser client sends. Unknown fields are ignored (newer
/// clients), and so are an item's fields but its kind.
#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    view_sequence: Option<u64>,
    #[serde(default)]
    event_sequence: Option<u64>,
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    kind: String,
}

/// The longest token worth reading (an id and a signature are ~80 bytes).
const MAX_TOKEN_BYTES: usize = 512;

/// Reads a collect body within `limits`.
pub fn parse(body: &[u8], limits: &CollectLimits) -> Result<Batch, Rejection> {
    if body.len() > limits.max_body_bytes {
        return Err(Rejection::new(
            413,
            "BODY_TOO_LARGE",
            format!("the body is over {} bytes", limits.max_body_bytes),
        ));
    }
    let parsed: Body = serde_json::from_slice(body).map_err(|e| {
        let message = cut(format!("not a collect batch: {e}"), 200);
        Rejection::new(400, "INVALID_BODY", message)
    })?;
    if parsed.items.len() > limits.max_items {
        return Err(Rejection::new(
            400,
            "TOO_MANY_ITEMS",
            format!(
                "{} items, and at most {} are taken",
                parsed.items.len(),
                limits.max_items
            ),
        ));
    }
    let items = parsed
        .items
        .iter()
        .map(|item| {
            item.kind.parse::<Kind>().map_err(|_| {
                let kind = cut(item.kind.clone(), 32);
                Rejection::new(
                    400,
                    "INVALID_BODY",
                    format!("kind {kind:?}: not view or event"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let token = parsed
        .token
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_BYTES);
    Ok(Batch {
        token,
        view_sequence: parsed.view_sequence.unwrap_or(0),
        event_sequence: parsed.event_sequence.unwrap_or(0),
        items,
    })
}

/// `text` cut to at most `max` bytes, at a character's boundary: the
/// client's own text, quoted back to it, may be any UTF-8 (`truncate`
/// inside a character panics; the fuzzer found a kind of "é"s).
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let end = (0..=max).rev().find(|&i| text.is_char_boundary(i));
        text.truncate(end.unwrap_or(0));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> CollectLimits {
        CollectLimits::default()
    }

    #[test]
    fn a_batch_is_read_with_its_hints_and_token() {
        let body = br#"{"token":"t.s","view_sequence":3,"event_sequence":1,
            "items":[{"kind":"view"},{"kind":"event","name":"signup"}],"sent_at":1}"#;
        let b = parse(body, &limits()).unwrap();
        assert_eq!(b.token.as_deref(), Some("t.s"));
        assert_eq!((b.view_sequence, b.event_sequence), (3, 1));
        assert_eq!(b.items, [Kind::View, Kind::Event]);
        let empty = parse(br#"{"items":[]}"#, &limits()).unwrap();
        assert_eq!(
            (empty.token, empty.items.len(), empty.view_sequence),
            (None, 0, 0)
        );
    }

    #[test]
    fn what_is_not_a_batch_is_400_and_what_is_too_big_413() {
        let cases: &[(&[u8], u16, &str)] = &[
            (b"", 400, "INVALID_BODY"),
            (b"not json", 400, "INVALID_BODY"),
            (b"[]", 400, "INVALID_BODY"),
            (br#"{"items":{}}"#, 400, "INVALID_BODY"),
            (br#"{"items":[{"kind":"click"}]}"#, 400, "INVALID_BODY"),
            (br#"{"items":[{}]}"#, 400, "INVALID_BODY"),
            (br#"{"items":[],"view_sequence":-1}"#, 400, "INVALID_BODY"),
            (
                br#"{"items":[],"view_sequence":1e400}"#,
                400,
                "INVALID_BODY",
            ),
            (b"\xff\xfe", 400, "INVALID_BODY"),
        ];
        for (body, status, code) in cases {
            let r = parse(body, &limits()).unwrap_err();
            assert_eq!(
                (r.status, r.code),
                (*status, *code),
                "{}",
                String::from_utf8_lossy(body)
            );
            let json: serde_json::Value = serde_json::from_str(&r.body()).unwrap();
            assert_eq!(json["error"]["code"], *code);
        }
        let many = format!(
            r#"{{"items":[{}]}}"#,
            vec![r#"{"kind":"view"}"#; 101].join(",")
        );
        let r = parse(many.as_bytes(), &limits()).unwrap_err();
        assert_eq!((r.status, r.code), (400, "TOO_MANY_ITEMS"));
        let big = vec![b' '; DEFAULT_MAX_BODY_BYTES + 1];
        let r = parse(&big, &limits()).unwrap_err();
        assert_eq!((r.status, r.code), (413, "BODY_TOO_LARGE"));
        // Deep nesting is refused, not followed down.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let small = CollectLimits {
            max_body_bytes: 1 << 20,
            ..limits()
        };
        assert_eq!(parse(deep.as_bytes(), &small).unwrap_err().status, 400);
    }

    #[test]
    fn a_token_too_long_to_be_one_is_not_read() {
        let body = format!(r#"{{"token":"{}","items":[]}}"#, "a".repeat(600));
        assert_eq!(parse(body.as_bytes(), &limits()).unwrap().token, None);
    }
}
