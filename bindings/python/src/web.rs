//! The web layer (`sojourn::web`), as `sojourn.Web`: a middleware's options
//! from Python keywords to the core's `WebOptions`, a request's parts to a
//! `web::Request`, and the answers (`Route`, `Visit`, `Reply`) back. Every
//! rule (routing, the filter, the cookie, the collect endpoint's body and
//! limits) and every default is the core's: `WEB_DEFAULTS` is read from
//! `WebOptions::default()`. The middlewares (`sojourn/asgi.py`,
//! `wsgi.py`, `django.py`) only move these between their framework and
//! this class.
//!
//! `visit` and `collect` run on the tracker as its own calls do
//! (`PyTracker::call`): the GIL is let go while a remote store (Redis)
//! answers, kept on the memory store.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyString};
use sojourn::web::{
    CollectLimits, CookieOptions, Filter, OwnedRequest, Reply, Route, SameSite, Secure, Visit, Web,
    WebOptions,
};

use crate::convert;
use crate::errors::{OrRaise, invalid};
use crate::session::{self, Members, PySession, PyTick, repr_of};
use crate::tracker::PyTracker;

/// A keyword whose absence means something else than `None`
/// (`collect_path`, `client_path`: left out keeps the default path, `None`
/// mounts the endpoint nowhere).
pub enum Keyword<'py> {
    /// Not given.
    Absent,
    /// Given, `None` included.
    Given(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Keyword<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Keyword::Given(obj.to_owned()))
    }
}

fn same_site_name(same_site: SameSite) -> &'static str {
    match same_site {
        SameSite::Lax => "lax",
        SameSite::Strict => "strict",
        SameSite::None => "none",
        // A value this binding does not know yet.
        _ => "?",
    }
}

fn same_site(obj: &Bound<'_, PyAny>) -> PyResult<SameSite> {
    let expected = "\"lax\", \"strict\" or \"none\"";
    let text = obj
        .cast::<PyString>()
        .map_err(|_| type_error("same_site", expected, obj))?
        .to_string_lossy()
        .to_ascii_lowercase();
    match text.as_str() {
        "lax" => Ok(SameSite::Lax),
        "strict" => Ok(SameSite::Strict),
        "none" => Ok(SameSite::None),
        _ => Err(invalid(
            obj.py(),
            "same_site",
            format!("{} is not {expected}", obj.repr()?),
        )),
    }
}

