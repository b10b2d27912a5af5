//! The web layer's rules, written once for every framework's middleware:
//! which requests make a session, where the token comes from, the cookie
//! sent back, and the collect endpoint. A middleware only converts its
//! framework's request into [`Request`] and the answers back.

mod collect;
mod cookie;
mod filter;

pub use collect::{Batch, CollectLimits, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ITEMS, Rejection};
pub use cookie::{CookieOptions, DEFAULT_COOKIE_NAME, SameSite, Secure};
pub use filter::Filter;

use crate::error::{Error, Result};
use crate::session::{Hints, Kind, Outcome, Session, Tick};
use crate::tracker::Tracker;

/// The default path of the collect endpoint.
pub const DEFAULT_COLLECT_PATH: &str = "/sojourn/collect";
/// The default header an API client sends its token in.
pub const DEFAULT_TOKEN_HEADER: &str = "sojourn-token";
/// The default path the middleware serves the browser client at.
pub const DEFAULT_CLIENT_PATH: &str = "/sojourn/browser.js";

/// The browser client (an ES module, `node/browser/sojourn.js`), as every
/// language's middleware serves it: one text, kept here.
pub const BROWSER_CLIENT: &str = include_str!("../../../node/browser/sojourn.js");
/// Its `Content-Type`.
pub const BROWSER_CLIENT_TYPE: &str = "text/javascript; charset=utf-8";

/// What a middleware does, beyond the tracker's own options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOptions {
    /// The session cookie.
    pub cookie: CookieOptions,
    /// The request header that carries the token for clients without
    /// cookies (default `sojourn-token`; header names are case-blind).
    pub token_header: String,
    /// What makes no session.
    pub filter: Filter,
    /// Where the collect endpoint is mounted (default `/sojourn/collect`);
    /// none mounts it nowhere.
    pub collect_path: Option<String>,
    /// The collect endpoint's bounds.
    pub collect: CollectLimits,
    /// Where the browser client is served (default
    /// `/sojourn/browser.js`); none serves it nowhere.
    pub client_path: Option<String>,
    /// Whether each page request (a `GET` the filter lets through) counts
    /// a view (default false: the browser client counts them).
    pub track_views: bool,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            cookie: CookieOptions::default(),
            token_header: DEFAULT_TOKEN_HEADER.to_owned(),
            filter: Filter::default(),
            collect_path: Some(DEFAULT_COLLECT_PATH.to_owned()),
            collect: CollectLimits::default(),
            client_path: Some(DEFAULT_CLIENT_PATH.to_owned()),
            track_views: false,
        }
    }
}

/// A request as a middleware sees it: the parts the rules look at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// `GET`, `POST`, … (any case).
    pub method: &'a str,
    /// The path, without the query (one is ignored if given).
    pub path: &'a str,
    /// Whether it came over HTTPS, as the framework judged.
    pub https: bool,
    /// The `Cookie` header, if any.
    pub cookie: Option<&'a str>,
    /// The token header's value, if any.
    pub token_header: Option<&'a str>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<&'a str>,
}

/// A [`Request`] that owns its parts: what a binding keeps when the call
/// runs on another thread (a pool, or with its runtime's lock let go).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedRequest {
    /// As [`Request::method`].
    pub method: String,
    /// As [`Request::path`].
    pub path: String,
    /// As [`Request::https`].
    pub https: bool,
    /// As [`Request::cookie`].
    pub cookie: Option<String>,
    /// As [`Request::token_header`].
    pub token_header: Option<String>,
    /// As [`Request::user_agent`].
    pub user_agent: Option<String>,
}

impl OwnedRequest {
    /// The request, borrowed, as [`Web`] takes it.
    pub fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            path: &self.path,
            https: self.https,
            cookie: self.cookie.as_deref(),
            token_header: self.token_header.as_deref(),
            user_agent: self.user_agent.as_deref(),
        }
    }
}

/// What a middleware does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Nothing: pass it on, no session, no cookie.
    Skip,
    /// Answer it: the collect endpoint ([`Web::collect`]).
    Collect,
    /// Resume its session ([`Web::visit`]), then pass it on.
    Page,
    /// Answer it with the browser client ([`BROWSER_CLIENT`], a `GET`).
    Client,
}

/// A page request's session.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// The session, live.
    pub session: Session,
    /// How it was found.
    pub outcome: Outcome,
    /// The view counted, when `track_views` is on and this was a `GET`.
    pub tick: Option<Tick>,
    /// The `Set-Cookie` value to send back.
    pub set_cookie: String,
}

/// The collect endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
    /// The `Set-Cookie` value to send back, once a session was resumed.
    pub set_cookie: Option<String>,
}

/// The web layer's rules with one set of options; holds no tracker, so
/// that each binding passes its own.
#[derive(Debug, Clone)]
pub struct Web {
    options: WebOptions,
}

impl Web {
    /// `INVALID_ARGUMENT` for options out of range.
    pub fn new(mut options: WebOptions) -> Result<Web> {
        options.cookie.validate()?;
        let header_ok = !options.token_header.is_empty()
            && options.token_header.len() <= 64
            && options
                .token_header
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !header_ok {
            return Err(Error::invalid(
                "token header",
                "1 to 64 letters, digits, - or _",
            ));
        }
        for (name, path) in [
            ("collect path", &options.collect_path),
            ("client path", &options.client_path),
        ] {
            if let Some(path) = path {
                if !path.starts_with('/') || path.contains(['?', '#']) || path.len() > 256 {
                    return Err(Error::invalid(name, "a path starting with /, no query"));
                }
            }
        }
        if options.collect_path.is_some() && options.collect_path == options.client_path {
            return Err(Error::invalid(
                "client path",
                "the collect endpoint's already",
            ));
        }
        let CollectLimits {
            max_body_bytes,
            max_items,
        } = options.collect;
        if max_body_bytes == 0 || max_body_bytes > 16 << 20 || max_items == 0 || max_items > 10_000
        {
            return Err(Error::invalid(
                "collect limits",
                "max_body_bytes 1 to 16 MiB, max_items 1 to 10,000",
            ));
        }
        options.token_header.make_ascii_lowercase();
        // As they are matched: a bot word against the lower-cased agent,
        // an extension without its dot, either case.
        let f = &mut options.filter;
        for word in &mut f.bots {
            word.make_ascii_lowercase();
        }
        for ext in &mut f.extensions {
            *ext = ext.trim_start_matches('.').to_owned();
        }
        Ok(Web { options })
    }

