//! The web layer as a browser or a bot hands requests over: any cookie
//! header, token header and collect body. Every answer is a status the
//! endpoint documents with a JSON body, and no header value it writes
//! can carry a line break (no header injection).

use arbitrary::Unstructured;
use sojourn::web::{Request, Web, WebOptions};

use crate::tracker;

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (t, _) = tracker(true);
    let web = Web::new(WebOptions::default()).unwrap();
    let known = t.start(None, None).unwrap();

    // The cookie header: any text, or the session's real cookie among others.
    let noise: String = u.arbitrary().unwrap_or_default();
    let cookie = match u.int_in_range(0..=2u8).unwrap_or(0) {
        0 => Some(noise),
        1 => Some(format!(
            "{noise}; sojourn={}; sojourn_h={}",
            known.token,
            noise.len()
        )),
        _ => None,
    };
    let token_header: Option<String> = u.arbitrary().unwrap_or_default();
    let method = *u
        .choose(&["POST", "post", "GET", "PUT", ""])
        .unwrap_or(&"POST");
    let https = u.arbitrary().unwrap_or(false);
    let structured = u.arbitrary().unwrap_or(false);
    let body: Vec<u8> = if structured {
        let kinds: Vec<String> = u.arbitrary().unwrap_or_default();
        let items: Vec<_> = kinds
            .iter()
            .map(|k| serde_json::json!({ "kind": k }))
            .collect();
        let token: Option<String> = u.arbitrary().unwrap_or_default();
        let views: u64 = u.arbitrary().unwrap_or(0);
        serde_json::json!({ "token": token, "view_sequence": views, "items": items })
            .to_string()
            .into_bytes()
    } else {
        u.take_rest().to_vec()
    };
    let req = Request {
        method,
        path: "/sojourn/collect",
        https,
        cookie: cookie.as_deref(),
        token_header: token_header.as_deref(),
        user_agent: Some("Mozilla/5.0"),
    };

    let live = t.len().unwrap();
    let reply = web.collect(&t, &req, &body);
    let json: serde_json::Value = serde_json::from_str(&reply.body).expect("a JSON body");
    match reply.status {
        200 => {
            let session = &json["session"];
            let ticks = json["ticks"].as_array().expect("ticks");
            let sequence = session["sequence"].as_u64().unwrap();
            assert!(
                ticks.len() as u64 <= sequence,
                "more ticks than the sequence"
            );
            let set_cookie = reply.set_cookie.expect("a cookie with a 200");
            assert_clean(&set_cookie);
        }
        400 | 405 | 413 => {
            assert!(json["error"]["code"].is_string());
            assert_eq!(reply.set_cookie, None);
            assert_eq!(t.len().unwrap(), live, "a refused request made a session");
        }
        status => panic!("status {status}: {}", reply.body),
    }

    // The same request as a page view: a session, and a clean cookie.
    let page = Request {
        method: "GET",
        path: "/",
        ..req
    };
    let visit = web.visit(&t, &page).expect("a page view is never refused");
    assert_clean(&visit.set_cookie);
    assert!(t.exists(visit.session.id).unwrap());
}

/// A `Set-Cookie` value holds no control character, so that it can never
/// end its header or start another.
fn assert_clean(header: &str) {
    assert!(
        !header.bytes().any(|b| b.is_ascii_control()),
        "control character in {header:?}"
    );
}
