use std::time::Duration;

use super::*;
use crate::clock::MockClock;

const SECRET: &str = "at least sixteen bytes of secret";
const EPOCH_MS: i64 = 1_767_225_600_000;

fn tracker(clock: &MockClock) -> Tracker {
    Tracker::builder()
        .secret(SECRET)
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap()
}

fn web() -> Web {
    Web::new(WebOptions::default()).unwrap()
}

fn page(cookie: Option<&str>) -> Request<'_> {
    Request {
        method: "GET",
        path: "/pricing",
        https: false,
        cookie,
        token_header: None,
        user_agent: Some("Mozilla/5.0 Chrome/120.0"),
    }
}

/// The cookie header a browser would send back from a `Set-Cookie`.
fn cookie_of(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

#[test]
fn requests_are_routed_by_path_and_filter() {
    let w = web();
    let mut req = page(None);
    assert_eq!(w.route(&req), Route::Page);
    req.path = "/sojourn/collect";
    assert_eq!(w.route(&req), Route::Collect);
    req.path = "/sojourn/collect?x=1";
    assert_eq!(w.route(&req), Route::Collect);
    req.path = "/static/app.js";
    assert_eq!(w.route(&req), Route::Skip);
    req.path = "/";
    req.user_agent = Some("Googlebot/2.1");
    assert_eq!(w.route(&req), Route::Skip);
    let unmounted = Web::new(WebOptions {
        collect_path: None,
        ..WebOptions::default()
    })
    .unwrap();
    req.path = "/sojourn/collect";
    req.user_agent = None;
    assert_eq!(unmounted.route(&req), Route::Page);
}

#[test]
fn a_first_visit_starts_a_session_and_a_return_visit_finds_it() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let t = tracker(&clock);
    let w = web();
    let first = w.visit(&t, &page(None)).unwrap();
    assert_eq!(first.outcome, Outcome::Started);
    assert!(
        first
            .set_cookie
            .starts_with(&format!("sojourn={}", first.session.token))
    );
    assert!(first.set_cookie.contains("HttpOnly; SameSite=Lax"));
    assert!(first.set_cookie.contains("Max-Age=86400"), "retention");
    assert!(!first.set_cookie.contains("Secure"));
    let cookie = format!("theme=dark; {}", cookie_of(&first.set_cookie));
    let again = w.visit(&t, &page(Some(&cookie))).unwrap();
    assert_eq!(
        (again.outcome, again.session.id),
        (Outcome::Existing, first.session.id)
    );
    assert_eq!(
        again.tick, None,
        "views are the browser client's by default"
    );
    assert_eq!(t.stats().unwrap().started, 1);
}

#[test]
fn garbage_and_forged_cookies_start_a_session_never_an_error() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let t = tracker(&clock);
    let other = Tracker::builder()
        .secret("another secret of sixteen bytes")
        .clock(clock.clone())
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap();
    let forged = other.start(None, None).unwrap().token;
    let w = web();
    for cookie in [
        "sojourn=garbage".to_owned(),
        "sojourn=".to_owned(),
        format!("sojourn={forged}"),
        "sojourn=\u{0}\u{ffff}".to_owned(),
    ] {
        let v = w.visit(&t, &page(Some(&cookie))).unwrap();
        assert_eq!(v.outcome, Outcome::Started, "{cookie}");
    }
    assert_eq!(t.stats().unwrap().rejected, 3, "the empty one is no token");
}

#[test]
fn a_client_without_cookies_sends_its_token_in_the_header() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let t = tracker(&clock);
    let w = web();
    let first = w.visit(&t, &page(None)).unwrap();
    let req = Request {
        token_header: Some(&first.session.token),
        ..page(None)
    };
    let again = w.visit(&t, &req).unwrap();
    assert_eq!(
        (again.outcome, again.session.id),
        (Outcome::Existing, first.session.id)
    );
}

#[test]
fn a_forgotten_session_comes_back_with_the_clients_counters() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let before = tracker(&clock);
    let w = web();
    let first = w.visit(&before, &page(None)).unwrap();
    // A restart without a snapshot: the new process knows nothing.
    let after = tracker(&clock);
    clock.advance(Duration::from_secs(60)).unwrap();
    let cookie = format!("{}; sojourn_hints=5.2", cookie_of(&first.set_cookie));
    let back = w.visit(&after, &page(Some(&cookie))).unwrap();
    assert_eq!(back.outcome, Outcome::Revived);
    assert_eq!(back.session.id, first.session.id);
    assert_eq!(
        (back.session.view_sequence, back.session.event_sequence),
        (5, 2)
    );
}

#[test]
fn views_are_counted_on_page_gets_when_asked() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let t = tracker(&clock);
    let w = Web::new(WebOptions {
        track_views: true,
        ..WebOptions::default()
    })
    .unwrap();
    let v = w.visit(&t, &page(None)).unwrap();
    assert_eq!(v.tick.map(|t| t.view_sequence), Some(1));
    assert_eq!(v.session.view_sequence, 1);
    let cookie = cookie_of(&v.set_cookie);
    let post = Request {
        method: "POST",
        ..page(Some(&cookie))
    };
    assert_eq!(w.visit(&t, &post).unwrap().tick, None);
}

#[test]
fn https_requests_get_a_secure_cookie() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let t = tracker(&clock);
    let req = Request {
        https: true,
        ..page(None)
    };
    assert!(
        web()
            .visit(&t, &req)
            .unwrap()
            .set_cookie
            .ends_with("; Secure")
    );
}

fn collect_req(cookie: Option<&str>) -> Request<'_> {
    Request {
        method: "POST",
        path: DEFAULT_COLLECT_PATH,
        ..page(cookie)
    }
}