fn secure_value(py: Python<'_>, secure: Secure) -> PyResult<Bound<'_, PyAny>> {
    Ok(match secure {
        Secure::Always => PyBool::new(py, true).to_owned().into_any(),
        Secure::Never => PyBool::new(py, false).to_owned().into_any(),
        _ => PyString::new(py, "auto").into_any(),
    })
}

fn secure(obj: &Bound<'_, PyAny>) -> PyResult<Secure> {
    let expected = "\"auto\", True or False";
    if let Ok(yes) = obj.cast::<PyBool>() {
        return Ok(if yes.is_true() {
            Secure::Always
        } else {
            Secure::Never
        });
    }
    let text = obj
        .cast::<PyString>()
        .map_err(|_| type_error("secure", expected, obj))?;
    if text.to_string_lossy().eq_ignore_ascii_case("auto") {
        Ok(Secure::Auto)
    } else {
        Err(invalid(
            obj.py(),
            "secure",
            format!("{} is not {expected}", obj.repr()?),
        ))
    }
}

fn type_error(name: &str, expected: &str, obj: &Bound<'_, PyAny>) -> PyErr {
    let type_name = obj
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    PyTypeError::new_err(format!("{name} must be {expected}, not {type_name}"))
}

fn flag(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    obj.cast::<PyBool>()
        .map(|b| b.is_true())
        .map_err(|_| type_error(name, "a bool", obj))
}

/// The text of a request part: what a client sent is never an error but
/// for its type (a `str` that is not valid Unicode is read lossily, as the
/// core reads any bad token: it starts a session).
fn part(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.cast::<PyString>()
        .map(|s| s.to_string_lossy().into_owned())
        .map_err(|_| type_error(name, "a str", obj))
}

fn opt_part(name: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    obj.filter(|o| !o.is_none())
        .map(|o| part(name, o))
        .transpose()
}

/// A request's parts, owned, for one call (the GIL may be let go).
fn parts(
    method: &Bound<'_, PyAny>,
    path: &Bound<'_, PyAny>,
    https: bool,
    cookie: Option<&Bound<'_, PyAny>>,
    token_header: Option<&Bound<'_, PyAny>>,
    user_agent: Option<&Bound<'_, PyAny>>,
) -> PyResult<OwnedRequest> {
    Ok(OwnedRequest {
        method: part("method", method)?,
        path: part("path", path)?,
        https,
        cookie: opt_part("cookie", cookie)?,
        token_header: opt_part("token_header", token_header)?,
        user_agent: opt_part("user_agent", user_agent)?,
    })
}

/// The web layer's rules for one set of options: what a middleware asks
/// about each request. Holds no tracker: ``visit`` and ``collect`` take
/// the one to use.
///
/// Every option is keyword-only; ``None`` (or leaving it out) keeps the
/// core's default, listed in ``sojourn.WEB_DEFAULTS``, except
/// ``collect_path`` and ``client_path``, where ``None`` mounts the endpoint
/// nowhere.
///
/// - ``cookie_name``: the session cookie's name; the browser client's
///   counters are in ``NAME_hints``.
/// - ``cookie_domain``: its ``Domain`` (default none: this host only).
/// - ``cookie_path``: its ``Path``.
/// - ``same_site``: ``"lax"``, ``"strict"`` or ``"none"`` (which needs
///   ``Secure``).
/// - ``secure``: ``"auto"`` (``Secure`` when the request came over HTTPS),
///   ``True`` (always) or ``False`` (never: plain-HTTP development).
/// - ``cookie_max_age``: its ``Max-Age``, a duration (seconds or a
///   ``timedelta``); default the tracker's ``retention``.
/// - ``token_header``: the header in which clients without cookies send
///   their token.
/// - ``collect_path``: where the collect endpoint is mounted, or ``None``.
/// - ``client_path``: where the browser client (``sojourn.BROWSER_CLIENT``)
///   is served to a ``GET``, or ``None``; not the collect path.
/// - ``max_body_bytes``, ``max_items``: the collect endpoint's bounds
///   (``413`` and ``400`` past them).
/// - ``track_views``: whether each page ``GET`` counts a view (off: the
///   browser client counts them).
/// - ``skip_paths``, ``skip_prefixes``, ``skip_extensions``, ``bot_words``:
///   the filter's lists (exact paths, path prefixes, file extensions
///   without the dot, words of a robot's ``User-Agent``): what makes no
///   session. A list given replaces the default one; ``[]`` skips none.
///
/// Options out of range raise ``InvalidArgument``; values of the wrong
/// type ``TypeError``.
#[pyclass(name = "Web", module = "sojourn", frozen)]
pub struct PyWeb(Web);

#[pymethods]
impl PyWeb {
    #[new]
    #[pyo3(signature = (
        *,
        cookie_name = None,
        cookie_domain = None,
        cookie_path = None,
        same_site = None,
        secure = None,
        cookie_max_age = None,
        token_header = None,
        collect_path = Keyword::Absent,
        client_path = Keyword::Absent,
        max_body_bytes = None,
        max_items = None,
        track_views = None,
        skip_paths = None,
        skip_prefixes = None,
        skip_extensions = None,
        bot_words = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        cookie_name: Option<&Bound<'_, PyAny>>,
        cookie_domain: Option<&Bound<'_, PyAny>>,
        cookie_path: Option<&Bound<'_, PyAny>>,
        same_site: Option<&Bound<'_, PyAny>>,
        secure: Option<&Bound<'_, PyAny>>,
        cookie_max_age: Option<&Bound<'_, PyAny>>,
        token_header: Option<&Bound<'_, PyAny>>,
        collect_path: Keyword<'_>,
        client_path: Keyword<'_>,
        max_body_bytes: Option<&Bound<'_, PyAny>>,
        max_items: Option<&Bound<'_, PyAny>>,
        track_views: Option<&Bound<'_, PyAny>>,
        skip_paths: Option<&Bound<'_, PyAny>>,
        skip_prefixes: Option<&Bound<'_, PyAny>>,
        skip_extensions: Option<&Bound<'_, PyAny>>,
        bot_words: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut o = WebOptions::default();
        let c = &mut o.cookie;
        if let Some(v) = cookie_name {
            c.name = convert::text("cookie_name", v)?;
        }
        if let Some(v) = cookie_domain {
            c.domain = Some(convert::text("cookie_domain", v)?);
        }
        if let Some(v) = cookie_path {
            c.path = convert::text("cookie_path", v)?;
        }
        if let Some(v) = same_site {
            c.same_site = self::same_site(v)?;
        }
        if let Some(v) = secure {
            c.secure = self::secure(v)?;
        }
        if let Some(v) = cookie_max_age {
            c.max_age = Some(convert::duration("cookie_max_age", v)?);
        }
        if let Some(v) = token_header {
            o.token_header = convert::text("token_header", v)?;
        }
        if let Keyword::Given(v) = collect_path {
            o.collect_path = if v.is_none() {
                None
            } else {
                Some(convert::text("collect_path", &v)?)
            };
        }
        if let Keyword::Given(v) = client_path {
            o.client_path = if v.is_none() {
                None
            } else {
                Some(convert::text("client_path", &v)?)
            };
        }
        if let Some(v) = max_body_bytes {
            o.collect.max_body_bytes = convert::size("max_body_bytes", v)?;
        }
        if let Some(v) = max_items {
            o.collect.max_items = convert::size("max_items", v)?;
        }
        if let Some(v) = track_views {
            o.track_views = flag("track_views", v)?;
        }
        let f = &mut o.filter;
        for (name, given, list) in [
            ("skip_paths", skip_paths, &mut f.paths),
            ("skip_prefixes", skip_prefixes, &mut f.prefixes),
            ("skip_extensions", skip_extensions, &mut f.extensions),
            ("bot_words", bot_words, &mut f.bots),
        ] {
            if let Some(v) = given {
                *list = convert::texts(name, v)?;
            }
        }
        Web::new(o).map(PyWeb).or_raise(py)
    }

    /// Every option as it is in effect, with the keys of ``WEB_DEFAULTS``.
    #[getter]
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        options_dict(py, self.0.options())
    }

    /// The session cookie's name.
    #[getter]
    fn cookie_name(&self) -> &str {
        &self.0.options().cookie.name
    }

    /// The token header's name, in lower case.
    #[getter]
    fn token_header(&self) -> &str {
        &self.0.options().token_header
    }

    /// The collect endpoint's bound on a body, in bytes: a middleware
    /// reads at most one byte more before it calls ``collect``.
    #[getter]
    fn max_body_bytes(&self) -> usize {
        self.0.options().collect.max_body_bytes
    }

    /// What to do with a request: a ``sojourn.Route`` (``SKIP``: pass it on
    /// untouched; ``COLLECT``: answer it with ``collect``; ``CLIENT``:
    /// answer it with ``sojourn.BROWSER_CLIENT``, no session; ``PAGE``: call
    /// ``visit``, then pass it on). Needs no tracker.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, path, *, https = false, cookie = None, token_header = None, user_agent = None))]
    fn route<'py>(
        &self,
        py: Python<'py>,
        method: &Bound<'py, PyAny>,
        path: &Bound<'py, PyAny>,
        https: bool,
        cookie: Option<&Bound<'py, PyAny>>,
        token_header: Option<&Bound<'py, PyAny>>,
        user_agent: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let parts = parts(method, path, https, cookie, token_header, user_agent)?;
        let route = self.0.route(&parts.request());
        static MEMBERS: Members = pyo3::sync::PyOnceLock::new();
        let name = match route {
            Route::Skip => "skip",
            Route::Collect => "collect",
            Route::Page => "page",
            Route::Client => "client",
        };
        session::member(py, &MEMBERS, "Route", name)
    }

    /// Resumes the session of a page request on ``tracker``: its token
    /// from the cookie, else the token header; the browser client's hints
    /// cookie as revival hints (a garbage or forged token starts a new
    /// session, never an error); a view counted if ``track_views`` and a
    /// ``GET``. Returns a ``sojourn.Visit`` with the ``Set-Cookie`` value
    /// to send back. Raises what the tracker raises (``StoreError``).
    #[pyo3(signature = (tracker, method, path, *, https = false, cookie = None, token_header = None, user_agent = None))]
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &self,
        py: Python<'_>,
        tracker: &Bound<'_, PyTracker>,
        method: &Bound<'_, PyAny>,
        path: &Bound<'_, PyAny>,
        https: bool,
        cookie: Option<&Bound<'_, PyAny>>,
        token_header: Option<&Bound<'_, PyAny>>,
        user_agent: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyVisit> {
        let parts = parts(method, path, https, cookie, token_header, user_agent)?;
        let web = &self.0;
        let request = parts.request();
        tracker
            .get()
            .call(py, |core| web.visit(core, &request))
            .map(PyVisit)
    }

    /// Answers a request for the collect endpoint on ``tracker``, with its
    /// ``body`` (``bytes``; a middleware reads at most ``max_body_bytes``
    /// + 1 of it): a ``sojourn.Reply`` with the status, the JSON body and,
    /// once a session was resumed, the ``Set-Cookie`` value. What the
    /// endpoint refuses (``405``, ``413``, ``400``, ``503`` when the store
    /// failed) is a reply too, with nothing changed: this never raises
    /// but for arguments of the wrong type.
    #[pyo3(signature = (tracker, method, path, body, *, https = false, cookie = None, token_header = None, user_agent = None))]
    #[allow(clippy::too_many_arguments)]
    fn collect(
        &self,
        py: Python<'_>,
        tracker: &Bound<'_, PyTracker>,
        method: &Bound<'_, PyAny>,
        path: &Bound<'_, PyAny>,
        body: &Bound<'_, PyAny>,
        https: bool,
        cookie: Option<&Bound<'_, PyAny>>,
        token_header: Option<&Bound<'_, PyAny>>,
        user_agent: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyReply> {
        let parts = parts(method, path, https, cookie, token_header, user_agent)?;
        let web = &self.0;
        let request = parts.request();
        let reply = if let Ok(bytes) = body.cast::<PyBytes>() {
            // Immutable and kept alive by the caller: read in place, even
            // with the GIL let go.
            let body = bytes.as_bytes();
            tracker
                .get()
                .call(py, |core| Ok(web.collect(core, &request, body)))?
        } else if let Ok(array) = body.cast::<PyByteArray>() {
            let body = array.to_vec();
            tracker
                .get()
                .call(py, |core| Ok(web.collect(core, &request, &body)))?
        } else {
            return Err(type_error("body", "bytes", body));
        };
        Ok(PyReply(reply))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let o = self.0.options();
        Ok(format!(
            "<sojourn.Web cookie_name={} collect_path={}>",
            repr_of(&o.cookie.name, py)?,
            repr_of(&o.collect_path, py)?
        ))
    }
}

