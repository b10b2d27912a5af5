//! The web layer (the core's `web` module): a [`Web`] made from the
//! options of a framework's middleware, which routes a request, resumes a
//! page's session and answers the collect endpoint, each by the core's
//! rules. The middlewares of the npm package (`node/web.js`, used by
//! `sojourn/express` and `sojourn/fastify`) convert their framework's
//! request into a [`WebRequest`] and the answers back; every rule, default
//! and limit is the core's. With a `Tracker`, `visit` and `collect` answer
//! at once; with a `RedisTracker`, each is a Promise, the core's call run
//! on libuv's thread pool ([`crate::task`]), as the tracker's own calls.

use std::sync::Arc;

use napi::bindgen_prelude::{ClassInstance, Either, FromNapiValue, Null};
use napi::{Env, sys};
use napi_derive::napi;
use sojourn::web::{self as core, CookieOptions, SameSite, Secure};

use crate::convert::{self, Any, Arg, Text, Token};
use crate::error::{self, OrThrow, Result};
use crate::redis::RedisTracker;
use crate::session::{Session, Tick};
use crate::task::{Call, Pending, Promised};
use crate::tracker::{Tracker, check_options};

/// The options of a `Web`, as JavaScript gives them (camelCase). Every one
/// may be left out: it then takes the core's default, which
/// `web.options()` shows. An option that is not one of these is refused
/// (`INVALID_ARGUMENT`), and so is a value out of range.
#[napi(object, object_to_js = false)]
pub struct WebOptions {
    /// The session cookie's name (default `"sojourn"`); the browser
    /// client's hints cookie is this name and `_hints`.
    #[napi(ts_type = "string")]
    pub cookie_name: Option<Text>,
    /// The cookie's `Domain` (default none: this host only).
    #[napi(ts_type = "string")]
    pub cookie_domain: Option<Text>,
    /// The cookie's `Path` (default `"/"`).
    #[napi(ts_type = "string")]
    pub cookie_path: Option<Text>,
    /// The cookie's `SameSite` (default `'lax'`); `'none'` needs `Secure`.
    #[napi(ts_type = "'lax' | 'strict' | 'none'")]
    pub same_site: Option<Text>,
    /// When the cookie is `Secure`: `'auto'` (the default) when the request
    /// came over HTTPS as the framework judged it, `true` always, `false`
    /// never (plain-HTTP development only).
    #[napi(ts_type = "'auto' | boolean")]
    pub secure: Option<Either<bool, Text>>,
    /// The cookie's `Max-Age`, in milliseconds (written in whole seconds;
    /// default: the tracker's `retention`, as long as the tracker can link
    /// a returning visitor to the session).
    pub cookie_max_age: Option<f64>,
    /// The request header that carries the token for clients without
    /// cookies (default `"sojourn-token"`; any case).
    #[napi(ts_type = "string")]
    pub token_header: Option<Text>,
    /// Where the collect endpoint is mounted (default
    /// `"/sojourn/collect"`); `null` mounts it nowhere.
    #[napi(ts_type = "string | null")]
    pub collect_path: Option<Either<Text, Null>>,
    /// The most bytes of a collect request's body (default 65,536); more is
    /// `413`.
    pub max_body_bytes: Option<f64>,
    /// The most items of a collect request (default 100); more is `400`.
    pub max_items: Option<f64>,
    /// Where the browser client (`BROWSER_CLIENT`) is served, to a `GET`
    /// (default `"/sojourn/browser.js"`); `null` serves it nowhere. Not the
    /// collect endpoint's path.
    #[napi(ts_type = "string | null")]
    pub client_path: Option<Either<Text, Null>>,
    /// Whether each page request (a `GET` that the filter lets through)
    /// counts a view (default false: the browser client counts them).
    pub track_views: Option<bool>,
    /// Exact paths that make no session (default: health checks and
    /// well-known files, `/health`, `/favicon.ico`, `/robots.txt`…).
    /// Given, it replaces the default list.
    #[napi(ts_type = "string[]")]
    pub skip_paths: Option<Vec<Text>>,
    /// Path prefixes that make no session (default: folders of static
    /// files, `/static/`, `/assets/`…). Given, it replaces the default list.
    #[napi(ts_type = "string[]")]
    pub skip_prefixes: Option<Vec<Text>>,
    /// File extensions, without the dot, that make no session (default:
    /// `css`, `js`, `png`, `woff2`…; any case). Given, it replaces the
    /// default list.
    #[napi(ts_type = "string[]")]
    pub skip_extensions: Option<Vec<Text>>,
    /// Words that mark a robot's `User-Agent`, matched anywhere in it in
    /// any case (default: `bot`, `crawl`, `spider`…); empty to count robots
    /// too. Given, it replaces the default list.
    #[napi(ts_type = "string[]")]
    pub bot_words: Option<Vec<Text>>,
}