    /// The options.
    pub fn options(&self) -> &WebOptions {
        &self.options
    }

    /// What to do with `req`.
    pub fn route(&self, req: &Request<'_>) -> Route {
        let path = req.path.split(['?', '#']).next().unwrap_or_default();
        if self.options.collect_path.as_deref() == Some(path) {
            return Route::Collect;
        }
        if self.options.client_path.as_deref() == Some(path)
            && req.method.eq_ignore_ascii_case("GET")
        {
            return Route::Client;
        }
        if self.options.filter.skips(path, req.user_agent) {
            Route::Skip
        } else {
            Route::Page
        }
    }

    /// The token `req` carries: its cookie, else its token header.
    fn token<'a>(&self, req: &Request<'a>) -> Option<&'a str> {
        let from_cookie = req
            .cookie
            .and_then(|c| cookie::find(c, &self.options.cookie.name));
        from_cookie.or(req.token_header).filter(|t| !t.is_empty())
    }

    /// The counters of the browser client's hints cookie, if any.
    fn cookie_hints(&self, req: &Request<'_>) -> (u64, u64) {
        req.cookie
            .and_then(|c| cookie::find(c, &self.options.cookie.hints_name()))
            .and_then(cookie::parse_hints)
            .unwrap_or((0, 0))
    }

    fn set_cookie(&self, tracker: &Tracker, token: &str, https: bool) -> String {
        let keep = tracker.config().retention;
        self.options.cookie.set_cookie(token, https, keep)
    }

    /// Resumes the session of a page request (a bad or forged token
    /// starts a new one, never an error), counts a view if configured,
    /// and gives the cookie to send back. Errors are the tracker's
    /// (`STORE_ERROR`).
    pub fn visit(&self, tracker: &Tracker, req: &Request<'_>) -> Result<Visit> {
        let (view_sequence, event_sequence) = self.cookie_hints(req);
        let hints = Hints {
            view_sequence,
            event_sequence,
            ..Hints::default()
        };
        let (mut session, outcome) = tracker.resume(self.token(req), hints)?;
        let tick = if self.options.track_views && req.method.eq_ignore_ascii_case("GET") {
            let tick = tracker.track(session.id, Kind::View)?;
            tick.apply(&mut session);
            Some(tick)
        } else {
            None
        };
        let set_cookie = self.set_cookie(tracker, &session.token, req.https);
        Ok(Visit {
            session,
            outcome,
            tick,
            set_cookie,
        })
    }

    /// Answers a collect request: reads `body` within the limits, resumes
    /// the session of the request's token (its cookie, its header, else
    /// the body's), with the client's counters as hints, and tracks every
    /// item in order. The body of a `200` is
    /// `{"session": {...}, "outcome": ..., "ticks": [...]}`; anything
    /// else is `{"error": {"code", "message"}}`.
    pub fn collect(&self, tracker: &Tracker, req: &Request<'_>, body: &[u8]) -> Reply {
        if !req.method.eq_ignore_ascii_case("POST") {
            let r = Rejection {
                status: 405,
                code: "METHOD_NOT_ALLOWED",
                message: "the collect endpoint takes POST".into(),
            };
            return refused(&r);
        }
        let batch = match collect::parse(body, &self.options.collect) {
            Ok(batch) => batch,
            Err(r) => return refused(&r),
        };
        match self.collected(tracker, req, batch) {
            Ok(reply) => reply,
            // The reply goes to any client: a store's error names where the
            // store is (its host, port and user), which is not theirs to know.
            Err(e) if e.code() == "STORE_ERROR" => refused(&Rejection {
                status: 503,
                code: e.code(),
                message: "the session store is unavailable; send again later".into(),
            }),
            Err(e) => refused(&Rejection {
                status: 500,
                code: e.code(),
                message: e.to_string(),
            }),
        }
    }

    fn collected(&self, tracker: &Tracker, req: &Request<'_>, batch: Batch) -> Result<Reply> {
        let token = self.token(req).or(batch.token.as_deref());
        let hints = Hints {
            view_sequence: batch.view_sequence,
            event_sequence: batch.event_sequence,
            ..Hints::default()
        };
        let (mut session, outcome) = tracker.resume(token, hints)?;
        let mut ticks = Vec::with_capacity(batch.items.len());
        for kind in batch.items {
            let tick = tracker.track(session.id, kind)?;
            tick.apply(&mut session);
            ticks.push(tick);
        }
        let body = serde_json::json!({ "session": session, "outcome": outcome, "ticks": ticks });
        Ok(Reply {
            status: 200,
            body: body.to_string(),
            set_cookie: Some(self.set_cookie(tracker, &session.token, req.https)),
        })
    }
}

fn refused(r: &Rejection) -> Reply {
    Reply {
        status: r.status,
        body: r.body(),
        set_cookie: None,
    }
}

#[cfg(test)]
mod tests;
