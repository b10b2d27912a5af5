"""``sojourn.Web``, the binding of the core's web layer, without a server:
its options as keywords (defaults read from the core, bad values refused
as every other), the request's parts, ``route``, ``visit`` and
``collect`` and their frozen results, and the GIL let go while Redis
answers. The rules themselves are the core's, tested there
(``core/src/web/tests.rs``); these tests check that they arrive."""

from __future__ import annotations

import gc
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import sojourn
from sojourn import InvalidArgument, Outcome, Route, Web
from support import EPOCH, pause_redis, redis_url, unique_prefix

SECRET = "web binding tests, 16+ bytes"
BROWSER = "Mozilla/5.0 Chrome/120.0"
COLLECT = "/sojourn/collect"
CLIENT = "/sojourn/browser.js"


@pytest.fixture(autouse=True)
def collected() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def t() -> Iterator[sojourn.Tracker]:
    with sojourn.Tracker(secret=SECRET, sweep_interval=0, clock=sojourn.MockClock(EPOCH)) as tracker:
        yield tracker


def test_the_defaults_are_the_cores() -> None:
    d = sojourn.WEB_DEFAULTS
    assert set(d) == {
        "cookie_name", "cookie_domain", "cookie_path", "same_site", "secure", "cookie_max_age", "token_header",
        "collect_path", "client_path", "max_body_bytes", "max_items", "track_views", "skip_paths", "skip_prefixes",
        "skip_extensions", "bot_words",
    }  # fmt: skip
    assert (d["cookie_name"], d["cookie_path"], d["same_site"], d["secure"]) == ("sojourn", "/", "lax", "auto")
    assert (d["cookie_domain"], d["cookie_max_age"], d["track_views"]) == (None, None, False)
    assert (d["token_header"], d["collect_path"], d["client_path"]) == ("sojourn-token", COLLECT, CLIENT)
    assert (d["max_body_bytes"], d["max_items"]) == (64 * 1024, 100)
    assert "/healthz" in d["skip_paths"] and "/static/" in d["skip_prefixes"]
    assert "woff2" in d["skip_extensions"] and "bot" in d["bot_words"]
    with pytest.raises(TypeError):
        d["max_items"] = 1  # type: ignore[index]
    assert Web().options == dict(d), "a Web of no options has the defaults"


def test_every_option_arrives() -> None:
    w = Web(
        cookie_name="sid",
        cookie_domain="example.com",
        cookie_path="/app",
        same_site="Strict",
        secure=True,
        cookie_max_age=timedelta(hours=1),
        token_header="X-Visit",
        collect_path="/track",
        client_path="/js/sojourn.js",
        max_body_bytes=1000,
        max_items=5,
        track_views=True,
        skip_paths=("/up",),
        skip_prefixes=["/files/"],
        skip_extensions=iter(["txt"]),
        bot_words=[],
    )
    assert w.options == {
        "cookie_name": "sid",
        "cookie_domain": "example.com",
        "cookie_path": "/app",
        "same_site": "strict",
        "secure": True,
        "cookie_max_age": timedelta(hours=1),
        "token_header": "x-visit",
        "collect_path": "/track",
        "client_path": "/js/sojourn.js",
        "max_body_bytes": 1000,
        "max_items": 5,
        "track_views": True,
        "skip_paths": ["/up"],
        "skip_prefixes": ["/files/"],
        "skip_extensions": ["txt"],
        "bot_words": [],
    }
    assert (w.cookie_name, w.token_header, w.max_body_bytes) == ("sid", "x-visit", 1000)
    assert Web(secure=False).options["secure"] is False and Web(secure="auto").options["secure"] == "auto"
    assert Web(cookie_max_age=90).options["cookie_max_age"] == timedelta(seconds=90)
    assert Web(collect_path=None).options["collect_path"] is None, "None mounts it nowhere"
    assert Web(collect_path=None).route("POST", COLLECT) is Route.PAGE
    assert repr(Web(collect_path=None)) == "<sojourn.Web cookie_name='sojourn' collect_path=None>"
    assert Web(client_path=None).options["client_path"] is None, "None serves it nowhere"
    assert Web(client_path=None).route("GET", CLIENT, user_agent=BROWSER) is Route.SKIP, "a .js file"
    assert Web(client_path=None, skip_extensions=[]).route("GET", CLIENT, user_agent=BROWSER) is Route.PAGE
    assert Web(collect_path=None, client_path=COLLECT).route("GET", COLLECT) is Route.CLIENT