/// The names of the options, as JavaScript gives them: every field of
/// [`WebOptions`].
const WEB_OPTIONS: [&str; 16] = [
    "cookieName",
    "cookieDomain",
    "cookiePath",
    "sameSite",
    "secure",
    "cookieMaxAge",
    "tokenHeader",
    "collectPath",
    "maxBodyBytes",
    "maxItems",
    "clientPath",
    "trackViews",
    "skipPaths",
    "skipPrefixes",
    "skipExtensions",
    "botWords",
];

/// The options of a `Web` in effect: those given, and the core's default
/// for each of the others.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct WebConfig {
    /// The session cookie's name.
    pub cookie_name: String,
    /// The cookie's `Domain`, or `null`: this host only.
    pub cookie_domain: Option<String>,
    /// The cookie's `Path`.
    pub cookie_path: String,
    /// The cookie's `SameSite`.
    #[napi(ts_type = "'lax' | 'strict' | 'none'")]
    pub same_site: String,
    /// When the cookie is `Secure`.
    #[napi(ts_type = "'auto' | boolean")]
    pub secure: Either<bool, &'static str>,
    /// The cookie's `Max-Age` in milliseconds, or `null`: the tracker's
    /// `retention`.
    pub cookie_max_age: Option<f64>,
    /// The token header, in lower case.
    pub token_header: String,
    /// Where the collect endpoint is mounted, or `null`: nowhere.
    pub collect_path: Option<String>,
    /// The most bytes of a collect request's body.
    pub max_body_bytes: f64,
    /// The most items of a collect request.
    pub max_items: f64,
    /// Where the browser client is served, or `null`: nowhere.
    pub client_path: Option<String>,
    /// Whether a page `GET` counts a view.
    pub track_views: bool,
    /// Exact paths that make no session.
    pub skip_paths: Vec<String>,
    /// Path prefixes that make no session.
    pub skip_prefixes: Vec<String>,
    /// File extensions that make no session.
    pub skip_extensions: Vec<String>,
    /// Words that mark a robot's `User-Agent`.
    pub bot_words: Vec<String>,
}

/// The browser client: the ES module (`sojourn/browser`, the package's
/// `browser/sojourn.js`) that a middleware serves at `clientPath`, the
/// core's text.
// Used by Node through `#[napi]`'s registration, which a test build leaves out.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub const BROWSER_CLIENT: &str = core::BROWSER_CLIENT;

/// The browser client's `Content-Type`: `text/javascript; charset=utf-8`.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub const BROWSER_CLIENT_TYPE: &str = core::BROWSER_CLIENT_TYPE;

/// A request as a middleware sees it: the parts the rules look at. What
/// the client sent (the path, the headers) is never an error: only a value
/// of the wrong type is (`INVALID_ARGUMENT`).
#[napi(object, object_to_js = false)]
pub struct WebRequest {
    /// `GET`, `POST`, … (any case).
    #[napi(ts_type = "string")]
    pub method: Token,
    /// The path; a query, if any, is not looked at.
    #[napi(ts_type = "string")]
    pub path: Token,
    /// Whether it came over HTTPS, as the framework judged (default false).
    pub https: Option<bool>,
    /// The `Cookie` header, if any.
    #[napi(ts_type = "string | null")]
    pub cookie: Option<Either<Token, Null>>,
    /// The token header's value, if any.
    #[napi(ts_type = "string | null")]
    pub token_header: Option<Either<Token, Null>>,
    /// The `User-Agent` header, if any.
    #[napi(ts_type = "string | null")]
    pub user_agent: Option<Either<Token, Null>>,
}

