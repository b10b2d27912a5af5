"""What is particular to ``sojourn.wsgi``: any WSGI application (checked
by ``wsgiref.validate``, served by wsgiref), Flask's
``init_app``, chunked bodies, a collect body read no further than its
bound, and what the middleware refuses to be made with."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Callable
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.validate import validator

import httpx
import pytest

import sojourn
from sojourn import InvalidArgument
from sojourn.wsgi import SojournMiddleware, init_app
from web_apps import BROWSER, Servers, async_tracker, set_cookies, tracker

COLLECT = sojourn.WEB_DEFAULTS["collect_path"]


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI application that says what the middleware gave it."""
    api = environ["sojourn"]
    if api is not None and environ["PATH_INFO"] == "/event":
        api.track("event")
    body = json.dumps(None if api is None else {"id": api.session.id, "outcome": api.outcome.value}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def wsgiref_url() -> Iterator[Callable[[Any], str]]:
    """Serves a WSGI application with wsgiref's server, in a thread."""
    stops: list[Callable[[], None]] = []

    def serve(app: Any) -> str:
        server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        thread.start()

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(10)

        stops.append(stop)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for stop in stops:
        stop()


def test_any_wsgi_application_checked_by_wsgiref_validate(wsgiref_url: Callable[[Any], str]) -> None:
    """``validator`` between the server and the middleware: what the
    middleware answers (its statuses, the headers it adds, its bodies)
    follows PEP 3333 (a warning of the validator's would fail the test).
    (Not between the middleware and the application: the validator takes
    every key of the environ without a dot for a CGI variable, a str, and
    ``environ["sojourn"]`` is none.)"""
    t = tracker()
    url = wsgiref_url(validator(SojournMiddleware(hello, tracker=t)))
    with httpx.Client(headers={"User-Agent": BROWSER}) as c:
        r = c.get(url + "/pricing")
        first = r.json()
        assert first["outcome"] == "started"
        assert set_cookies(r)["sojourn"].startswith(f"sojourn={t.peek(first['id']).token};")  # type: ignore[union-attr]
        assert c.post(url + "/event").json() == {"id": first["id"], "outcome": "existing"}
        assert c.get(url + "/static/app.css").json() is None
        r = c.post(url + COLLECT, json={"items": [{"kind": "view"}]})
        assert (r.status_code, r.json()["ticks"][0]["sequence"]) == (200, 2)
        r = c.get(url + COLLECT)
        assert (r.status_code, r.json()["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")
        r = c.get(url + "/sojourn/browser.js")
        assert (r.status_code, r.headers["content-type"]) == (200, sojourn.BROWSER_CLIENT_TYPE)
        assert r.text == sojourn.BROWSER_CLIENT and "set-cookie" not in r.headers
    assert t.peek(first["id"]).sequence == 2  # type: ignore[union-attr]
    assert t.stats().resumed == 2, "the browser client resumed no session"


def test_a_chunked_body_is_read_to_its_end(servers: Servers) -> None:
    """No Content-Length: werkzeug ends the stream itself
    (``wsgi.input_terminated``), and the middleware reads it."""
    t = tracker()
    url = servers.start("flask", t)

    def chunks() -> Iterator[bytes]:
        yield b'{"items": ['
        yield b'{"kind": "view"}, {"kind": "event"}'
        yield b"]}"

    r = httpx.post(url + COLLECT, content=chunks())
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 200, r.text
    assert [tick["sequence"] for tick in r.json()["ticks"]] == [1, 2]


def call(middleware: SojournMiddleware, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    got: list[Any] = []
    body = b"".join(middleware(environ, lambda status, headers, exc_info=None: got.extend([status, headers])))
    return got[0], got[1], body


def environ_for(path: str, body: bytes = b"", method: str = "POST", **extra: Any) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        **extra,
    }


def test_a_collect_body_is_read_no_further_than_its_bound() -> None:
    t = tracker()
    middleware = SojournMiddleware(hello, tracker=t, max_body_bytes=4096)
    environ = environ_for(COLLECT, b" " * (1 << 20), CONTENT_LENGTH=str(1 << 20))
    status, headers, body = call(middleware, environ)
    assert status == "413 Request Entity Too Large"
    assert ("Content-Type", "application/json") in headers
    assert json.loads(body)["error"]["code"] == "BODY_TOO_LARGE"
    assert environ["wsgi.input"].tell() == 4097, "one byte over the bound, no more"
    # Without a length from a server that does not end the stream, none
    # of it is read: an empty body.
    environ = environ_for(COLLECT, b'{"items": []}')
    status, _, body = call(middleware, environ)
    assert (status, json.loads(body)["error"]["code"]) == ("400 Bad Request", "INVALID_BODY")
    assert environ["wsgi.input"].tell() == 0
    environ = environ_for(COLLECT, b'{"items": []}', **{"wsgi.input_terminated": True})
    assert call(middleware, environ)[0] == "200 OK"
    assert t.stats().started == 1


def test_flask_init_app(servers: Servers) -> None:
    """``init_app``: the middleware wraps ``wsgi_app``, is kept in
    ``app.extensions``, and ``g.sojourn`` is the environ's (``None`` for
    what makes no session)."""
    import flask

    t = tracker()
    app = flask.Flask(__name__)
    middleware = init_app(app, t, track_views=True)
    assert app.wsgi_app is middleware and app.extensions["sojourn"] is middleware
    assert middleware.tracker is t and middleware.web.options["track_views"] is True

    @app.route("/<path:path>")
    def show(path: str) -> Any:
        api = flask.g.sojourn
        assert api is flask.request.environ["sojourn"]
        return {"views": None if api is None else api.visit.tick.view_sequence}

    url = servers.werkzeug(app)
    with httpx.Client(headers={"User-Agent": BROWSER}) as c:
        assert c.get(url + "/a").json() == {"views": 1}
        assert c.get(url + "/b").json() == {"views": 2}
        assert c.get(url + "/robots.txt").json() == {"views": None}


def test_what_the_middleware_refuses_to_be_made_with() -> None:
    t = tracker()
    with pytest.raises(TypeError, match="give its .tracker"):
        SojournMiddleware(hello, tracker=async_tracker())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="skip must be callable"):
        SojournMiddleware(hello, tracker=t, skip=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument) as e:
        SojournMiddleware(hello, tracker=t, collect_path="collect")
    assert e.value.code == "INVALID_ARGUMENT"
    with pytest.raises(TypeError):
        SojournMiddleware(hello, tracker=t, max_items="100")
    # None mounts no collect endpoint: its path is a page.
    middleware = SojournMiddleware(hello, tracker=t, collect_path=None)
    status, _, body = call(middleware, environ_for(COLLECT, b'{"items": []}', HTTP_USER_AGENT=BROWSER))
    assert status == "200 OK" and json.loads(body)["outcome"] == "started"
