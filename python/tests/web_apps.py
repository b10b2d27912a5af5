"""The same small application in every framework the web middlewares
serve (Starlette, FastAPI, Flask, Django on WSGI and on ASGI), and real
servers for them on loopback ports (uvicorn; werkzeug's threaded server),
over plain HTTP or TLS, each in a thread of the test's process so that the
test holds the tracker the server uses.

Every path answers ``GET`` and ``POST`` with JSON: what the middleware put
on the request (``{"sojourn": null}`` when it made no session); on a path
ending in ``/event`` the handler tracks an event first, on ``/login`` it
identifies the session as ``user-1``. Each response also sets a cookie of
the application's own (``theme=dark``): the middleware's cookie must not
replace it."""


import inspect
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import sojourn
from sojourn import AsyncTracker, Tracker

FRAMEWORKS = ["starlette", "fastapi", "flask", "django-wsgi", "django-asgi"]
ASGI = {"starlette", "fastapi", "django-asgi"}
#: A browser's User-Agent (the filter lets it through).
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def describe(api: Any) -> dict[str, Any]:
    if api is None:
        return {"sojourn": None}
    session = api.session
    tick = api.visit.tick
    return {
        "sojourn": {
            "api": type(api).__name__,
            "id": session.id,
            "token": session.token,
            "outcome": api.outcome.value,
            "view_sequence": session.view_sequence,
            "event_sequence": session.event_sequence,
            "tick": None if tick is None else tick.to_dict(),
        }
    }


def respond(api: Any, path: str) -> dict[str, Any]:
    """The handler of a sync application."""
    body = describe(api)
    if api is not None and path.endswith("/event"):
        body["tracked"] = api.track("event").to_dict()
    if api is not None and path.endswith("/login"):
        body["user_id"] = api.identify("user-1").user_id
    return body


async def respond_async(api: Any, path: str) -> dict[str, Any]:
    """The handler of an async application: with an AsyncTracker, the
    API's calls are awaited; with a Tracker, they are plain."""
    body = describe(api)
    if api is not None and path.endswith("/event"):
        tick = api.track("event")
        if isinstance(api, sojourn.AsyncRequestSession):
            assert inspect.isawaitable(tick)
            tick = await tick
        body["tracked"] = tick.to_dict()
    if api is not None and path.endswith("/login"):
        session = api.identify("user-1")
        if isinstance(api, sojourn.AsyncRequestSession):
            session = await session
        body["user_id"] = session.user_id
    return body


def set_cookies(response: Any) -> dict[str, str]:
    """The response's Set-Cookie headers, by cookie name."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0].strip()
        assert name not in found, f"two Set-Cookie headers for {name}: {response.headers}"
        found[name] = header.strip()
    return found



# The applications.


def starlette_app(tracker: Any, **options: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    import sojourn.asgi

    async def endpoint(request: Request) -> Response:
        response = JSONResponse(await respond_async(request.state.sojourn, request.url.path))
        response.set_cookie("theme", "dark")
        return response

    return Starlette(
        routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])],
        middleware=[Middleware(sojourn.asgi.SojournMiddleware, tracker=tracker, **options)],
    )


def fastapi_app(tracker: Any, **options: Any) -> Any:
    from fastapi import FastAPI, Request, Response
    from fastapi.responses import JSONResponse

    import sojourn.asgi

    app = FastAPI()
    app.add_middleware(sojourn.asgi.SojournMiddleware, tracker=tracker, **options)

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def endpoint(request: Request, path: str) -> Response:
        response = JSONResponse(await respond_async(request.state.sojourn, request.url.path))
        response.set_cookie("theme", "dark")
        return response

    return app


def flask_app(tracker: Any, **options: Any) -> Any:
    import flask

    import sojourn.wsgi

    app = flask.Flask("web_apps", static_folder=None)
    sojourn.wsgi.init_app(app, tracker, **options)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def endpoint(path: str) -> Any:
        assert flask.g.sojourn is flask.request.environ["sojourn"]
        response = flask.jsonify(respond(flask.g.sojourn, flask.request.path))
        response.set_cookie("theme", "dark")
        return response

    return app


_DJANGO = threading.Lock()
_django_ready = False


def _setup_django() -> None:
    """Django's settings, once for the process: its only middleware is
    sojourn's, configured (``settings.SOJOURN``) when each handler is
    made."""
    global _django_ready, urlpatterns
    with _DJANGO:
        if _django_ready:
            return
        import django
        from django.conf import settings

        settings.configure(
            DEBUG=False,
            SECRET_KEY="web tests of sojourn, not a secret",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["*"],
            MIDDLEWARE=["sojourn.django.SojournMiddleware"],
            INSTALLED_APPS=[],
            USE_TZ=True,
            SOJOURN={},
        )
        django.setup()
        from django.urls import re_path

        urlpatterns = [re_path(r"^.*$", django_view)]
        _django_ready = True


urlpatterns: list[Any] = []


async def django_view(request: Any) -> Any:
    """One async view for both stacks: Django runs it with async_to_sync
    under WSGI, where the middleware, in its sync mode, gives the sync
    API."""
    from django.http import JsonResponse

    response = JsonResponse(await respond_async(request.sojourn, request.path))
    response.set_cookie("theme", "dark")
    return response


def django_app(tracker: Any, *, asgi: bool, skip: Any = None, **options: Any) -> Any:
    """A Django handler whose middleware has this tracker and these
    options (read from the settings when the handler is made)."""
    _setup_django()
    from django.conf import settings

    with _DJANGO:
        settings.SOJOURN = {"tracker": tracker, "skip": skip, **options}
        try:
            if asgi:
                from django.core.handlers.asgi import ASGIHandler

                return ASGIHandler()
            from django.core.handlers.wsgi import WSGIHandler

            return WSGIHandler()
        finally:
            settings.SOJOURN = {}


def app_for(framework: str, tracker: Any, **options: Any) -> Any:
    if framework == "starlette":
        return starlette_app(tracker, **options)
    if framework == "fastapi":
        return fastapi_app(tracker, **options)
    if framework == "flask":
        return flask_app(tracker, **options)
    if framework == "django-wsgi":
        return django_app(tracker, asgi=False, **options)
    if framework == "django-asgi":
        return django_app(tracker, asgi=True, **options)
    raise AssertionError(framework)


def skip_under(framework: str, prefix: str) -> Callable[[Any], bool]:
    """A ``skip`` predicate for paths under ``prefix``, on what this
    framework's middleware gives it: the ASGI scope, the WSGI environ, or
    Django's request."""
    if framework in ("starlette", "fastapi"):
        return lambda scope: str(scope["path"]).startswith(prefix)
    if framework == "flask":
        return lambda environ: str(environ["PATH_INFO"]).startswith(prefix)
    return lambda request: str(request.path).startswith(prefix)


