"""What is particular to ``sojourn.asgi.SojournMiddleware`` (and to
Django's async stack): an ``AsyncTracker`` behind it, on the memory store
and on the Redis of ``scripts/with-redis``, with its awaitable API; the
event loop going on while Redis answers; lifespan and websocket scopes
untouched; a collect body read no further than its bound; ``Secure`` from
a trusted proxy's ``X-Forwarded-Proto``."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

import sojourn
from sojourn import AsyncTracker, InvalidArgument
from sojourn.asgi import SojournMiddleware
from support import pause_redis, redis_url, store_options
from web_apps import BROWSER, SECRET, Servers, async_tracker, set_cookies, tracker

COLLECT = sojourn.WEB_DEFAULTS["collect_path"]


@pytest.fixture(autouse=True)
def collected() -> Iterator[None]:
    """Collects this test's trackers as it ends: one on Redis must not
    close (with a last sweep) in a later test that pauses Redis."""
    yield
    gc.collect()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def browser(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, headers={"User-Agent": BROWSER}, timeout=10) as c:
        yield c


@pytest.mark.parametrize("framework", ["starlette", "fastapi", "django-asgi"])
def test_an_async_tracker_gives_an_awaitable_api(framework: str, store: str, servers: Servers) -> None:
    t = async_tracker(**store_options(store, "web-async"))
    assert t.store_is_remote is (store == "redis")
    url = servers.start(framework, t)
    n = 10

    async def visit() -> None:
        async with browser(url) as c:
            first = (await c.get("/")).json()["sojourn"]
            assert (first["api"], first["outcome"]) == ("AsyncRequestSession", "started")
            again = (await c.get("/pricing")).json()["sojourn"]
            assert (again["outcome"], again["id"]) == ("existing", first["id"])
            login = (await c.post("/login")).json()
            assert login["user_id"] == "user-1"
            # One visitor's requests, all at once: one session, each tick once.
            events = [c.post("/event") for _ in range(n)]
            beacons = [c.post(COLLECT, json={"items": [{"kind": "view"}]}) for _ in range(n)]
            replies = await asyncio.gather(*events, *beacons)
            assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
            tracked = sorted(r.json()["tracked"]["event_sequence"] for r in replies[:n])
            assert tracked == list(range(1, n + 1))
            viewed = sorted(r.json()["ticks"][0]["view_sequence"] for r in replies[n:])
            assert viewed == list(range(1, n + 1))
            assert {r.json()["session"]["id"] for r in replies[n:]} == {first["id"]}
            live = await t.peek(first["id"])
            assert live is not None and (live.user_id, live.view_sequence, live.event_sequence) == ("user-1", n, n)
            assert (await t.stats()).started == 1

    asyncio.run(visit())


@pytest.mark.parametrize("framework", ["starlette", "django-asgi"])
@pytest.mark.parametrize("kind", ["AsyncTracker", "Tracker"])
def test_the_event_loop_goes_on_while_redis_answers(framework: str, kind: str, servers: Servers) -> None:
    """Redis paused for 0.6 s: a page waits that long for its session,
    while a request that needs none (a health check) is answered at once
    by the same event loop. With the calls made on the loop, the health
    check would wait for the page."""
    options = {**store_options("redis", "web-loop"), "store_timeout": 5}
    t = async_tracker(**options) if kind == "AsyncTracker" else tracker(**options)
    url = servers.start(framework, t)

    async def race() -> tuple[float, float]:
        async with browser(url) as c, browser(url) as other:
            assert (await c.get("/")).json()["sojourn"]["outcome"] == "started"
            assert (await other.get("/healthz")).json()["sojourn"] is None
            pause_redis(redis_url(), 0.6)
            began = time.monotonic()
            waiting = asyncio.create_task(c.get("/pricing"))
            await asyncio.sleep(0.1)
            assert not waiting.done()
            health = await other.get("/healthz")
            health_took = time.monotonic() - began
            r = await waiting
            page_took = time.monotonic() - began
            assert health.status_code == 200 and r.json()["sojourn"]["outcome"] == "existing"
            return health_took, page_took

    health_took, page_took = asyncio.run(race())
    assert page_took >= 0.5, "the page waited for Redis"
    assert health_took < 0.4, f"the health check waited {health_took:.2f} s for the page"


# The middleware alone, with an ASGI app of the test's own.


def _app(seen: list[tuple[Any, Any, Any]]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": [(b"x-app", b"1")]})
            await send({"type": "http.response.body", "body": b""})

    return app


def test_lifespan_and_websocket_scopes_pass_through_untouched() -> None:
    t = tracker()
    seen: list[tuple[Any, Any, Any]] = []
    middleware = SojournMiddleware(_app(seen), tracker=t)

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: Any) -> None:
        pass

    for scope in (
        {"type": "lifespan", "asgi": {"version": "3.0"}},
        {"type": "websocket", "path": "/", "headers": [(b"cookie", b"sojourn=x")], "scheme": "ws"},
    ):
        before = dict(scope)
        asyncio.run(middleware(scope, receive, send))
        assert seen[-1][0] is scope and seen[-1][1] is receive and seen[-1][2] is send
        assert scope == before, "nothing added to the scope"
    assert t.stats().started == 0


def test_lifespan_state_and_the_session_are_both_on_the_request(servers: Servers) -> None:
    """Starlette with a lifespan that sets state, on uvicorn with the
    lifespan protocol on: the middleware lets the startup through, and its
    key joins the request's copy of the state."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"started": True}

    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"started": request.state.started, "outcome": request.state.sojourn.outcome.value})

    t = tracker()
    app = Starlette(routes=[Route("/", endpoint)], lifespan=lifespan)
    app.add_middleware(SojournMiddleware, tracker=t)
    url = servers.uvicorn(app, lifespan="on")
    assert httpx.get(url + "/").json() == {"started": True, "outcome": "started"}