@pytest.mark.parametrize(
    "options, argument",
    [
        ({"same_site": "sometimes"}, "same_site"),
        ({"secure": "yes"}, "secure"),
        ({"same_site": "none", "secure": False}, "cookie same_site"),
        ({"cookie_name": ""}, "cookie name"),
        ({"cookie_name": "a;b"}, "cookie name"),
        ({"cookie_domain": "a b"}, "cookie domain"),
        ({"cookie_path": "app"}, "cookie path"),
        ({"cookie_max_age": -1}, "cookie_max_age"),
        ({"cookie_max_age": float("nan")}, "cookie_max_age"),
        ({"token_header": "a b"}, "token header"),
        ({"collect_path": "collect"}, "collect path"),
        ({"collect_path": "/c?x=1"}, "collect path"),
        ({"client_path": "client.js"}, "client path"),
        ({"client_path": "/c.js#x"}, "client path"),
        ({"client_path": COLLECT}, "client path"),
        ({"client_path": "/track", "collect_path": "/track"}, "client path"),
        ({"max_body_bytes": 0}, "collect limits"),
        ({"max_items": 10_001}, "collect limits"),
        ({"max_items": -1}, "max_items"),
        ({"cookie_name": "\udc80"}, "cookie_name"),
    ],
)
def test_bad_values_raise_invalid_argument(options: dict[str, Any], argument: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        Web(**options)
    assert (e.value.code, e.value.argument) == ("INVALID_ARGUMENT", argument)
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize(
    "options",
    [
        {"same_site": 1},
        {"secure": 1},
        {"secure": b"auto"},
        {"track_views": 1},
        {"max_items": "100"},
        {"max_items": True},
        {"cookie_max_age": "60"},
        {"skip_paths": "/health"},
        {"skip_paths": [1]},
        {"cookie_name": b"sojourn"},
        {"collect_path": 0},
        {"client_path": 0},
        {"client_path": b"/c.js"},
        {"no_such_option": 1},
    ],
)
def test_values_of_the_wrong_type_raise_type_error(options: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        Web(**options)


def test_route_by_path_and_filter() -> None:
    w = Web()
    assert w.route("GET", "/pricing", user_agent=BROWSER) is Route.PAGE
    assert w.route("POST", COLLECT + "?v=1") is Route.COLLECT
    assert w.route("GET", COLLECT) is Route.COLLECT, "the endpoint answers every method (405)"
    assert w.route("GET", "/static/app.js") is Route.SKIP
    assert w.route("GET", CLIENT, user_agent=BROWSER) is Route.CLIENT
    assert w.route("get", CLIENT + "?v=2", user_agent="Googlebot/2.1") is Route.CLIENT, "before the filter"
    assert w.route("POST", CLIENT, user_agent=BROWSER) is Route.SKIP, "only a GET: else a .js file, skipped"
    assert Web(client_path="/c").route("POST", "/c", user_agent=BROWSER) is Route.PAGE
    assert Web(client_path="/c").route("GET", "/c", user_agent=BROWSER) is Route.CLIENT
    assert str(Route.CLIENT) == "client" and Route("client") is Route.CLIENT
    assert w.route("GET", "/", user_agent="Googlebot/2.1") is Route.SKIP
    assert str(Route.PAGE) == "page" and Route("skip") is Route.SKIP
    nothing = Web(skip_paths=[], skip_prefixes=[], skip_extensions=[], bot_words=[])
    assert nothing.route("GET", "/static/app.js", user_agent="Googlebot/2.1") is Route.PAGE
    with pytest.raises(TypeError):
        w.route("GET", b"/")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        w.route("GET", "/", https=1)  # type: ignore[arg-type]


def test_visit_gives_a_frozen_visit(t: sojourn.Tracker) -> None:
    w = Web(track_views=True)
    v = w.visit(t, "GET", "/", user_agent=BROWSER)
    assert isinstance(v, sojourn.Visit) and v.outcome is Outcome.STARTED
    assert isinstance(v.session, sojourn.Session) and t.peek(v.session.id) == v.session
    assert v.tick is not None and v.tick.view_sequence == 1
    assert v.set_cookie == f"sojourn={v.session.token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"
    with pytest.raises(AttributeError):
        v.outcome = Outcome.EXISTING  # type: ignore[misc]
    again = w.visit(t, "post", "/", cookie=v.set_cookie.split(";")[0], https=True)
    assert (again.outcome, again.session.id, again.tick) == (Outcome.EXISTING, v.session.id, None)
    assert again.set_cookie.endswith("; Secure")
    assert again != v and again == again
    with pytest.raises(TypeError):
        hash(again)
    assert repr(again).startswith(f"Visit(session_id='{v.session.id}', outcome='existing', tick=None, ")
    by_header = w.visit(t, "GET", "/", token_header=v.session.token)
    assert by_header.session.id == v.session.id
    with pytest.raises(TypeError):
        w.visit(t.stats(), "GET", "/")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        w.visit(t, "GET", "/", cookie=1)  # type: ignore[arg-type]


def test_collect_gives_a_frozen_reply(t: sojourn.Tracker) -> None:
    w = Web(max_items=2)
    first = w.visit(t, "GET", "/")
    cookie = first.set_cookie.split(";")[0]
    r = w.collect(t, "POST", COLLECT, b'{"items": [{"kind": "view"}, {"kind": "event"}]}', cookie=cookie)
    assert isinstance(r, sojourn.Reply) and r.status == 200
    assert isinstance(r.body, bytes)
    body = json.loads(r.body)
    assert body["outcome"] == "existing" and body["session"]["id"] == first.session.id
    assert [tick["sequence"] for tick in body["ticks"]] == [1, 2]
    assert r.set_cookie == first.set_cookie
    r2 = w.collect(t, "POST", COLLECT, bytearray(b'{"items": [{"kind": "view"}] }'), cookie=cookie)
    assert json.loads(r2.body)["ticks"][0]["sequence"] == 3
    refused = w.collect(t, "POST", COLLECT, b'{"items": [{"kind": "view"}, {"kind": "view"}, {"kind": "view"}]}')
    assert (refused.status, refused.set_cookie) == (400, None)
    assert json.loads(refused.body)["error"]["code"] == "TOO_MANY_ITEMS"
    assert repr(refused).startswith("Reply(status=400, body=b'{\"error\"")
    with pytest.raises(AttributeError):
        refused.status = 200  # type: ignore[misc]
    with pytest.raises(TypeError):
        w.collect(t, "POST", COLLECT, '{"items": []}')  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        w.collect(t, "POST", COLLECT, memoryview(b"{}"))  # type: ignore[arg-type]
    assert t.peek(first.session.id).sequence == 3  # type: ignore[union-attr]


def test_what_a_client_sends_is_never_an_error(t: sojourn.Tracker) -> None:
    """Text that is no Unicode (a lone surrogate) in any part of a request
    is read as it can be: a bad token starts a session."""
    w = Web()
    v = w.visit(t, "G\udc80T", "/\udc80", cookie="sojourn=\udc80", token_header="\ud800", user_agent="\udfff")
    assert v.outcome is Outcome.STARTED
    r = w.collect(t, "POST", COLLECT, b'{"token": "not-a-token", "items": []}', cookie="\udc80=\udc80")
    assert r.status == 200 and json.loads(r.body)["outcome"] == "started"
    assert t.stats().rejected == 2


def test_a_kind_of_many_byte_characters_is_refused_not_a_panic(t: sojourn.Tracker) -> None:
    """The core cut the text it quotes back inside a character: a panic
    (found by the collect fuzz target)."""
    w = Web()
    for body in (
        json.dumps({"items": [{"kind": "v" + "é" * 40}]}, ensure_ascii=False).encode(),
        json.dumps({"view_sequence": "é" * 200, "items": []}, ensure_ascii=False).encode(),
    ):
        r = w.collect(t, "POST", COLLECT, body)
        assert r.status == 400 and json.loads(r.body)["error"]["code"] == "INVALID_BODY"
    assert t.stats().started == 0


def _counting() -> tuple[Callable[[], int], Callable[[], None]]:
    count = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()

    def stopped() -> None:
        stop.set()
        thread.join()

    return (lambda: count[0]), stopped


@pytest.mark.parametrize("call", ["visit", "collect"])
def test_visit_and_collect_let_the_gil_go_while_redis_answers(call: str) -> None:
    """Redis paused for 0.4 s: the call waits that long, and a Python
    thread runs meanwhile (it would not move if the call kept the GIL)."""
    url = redis_url()
    w = Web()
    with sojourn.Tracker(
        secret=SECRET, sweep_interval=0, redis_url=url, key_prefix=unique_prefix("web-gil"), store_timeout=5
    ) as t:
        cookie = w.visit(t, "GET", "/").set_cookie.split(";")[0]
        calls: dict[str, Callable[[], object]] = {
            "visit": lambda: w.visit(t, "GET", "/", cookie=cookie),
            "collect": lambda: w.collect(t, "POST", COLLECT, b'{"items": [{"kind": "view"}]}', cookie=cookie),
        }
        count, stop = _counting()
        try:
            pause_redis(url, 0.4)
            before, began = count(), time.monotonic()
            calls[call]()
            took, during = time.monotonic() - began, count() - before
        finally:
            stop()
    assert took > 0.3, f"the call did not wait on the paused Redis ({took:.2f} s)"
    assert during > 1_000, f"the other thread counted {during} while the call waited {took:.2f} s"


def test_the_classes_are_the_packages() -> None:
    for cls in (sojourn.Web, sojourn.Visit, sojourn.Reply, sojourn.RequestSession, sojourn.AsyncRequestSession):
        assert cls.__module__ == "sojourn", cls
    for name in ("Web", "Visit", "Reply", "Route", "RequestSession", "AsyncRequestSession", "WEB_DEFAULTS"):
        assert name in sojourn.__all__
    assert "sojourn.WEB_DEFAULTS" in (sojourn.Web.__doc__ or "")


def test_the_browser_client_is_the_cores() -> None:
    text = sojourn.BROWSER_CLIENT
    assert isinstance(text, str) and "export class Sojourn" in text
    assert "/sojourn/collect" in text, "its default endpoint, the core's"
    assert sojourn.BROWSER_CLIENT_TYPE == "text/javascript; charset=utf-8"
    assert sojourn._native.BROWSER_CLIENT is text
    assert {"BROWSER_CLIENT", "BROWSER_CLIENT_TYPE"} <= set(sojourn.__all__)
    source = Path(__file__).resolve().parents[2] / "node" / "browser" / "sojourn.js"
    assert text == source.read_text(encoding="utf-8"), "the one text, node/browser/sojourn.js"
