"""sojourn for WSGI applications: Flask, or any WSGI app.

::

    app.wsgi_app = sojourn.wsgi.SojournMiddleware(app.wsgi_app, tracker=tracker)
    # or, for Flask, with flask.g.sojourn as well:
    sojourn.wsgi.init_app(app, tracker)

On each request:

- the collect endpoint (``POST /sojourn/collect`` by default) is answered
  here: its body is read up to ``max_body_bytes`` and one byte more (a
  larger one is refused with ``413`` without reading the rest), and the
  JSON reply of :meth:`sojourn.Web.collect` is sent with the cookie;
- the browser client (``GET /sojourn/browser.js`` by default,
  ``client_path``) is answered here: ``sojourn.BROWSER_CLIENT``, cached
  for an hour, with no session and no cookie;
- a request the filter skips (static files, health checks, robots), or
  that ``skip(environ)`` says to skip, is passed on untouched, with
  ``environ["sojourn"]`` set to ``None``;
- any other is a page: its session is resumed (:meth:`sojourn.Web.visit`)
  and put in ``environ["sojourn"]`` as a :class:`sojourn.RequestSession`,
  and the ``Set-Cookie`` header is added to the response. If the store
  fails, the ``StoreError`` is raised to the server, as any error of a
  middleware (the client gets a ``500``); the collect endpoint answers
  ``503`` itself.

Paths are the application's (``PATH_INFO``, under ``SCRIPT_NAME``).
HTTPS is judged from ``wsgi.url_scheme``: behind a proxy, make the server
or a middleware (werkzeug's ``ProxyFix``) trust ``X-Forwarded-Proto``, and
the cookie gets ``Secure``. WSGI is synchronous: the tracker is a
:class:`sojourn.Tracker` (calls on Redis let other threads run while they
wait).
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Optional

from sojourn import BROWSER_CLIENT, BROWSER_CLIENT_TYPE, Route
from sojourn._native import Tracker, Web
from sojourn._web import RequestSession

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    import flask

__all__ = ["SojournMiddleware", "init_app"]

_CLIENT_BODY = BROWSER_CLIENT.encode()
_CLIENT_HEADERS = [
    ("Content-Type", BROWSER_CLIENT_TYPE),
    ("Content-Length", str(len(_CLIENT_BODY))),
    ("Cache-Control", "public, max-age=3600"),
]


class SojournMiddleware:
    """The WSGI middleware: ``SojournMiddleware(app, tracker=tracker,
    **options)`` wraps the WSGI application ``app``.

    ``tracker`` is a :class:`sojourn.Tracker`; ``skip`` is an optional
    predicate on the WSGI environ for what else should make no session
    (the filter's lists come first); every other keyword is an option of
    :class:`sojourn.Web` (their defaults in ``sojourn.WEB_DEFAULTS``).
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        tracker: Tracker,
        skip: Optional[Callable[[WSGIEnvironment], bool]] = None,
        **options: Any,
    ) -> None:
        if not isinstance(tracker, Tracker):
            hint = " (an AsyncTracker's calls are coroutines: give its .tracker)" if hasattr(tracker, "tracker") else ""
            raise TypeError(f"tracker must be a sojourn.Tracker, not {type(tracker).__name__}{hint}")
        if skip is not None and not callable(skip):
            raise TypeError(f"skip must be callable, not {type(skip).__name__}")
        self.app = app
        #: The tracker given.
        self.tracker = tracker
        #: The rules, with the options given.
        self.web = Web(**options)
        self._skip = skip
        self._token_key = "HTTP_" + self.web.token_header.upper().replace("-", "_")
        self._limit = self.web.max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        parts: dict[str, Any] = {
            "https": environ.get("wsgi.url_scheme") == "https",
            "cookie": environ.get("HTTP_COOKIE"),
            "token_header": environ.get(self._token_key),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        method: str = environ.get("REQUEST_METHOD", "GET")
        path: str = environ.get("PATH_INFO") or "/"
        route = self.web.route(method, path, **parts)
        if route is Route.COLLECT:
            body = self._read_body(environ)
            reply = self.web.collect(self.tracker, method, path, body, **parts)
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(reply.body)))]
            if reply.set_cookie is not None:
                headers.append(("Set-Cookie", reply.set_cookie))
            start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", headers)
            return [reply.body]
        if route is Route.CLIENT:
            start_response("200 OK", list(_CLIENT_HEADERS))
            return [_CLIENT_BODY]
        if route is Route.SKIP or (self._skip is not None and self._skip(environ)):
            environ["sojourn"] = None
            return self.app(environ, start_response)
        visit = self.web.visit(self.tracker, method, path, **parts)
        environ["sojourn"] = RequestSession(self.tracker, visit)
        cookie = ("Set-Cookie", visit.set_cookie)

        def start_with_cookie(
            status: str, headers: list[tuple[str, str]], exc_info: Optional[OptExcInfo] = None
        ) -> Callable[[bytes], object]:
            return start_response(status, [*headers, cookie], exc_info)

        return self.app(environ, start_with_cookie)

    def _read_body(self, environ: WSGIEnvironment) -> bytes:
        """The body, up to one byte over the bound (the rest is not read)."""
        stream = environ["wsgi.input"]
        try:
            length: Optional[int] = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            length = None
        if length is None:
            # Without a length, only a server that ends the stream itself
            # (chunked bodies) may be read to its end.
            wanted = self._limit + 1 if environ.get("wsgi.input_terminated") else 0
        else:
            wanted = min(length, self._limit + 1)
        chunks = []
        while wanted > 0:
            chunk = stream.read(wanted)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)


def init_app(
    app: flask.Flask,
    tracker: Tracker,
    *,
    skip: Optional[Callable[[WSGIEnvironment], bool]] = None,
    **options: Any,
) -> SojournMiddleware:
    """Sets sojourn up on the Flask application ``app``: wraps its
    ``wsgi_app`` in :class:`SojournMiddleware` (with ``skip`` and the
    options of :class:`sojourn.Web`), and exposes the request's
    :class:`sojourn.RequestSession` as ``flask.g.sojourn`` (``None`` for a
    request that makes no session). Returns the middleware, also kept in
    ``app.extensions["sojourn"]``."""
    import flask

    middleware = SojournMiddleware(app.wsgi_app, tracker=tracker, skip=skip, **options)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.extensions["sojourn"] = middleware

    def expose() -> None:
        flask.g.sojourn = flask.request.environ.get("sojourn")

    app.before_request(expose)
    return middleware