# The servers.


class Tls:
    """A self-signed certificate for 127.0.0.1, made by openssl, and a
    client context that trusts it (and nothing else)."""

    def __init__(self, folder: Path) -> None:
        self.cert = folder / "cert.pem"
        self.key = folder / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(self.key), "-out", str(self.cert), "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


class Servers:
    """Servers started by one test, stopped at its end."""

    def __init__(self) -> None:
        self._stops: list[Callable[[], None]] = []

    def start(
        self,
        framework: str,
        tracker: Any,
        *,
        tls: Optional[Tls] = None,
        proxy_headers: bool = False,
        **options: Any,
    ) -> str:
        """Serves the test application of ``framework`` with this tracker
        and middleware options; returns its base URL."""
        app = app_for(framework, tracker, **options)
        if framework in ASGI:
            return self.uvicorn(app, tls=tls, proxy_headers=proxy_headers)
        assert not proxy_headers
        return self.werkzeug(app, tls=tls)

    def uvicorn(self, app: Any, *, tls: Optional[Tls] = None, proxy_headers: bool = False, lifespan: str = "off") -> str:
        import uvicorn

        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            log_config=None,  # the process's logging, as it is
            lifespan=lifespan,
            proxy_headers=proxy_headers,
            forwarded_allow_ips="127.0.0.1",
            ssl_certfile=None if tls is None else str(tls.cert),
            ssl_keyfile=None if tls is None else str(tls.key),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]

        def stop() -> None:
            server.should_exit = True
            thread.join(10)

        self._stops.append(stop)
        return f"{'http' if tls is None else 'https'}://127.0.0.1:{port}"

    def werkzeug(self, app: Any, *, tls: Optional[Tls] = None) -> str:
        from werkzeug.serving import make_server

        context = None if tls is None else (str(tls.cert), str(tls.key))
        server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), name="werkzeug", daemon=True)
        thread.start()

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(10)

        self._stops.append(stop)
        return f"{'http' if tls is None else 'https'}://127.0.0.1:{server.server_port}"

    def close(self) -> None:
        """Stops every server, all at once."""
        stopping = [threading.Thread(target=stop) for stop in self._stops]
        self._stops.clear()
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()


SECRET = "web tests' secret, 16+ bytes"


def tracker(**options: Any) -> Tracker:
    """A tracker signing with the tests' secret: two of them are two
    processes of one deployment (a restart without a snapshot)."""
    return Tracker(secret=SECRET, sweep_interval=0, **options)


def async_tracker(**options: Any) -> AsyncTracker:
    return AsyncTracker(secret=SECRET, sweep_interval=0, **options)