/// A request's parts, owned: for a call on the thread pool.
fn parts(request: Arg<WebRequest>) -> Result<core::OwnedRequest> {
    let r = request.get("request")?;
    let header = |h: Option<Either<Token, Null>>| match h {
        Some(Either::A(token)) => Some(String::from(token)),
        _ => None,
    };
    Ok(core::OwnedRequest {
        method: r.method.into(),
        path: r.path.into(),
        https: r.https.unwrap_or(false),
        cookie: header(r.cookie),
        token_header: header(r.token_header),
        user_agent: header(r.user_agent),
    })
}

/// A page request's session: what `visit` gives.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Visit {
    /// The session, live.
    pub session: Session,
    /// How it was found: `existing`, `revived` or `started`.
    #[napi(ts_type = "'existing' | 'revived' | 'started'")]
    pub outcome: &'static str,
    /// The view counted, when `trackViews` is on and this was a `GET`;
    /// else `null`.
    pub tick: Option<Tick>,
    /// The `Set-Cookie` value to send back.
    pub set_cookie: String,
}

impl From<core::Visit> for Visit {
    fn from(v: core::Visit) -> Visit {
        Visit {
            session: v.session.into(),
            outcome: v.outcome.as_str(),
            tick: v.tick.map(Tick::from),
            set_cookie: v.set_cookie,
        }
    }
}

/// The collect endpoint's answer: what `collect` gives.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Reply {
    /// The HTTP status: `200`, or `400`, `405`, `413`, `503`.
    pub status: u16,
    /// The JSON body: `{"session", "outcome", "ticks"}`, or
    /// `{"error": {"code", "message"}}`.
    pub body: String,
    /// The `Set-Cookie` value to send back, once a session was resumed;
    /// else `null`.
    pub set_cookie: Option<String>,
}

impl From<core::Reply> for Reply {
    fn from(r: core::Reply) -> Reply {
        Reply {
            status: r.status,
            body: r.body,
            set_cookie: r.set_cookie,
        }
    }
}

/// The web layer's rules with one set of options, for a framework's
/// middleware (`sojourn/express`, `sojourn/fastify`, or one's own): which
/// requests make a session, where the token comes from, the cookie sent
/// back, and the collect endpoint. It holds no tracker: each call is given
/// one. With a `Tracker`, `visit` and `collect` return at once; with a
/// `RedisTracker`, each returns a Promise, the call waiting on libuv's
/// thread pool.
#[napi]
pub struct Web {
    inner: Arc<core::Web>,
}

#[napi]
impl Web {
    /// A `Web` with these options; throws `INVALID_ARGUMENT` for an option
    /// out of range, of the wrong type, or unknown.
    #[napi(constructor)]
    pub fn new(env: Env, #[napi(ts_arg_type = "WebOptions")] options: Option<Any>) -> Result<Self> {
        let options = match options {
            // SAFETY: the value is an argument of this call.
            Some(value) => unsafe {
                check_options(env.raw(), value.raw(), &[&WEB_OPTIONS])?;
                web_options(env.raw(), value.raw())?
            },
            None => core::WebOptions::default(),
        };
        let inner = core::Web::new(options).or_throw()?;
        Ok(Web {
            inner: Arc::new(inner),
        })
    }

    /// The options in effect: those given, and the core's defaults.
    #[napi]
    pub fn options(&self) -> WebConfig {
        let o = self.inner.options();
        let c = &o.cookie;
        WebConfig {
            cookie_name: c.name.clone(),
            cookie_domain: c.domain.clone(),
            cookie_path: c.path.clone(),
            same_site: same_site_name(c.same_site),
            secure: match c.secure {
                Secure::Always => Either::A(true),
                Secure::Never => Either::A(false),
                _ => Either::B("auto"),
            },
            cookie_max_age: c.max_age.map(|d| d.as_millis() as f64),
            token_header: o.token_header.clone(),
            collect_path: o.collect_path.clone(),
            max_body_bytes: o.collect.max_body_bytes as f64,
            max_items: o.collect.max_items as f64,
            client_path: o.client_path.clone(),
            track_views: o.track_views,
            skip_paths: o.filter.paths.clone(),
            skip_prefixes: o.filter.prefixes.clone(),
            skip_extensions: o.filter.extensions.clone(),
            bot_words: o.filter.bots.clone(),
        }
    }