#[test]
fn the_collect_endpoint_tracks_a_batch_in_order() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let t = tracker(&clock);
    let w = web();
    let first = w.visit(&t, &page(None)).unwrap();
    let cookie = cookie_of(&first.set_cookie);
    let body = br#"{"items":[{"kind":"view"},{"kind":"event"},{"kind":"view"}]}"#;
    let reply = w.collect(&t, &collect_req(Some(&cookie)), body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["outcome"], "existing");
    assert_eq!(json["session"]["id"], first.session.id.to_string());
    assert_eq!(json["session"]["view_sequence"], 2);
    assert_eq!(json["ticks"].as_array().unwrap().len(), 3);
    assert_eq!(json["ticks"][1]["event_sequence"], 1);
    assert!(reply.set_cookie.unwrap().starts_with("sojourn="));
    assert_eq!(t.stats().unwrap().views, 2);
}

#[test]
fn a_beacon_without_the_cookie_uses_the_bodys_token_and_hints() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let before = tracker(&clock);
    let w = web();
    let token = w.visit(&before, &page(None)).unwrap().session.token;
    let after = tracker(&clock);
    let body = format!(
        r#"{{"token":"{token}","view_sequence":7,"event_sequence":3,"items":[{{"kind":"view"}}]}}"#
    );
    let reply = w.collect(&after, &collect_req(None), body.as_bytes());
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["outcome"], "revived", "{}", reply.body);
    assert_eq!(json["session"]["token"], token);
    assert_eq!(json["session"]["view_sequence"], 8);
}

#[test]
fn the_collect_endpoint_refuses_what_it_cannot_take_changing_nothing() {
    let clock = MockClock::new(EPOCH_MS).unwrap();
    let t = tracker(&clock);
    let w = web();
    let get = Request {
        method: "GET",
        ..collect_req(None)
    };
    let cases: Vec<(Request<'_>, Vec<u8>, u16, &str)> = vec![
        (get, br#"{"items":[]}"#.to_vec(), 405, "METHOD_NOT_ALLOWED"),
        (collect_req(None), b"nope".to_vec(), 400, "INVALID_BODY"),
        (
            collect_req(None),
            br#"{"items":[{"kind":"tap"}]}"#.to_vec(),
            400,
            "INVALID_BODY",
        ),
        (
            collect_req(None),
            vec![b' '; DEFAULT_MAX_BODY_BYTES + 1],
            413,
            "BODY_TOO_LARGE",
        ),
        // Text quoted back is cut at a character's boundary, never inside
        // one (a panic, found by the collect fuzz target).
        (
            collect_req(None),
            format!(r#"{{"items":[{{"kind":"v{}"}}]}}"#, "é".repeat(40)).into_bytes(),
            400,
            "INVALID_BODY",
        ),
        (
            collect_req(None),
            format!(r#"{{"view_sequence":"{}","items":[]}}"#, "é".repeat(200)).into_bytes(),
            400,
            "INVALID_BODY",
        ),
    ];
    for (req, body, status, code) in cases {
        let reply = w.collect(&t, &req, &body);
        assert_eq!(reply.status, status);
        assert_eq!(reply.set_cookie, None);
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(json["error"]["code"], code);
    }
    assert_eq!(t.stats().unwrap().started, 0, "nothing was started");
}

#[test]
fn options_out_of_range_are_refused() {
    let bad = [
        WebOptions {
            token_header: "a b".into(),
            ..WebOptions::default()
        },
        WebOptions {
            token_header: String::new(),
            ..WebOptions::default()
        },
        WebOptions {
            collect_path: Some("collect".into()),
            ..WebOptions::default()
        },
        WebOptions {
            collect: CollectLimits {
                max_items: 0,
                ..CollectLimits::default()
            },
            ..WebOptions::default()
        },
        WebOptions {
            cookie: CookieOptions {
                name: "a=b".into(),
                ..CookieOptions::default()
            },
            ..WebOptions::default()
        },
    ];
    for options in bad {
        assert_eq!(Web::new(options).unwrap_err().code(), "INVALID_ARGUMENT");
    }
}

#[test]
fn filter_words_are_taken_as_they_are_matched() {
    let w = Web::new(WebOptions {
        filter: Filter {
            bots: vec!["MyCrawler".into()],
            extensions: vec![".CSV".into()],
            ..Filter::none()
        },
        ..WebOptions::default()
    })
    .unwrap();
    let mut req = page(None);
    req.user_agent = Some("mycrawler/1.0");
    assert_eq!(w.route(&req), Route::Skip);
    req.user_agent = None;
    req.path = "/export.csv";
    assert_eq!(w.route(&req), Route::Skip);
}

#[test]
fn the_browser_client_is_served_at_its_path() {
    let w = web();
    let mut req = page(None);
    req.path = DEFAULT_CLIENT_PATH;
    assert_eq!(w.route(&req), Route::Client);
    req.method = "POST";
    assert_eq!(w.route(&req), Route::Skip, "a .js file, not a page");
    assert!(BROWSER_CLIENT.contains("export class Sojourn"));
    let same = Web::new(WebOptions {
        client_path: Some(DEFAULT_COLLECT_PATH.into()),
        ..WebOptions::default()
    });
    assert_eq!(same.unwrap_err().code(), "INVALID_ARGUMENT");
    let nowhere = Web::new(WebOptions {
        client_path: None,
        ..WebOptions::default()
    })
    .unwrap();
    req.method = "GET";
    assert_eq!(nowhere.route(&req), Route::Skip);
}