def _http(path: str, method: str = "POST", **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "scheme": "http", "headers": [], **extra}


def test_a_collect_body_is_read_no_further_than_its_bound() -> None:
    """A body of 100 chunks of 1 KiB, refused with 413 once the fifth
    passes the bound of 4 KiB: the other 95 are never received."""
    t = tracker()
    app_calls: list[Any] = []
    middleware = SojournMiddleware(_app(app_calls), tracker=t, max_body_bytes=4096)
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b" " * 1024, "more_body": received < 100}

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(middleware(_http(COLLECT), receive, send))
    assert received == 5
    assert sent[0]["status"] == 413 and (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["code"] == "BODY_TOO_LARGE"
    assert app_calls == [] and t.stats().started == 0


def test_a_client_that_leaves_mid_body_gets_nothing_tracked() -> None:
    t = tracker()
    middleware = SojournMiddleware(_app([]), tracker=t)
    messages = iter(
        [
            {"type": "http.request", "body": b'{"items": [{"kind"', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Any:
        return next(messages)

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(middleware(_http(COLLECT), receive, send))
    assert sent == [] and t.stats().started == 0


def test_paths_are_the_applications_under_its_root_path() -> None:
    """Mounted at /app (``root_path``): /app/sojourn/collect is the collect
    endpoint, /app/static/x.js a static file."""
    t = tracker()
    seen: list[Any] = []
    middleware = SojournMiddleware(_app(seen), tracker=t)
    body = {"type": "http.request", "body": b'{"items": [{"kind": "view"}]}', "more_body": False}

    async def receive() -> Any:
        return body

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(middleware(_http("/app" + COLLECT, root_path="/app"), receive, send))
    assert sent[0]["status"] == 200 and seen == []
    asyncio.run(middleware(_http("/app/static/x.js", "GET", root_path="/app"), receive, send))
    assert seen[-1][0]["state"]["sojourn"] is None
    asyncio.run(middleware(_http("/application", "GET", root_path="/app"), receive, send))
    assert seen[-1][0]["state"]["sojourn"].outcome is sojourn.Outcome.STARTED
    assert t.stats().started == 2


def test_secure_comes_from_a_trusted_proxys_forwarded_proto(servers: Servers) -> None:
    """uvicorn with --proxy-headers trusts X-Forwarded-Proto from
    127.0.0.1: the scope's scheme is https, and the cookie is Secure; a
    server that trusts no proxy ignores the header."""
    t = tracker()
    trusting = servers.start("starlette", t, proxy_headers=True)
    plain = servers.start("starlette", t)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "User-Agent": BROWSER}
    assert set_cookies(httpx.get(trusting + "/", headers=forwarded))["sojourn"].endswith("; SameSite=Lax; Secure")
    assert set_cookies(httpx.get(trusting + "/", headers={"User-Agent": BROWSER}))["sojourn"].endswith("SameSite=Lax")
    assert set_cookies(httpx.get(plain + "/", headers=forwarded))["sojourn"].endswith("SameSite=Lax")


def test_bad_options_are_refused_when_the_middleware_is_made() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    t = tracker()
    with pytest.raises(InvalidArgument) as e:
        SojournMiddleware(app, tracker=t, same_site="sometimes")
    assert e.value.argument == "same_site"
    with pytest.raises(InvalidArgument):
        SojournMiddleware(app, tracker=t, same_site="none", secure=False)
    with pytest.raises(TypeError):
        SojournMiddleware(app, tracker=t, no_such_option=1)
    with pytest.raises(TypeError, match="tracker must be"):
        SojournMiddleware(app, tracker=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="skip must be callable"):
        SojournMiddleware(app, tracker=t, skip="/admin")  # type: ignore[arg-type]
    m = SojournMiddleware(app, tracker=AsyncTracker(secret=SECRET, sweep_interval=0))
    assert isinstance(m.tracker, AsyncTracker)