    /// What a middleware does with `request`: `'collect'`, answer it with
    /// `collect`; `'skip'`, pass it on untouched (no session, no cookie);
    /// `'page'`, resume its session with `visit`, then pass it on;
    /// `'client'`, answer it with the browser client (`BROWSER_CLIENT`, of
    /// type `BROWSER_CLIENT_TYPE`): no session, no cookie.
    #[napi(ts_return_type = "'skip' | 'collect' | 'page' | 'client'")]
    pub fn route(
        &self,
        #[napi(ts_arg_type = "WebRequest")] request: Arg<WebRequest>,
    ) -> Result<&'static str> {
        let parts = parts(request)?;
        Ok(match self.inner.route(&parts.request()) {
            core::Route::Skip => "skip",
            core::Route::Collect => "collect",
            core::Route::Page => "page",
            core::Route::Client => "client",
        })
    }

    /// Resumes the session of a page request: the token from its cookie,
    /// else its token header (a bad or forged one starts a new session,
    /// never an error), the browser client's hints cookie as revival
    /// hints; counts a view if `trackViews` says so; gives the `Set-Cookie`
    /// value to send back. Returns the visit with a `Tracker`; a Promise of
    /// it with a `RedisTracker`. Errors are the tracker's (`STORE_ERROR`),
    /// and `INVALID_ARGUMENT` for arguments of the wrong type.
    // A panic here, on a request from any client, would abort the process
    // (napi-rs has no unwinding across its C callbacks): thrown instead.
    #[napi(catch_unwind, ts_return_type = "Visit | Promise<Visit>")]
    pub fn visit(
        &self,
        #[napi(ts_arg_type = "Tracker | RedisTracker")] tracker: Arg<Trackers>,
        #[napi(ts_arg_type = "WebRequest")] request: Arg<WebRequest>,
    ) -> Result<Either<Visit, Pending<core::Visit, Visit>>> {
        match tracker_of(tracker)? {
            Either::A(memory) => {
                let parts = parts(request)?;
                let visit = self.inner.visit(&memory.wired.inner, &parts.request());
                visit.or_throw().map(|v| Either::A(Visit::from(v)))
            }
            Either::B(redis) => {
                let web = Arc::clone(&self.inner);
                let call = parts(request).map(|parts| {
                    Call::new(
                        redis.wired.inner.clone(),
                        move |t: &sojourn::Tracker| web.visit(t, &parts.request()),
                        Visit::from,
                    )
                });
                Ok(Either::B(Promised::of(call)))
            }
        }
    }

    /// Answers a collect request: reads `body` (the bytes of the request's
    /// body, up to `maxBodyBytes` and one more to tell that it is over)
    /// within the limits, resumes the session of the request's token (its
    /// cookie, its header, else the body's) with the client's counters as
    /// hints, and tracks every item in order. What is refused changes
    /// nothing, and is an answer, never an error: `405`, `413`, `400`, and
    /// `503` when the store failed. Returns the reply with a `Tracker`; a
    /// Promise of it with a `RedisTracker`. Throws (or rejects with)
    /// `INVALID_ARGUMENT` for arguments of the wrong type only.
    // As `visit`: a panic is thrown, never an abort of the process.
    #[napi(catch_unwind, ts_return_type = "Reply | Promise<Reply>")]
    pub fn collect(
        &self,
        #[napi(ts_arg_type = "Tracker | RedisTracker")] tracker: Arg<Trackers>,
        #[napi(ts_arg_type = "WebRequest")] request: Arg<WebRequest>,
        #[napi(ts_arg_type = "Uint8Array")] body: Arg<&[u8]>,
    ) -> Result<Either<Reply, Pending<core::Reply, Reply>>> {
        match tracker_of(tracker)? {
            Either::A(memory) => {
                let parts = parts(request)?;
                let body = body.get("body")?;
                let reply = self
                    .inner
                    .collect(&memory.wired.inner, &parts.request(), body);
                Ok(Either::A(reply.into()))
            }
            Either::B(redis) => {
                let web = Arc::clone(&self.inner);
                let call = parts(request).and_then(|parts| {
                    let body = body.get("body")?.to_vec();
                    Ok(Call::new(
                        redis.wired.inner.clone(),
                        move |t: &sojourn::Tracker| Ok(web.collect(t, &parts.request(), &body)),
                        Reply::from,
                    ))
                });
                Ok(Either::B(Promised::of(call)))
            }
        }
    }
}