/// A page request's session, as ``Web.visit`` found it. Immutable.
#[pyclass(name = "Visit", module = "sojourn", frozen, eq)]
#[derive(PartialEq)]
pub struct PyVisit(Visit);

#[pymethods]
impl PyVisit {
    /// The session, as of the request (a ``sojourn.Session``).
    #[getter]
    fn session(&self) -> PySession {
        PySession::of(&self.0.session)
    }

    /// How it was found: a ``sojourn.Outcome``.
    #[getter]
    fn outcome<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        session::outcome(py, self.0.outcome)
    }

    /// The view counted (``track_views`` and a ``GET``), else ``None``.
    #[getter]
    fn tick(&self) -> Option<PyTick> {
        self.0.tick.map(PyTick)
    }

    /// The ``Set-Cookie`` header's value to send back.
    #[getter]
    fn set_cookie(&self) -> &str {
        &self.0.set_cookie
    }

    fn __repr__(&self) -> String {
        format!(
            "Visit(session_id='{}', outcome='{}', tick={}, set_cookie={:?})",
            self.0.session.id,
            self.0.outcome.as_str(),
            self.0
                .tick
                .map_or_else(|| "None".to_owned(), |t| PyTick(t).__repr__()),
            self.0.set_cookie
        )
    }
}