/// A tracker argument: either class of this package.
pub type Trackers<'env> = Either<ClassInstance<'env, Tracker>, ClassInstance<'env, RedisTracker>>;

/// The tracker, or `INVALID_ARGUMENT` for anything else.
fn tracker_of(tracker: Arg<Trackers<'_>>) -> Result<Trackers<'_>> {
    tracker
        .get("tracker")
        .map_err(|_| error::invalid("tracker", "expected a Tracker or a RedisTracker"))
}

/// The options of a `Web` in `value`, converted into the core's, each left
/// out taking its default.
///
/// # Safety
///
/// `env` and `value` must be those of the current call.
unsafe fn web_options(env: sys::napi_env, value: sys::napi_value) -> Result<core::WebOptions> {
    // SAFETY: as the caller's.
    let o = unsafe { WebOptions::from_napi_value(env, value) }
        .map_err(|e| error::invalid_value("options", e))?;
    let mut w = core::WebOptions::default();
    let c: &mut CookieOptions = &mut w.cookie;
    if let Some(name) = o.cookie_name {
        c.name = name.into();
    }
    if let Some(domain) = o.cookie_domain {
        c.domain = Some(domain.into());
    }
    if let Some(path) = o.cookie_path {
        c.path = path.into();
    }
    if let Some(same_site) = o.same_site {
        c.same_site = match String::from(same_site).as_str() {
            "lax" => SameSite::Lax,
            "strict" => SameSite::Strict,
            "none" => SameSite::None,
            other => {
                return Err(error::invalid(
                    "sameSite",
                    format!("{other:?}: 'lax', 'strict' or 'none'"),
                ));
            }
        };
    }
    if let Some(secure) = o.secure {
        let secure = match secure {
            Either::A(on) => Either::A(on),
            Either::B(text) => Either::B(String::from(text)),
        };
        c.secure = match secure {
            Either::A(true) => Secure::Always,
            Either::A(false) => Secure::Never,
            Either::B(text) if text == "auto" => Secure::Auto,
            Either::B(other) => {
                return Err(error::invalid(
                    "secure",
                    format!("{other:?}: 'auto', true or false"),
                ));
            }
        };
    }
    if let Some(ms) = o.cookie_max_age {
        c.max_age = Some(convert::millis(ms, "cookieMaxAge")?);
    }
    if let Some(header) = o.token_header {
        w.token_header = header.into();
    }
    if let Some(path) = o.collect_path {
        w.collect_path = match path {
            Either::A(path) => Some(path.into()),
            Either::B(Null) => None,
        };
    }
    if let Some(n) = o.max_body_bytes {
        w.collect.max_body_bytes = convert::size(n, "maxBodyBytes")?;
    }
    if let Some(n) = o.max_items {
        w.collect.max_items = convert::size(n, "maxItems")?;
    }
    if let Some(path) = o.client_path {
        w.client_path = match path {
            Either::A(path) => Some(path.into()),
            Either::B(Null) => None,
        };
    }
    if let Some(on) = o.track_views {
        w.track_views = on;
    }
    let list = |words: Vec<Text>| words.into_iter().map(String::from).collect();
    if let Some(paths) = o.skip_paths {
        w.filter.paths = list(paths);
    }
    if let Some(prefixes) = o.skip_prefixes {
        w.filter.prefixes = list(prefixes);
    }
    if let Some(extensions) = o.skip_extensions {
        w.filter.extensions = list(extensions);
    }
    if let Some(bots) = o.bot_words {
        w.filter.bots = list(bots);
    }
    Ok(w)
}

/// A `SameSite` as the options name it.
fn same_site_name(s: SameSite) -> String {
    match s {
        SameSite::Lax => "lax".to_owned(),
        SameSite::Strict => "strict".to_owned(),
        SameSite::None => "none".to_owned(),
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}