/// The collect endpoint's answer, as ``Web.collect`` gave it. Immutable.
#[pyclass(name = "Reply", module = "sojourn", frozen, eq)]
#[derive(PartialEq)]
pub struct PyReply(Reply);

#[pymethods]
impl PyReply {
    /// The HTTP status.
    #[getter]
    fn status(&self) -> u16 {
        self.0.status
    }

    /// The JSON body, as UTF-8 ``bytes``: ``{"session", "outcome",
    /// "ticks"}`` for a ``200``, ``{"error": {"code", "message"}}`` for any
    /// other.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.body.as_bytes())
    }

    /// The ``Set-Cookie`` header's value to send back, once a session was
    /// resumed; else ``None``.
    #[getter]
    fn set_cookie(&self) -> Option<&str> {
        self.0.set_cookie.as_deref()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Reply(status={}, body={}, set_cookie={})",
            self.0.status,
            repr_of(PyBytes::new(py, self.0.body.as_bytes()), py)?,
            repr_of(&self.0.set_cookie, py)?
        ))
    }
}

fn options_dict<'py>(py: Python<'py>, o: &WebOptions) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let CookieOptions {
        name,
        domain,
        path,
        same_site,
        secure,
        max_age,
    } = &o.cookie;
    d.set_item("cookie_name", name)?;
    d.set_item("cookie_domain", domain)?;
    d.set_item("cookie_path", path)?;
    d.set_item("same_site", same_site_name(*same_site))?;
    d.set_item("secure", secure_value(py, *secure)?)?;
    d.set_item("cookie_max_age", *max_age)?;
    d.set_item("token_header", &o.token_header)?;
    d.set_item("collect_path", &o.collect_path)?;
    d.set_item("client_path", &o.client_path)?;
    let CollectLimits {
        max_body_bytes,
        max_items,
    } = o.collect;
    d.set_item("max_body_bytes", max_body_bytes)?;
    d.set_item("max_items", max_items)?;
    d.set_item("track_views", o.track_views)?;
    let Filter {
        paths,
        prefixes,
        extensions,
        bots,
    } = &o.filter;
    d.set_item("skip_paths", paths)?;
    d.set_item("skip_prefixes", prefixes)?;
    d.set_item("skip_extensions", extensions)?;
    d.set_item("bot_words", bots)?;
    Ok(d)
}

/// Every option of `Web(...)` with its default, from
/// `WebOptions::default()` (`cookie_max_age` `None`: the tracker's
/// `retention`).
pub fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    options_dict(py, &WebOptions::default())
}
