"""The web middlewares, the same tests on every framework: Starlette and
FastAPI (``sojourn.asgi``), Flask (``sojourn.wsgi``), Django on WSGI and on
ASGI (``sojourn.django``), each served by a real server on a loopback port
(uvicorn; werkzeug's threaded server) and asked by a real HTTP client
(httpx): first and return visits, garbage and forged cookies, a forgotten
session revived with the client's counters, the collect endpoint and its
refusals, the filter, cookie options and ``Secure`` over TLS, the API on
the request, concurrent requests of one visitor, and a store that
fails."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import sojourn
from sojourn.testing import FaultSwitch
from support import wait_until
from web_apps import BROWSER, FRAMEWORKS, Servers, Tls, set_cookies, skip_under, tracker

COLLECT = sojourn.WEB_DEFAULTS["collect_path"]
CLIENT = sojourn.WEB_DEFAULTS["client_path"]
RETENTION = int(sojourn.DEFAULTS["retention"].total_seconds())


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client(**options: Any) -> httpx.Client:
    """A client with a cookie jar, as a browser is."""
    return httpx.Client(headers={"User-Agent": BROWSER}, timeout=10, **options)


def page(response: httpx.Response) -> Any:
    """What the middleware put on the request, as the application saw it."""
    assert response.status_code == 200, response.text
    return response.json()["sojourn"]


def test_a_first_visit_gets_a_session_and_its_cookie(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t)
    with client() as c:
        r = c.get(url + "/pricing")
    s = page(r)
    assert s["outcome"] == "started" and s["api"] == "RequestSession"
    assert s["tick"] is None, "views are the browser client's by default"
    cookies = set_cookies(r)
    assert cookies["sojourn"] == f"sojourn={s['token']}; Path=/; Max-Age={RETENTION}; HttpOnly; SameSite=Lax"
    assert cookies["theme"].startswith("theme=dark"), "the application's own cookie is kept"
    live = t.peek(s["id"])
    assert live is not None and live.token == s["token"]
    assert t.stats().started == 1


def test_a_return_visit_finds_its_session(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t)
    with client() as c:
        first = page(c.get(url + "/"))
        r = c.get(url + "/pricing")
    again = page(r)
    assert (again["outcome"], again["id"], again["token"]) == ("existing", first["id"], first["token"])
    assert set_cookies(r)["sojourn"].startswith(f"sojourn={first['token']};"), "the cookie is refreshed"
    # An API client without cookies sends its token in the header.
    with httpx.Client() as api:
        by_header = page(api.get(url + "/api/cart", headers={"Sojourn-Token": first["token"]}))
    assert (by_header["outcome"], by_header["id"]) == ("existing", first["id"])
    stats = t.stats()
    assert (stats.started, stats.resumed, stats.live) == (1, 2, 1)


def test_garbage_and_forged_cookies_start_a_new_session_never_an_error(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t)
    other = sojourn.Tracker(secret="another secret, sixteen bytes", sweep_interval=0)
    real = t.start()
    forged = [
        f"sojourn={other.start().token}",  # signed with another key
        f"sojourn={real.id}",  # a live id without its signature
        f"sojourn={real.id}.{'A' * 43}",  # with a made-up one
        "sojourn=garbage",
        'sojourn="quoted;garbage"',
        "sojourn=" + "x" * 4000,
    ]
    empty = ["sojourn=", "sojourn", "=; ;;", "sojourn_hints=1.2"]
    with httpx.Client(headers={"User-Agent": BROWSER}) as c:
        for cookie in [*forged, *empty]:
            s = page(c.get(url + "/", headers={"Cookie": cookie}))
            assert s["outcome"] == "started" and s["id"] != real.id, cookie
            c.cookies.clear()
        # Bytes that are no text at all, in the cookie and the token header.
        s = page(c.get(url + "/", headers={"Cookie": b"sojourn=\xff\xfe\x80", "Sojourn-Token": b"\xc3\x28"}))
        assert s["outcome"] == "started"
    stats = t.stats()
    assert stats.rejected == len(forged) + 1
    assert stats.started == 1 + len(forged) + len(empty) + 1
    assert t.peek(real.id) == real, "the forged requests did not touch the real session"


def test_a_forgotten_session_comes_back_with_the_clients_counters(framework: str, servers: Servers) -> None:
    """A restart without a snapshot: each server is a new process with an
    empty tracker (the same secret); the client's counters come back with
    the hints cookie of a page, or in the body of a beacon."""
    before, after, later = tracker(), tracker(), tracker()
    url_before = servers.start(framework, before)
    url_after = servers.start(framework, after)
    url_later = servers.start(framework, later)
    with httpx.Client(headers={"User-Agent": BROWSER}) as c:
        first = page(c.get(url_before + "/"))
        cookie = f"sojourn={first['token']}; sojourn_hints=5.2"
        back = page(c.get(url_after + "/pricing", headers={"Cookie": cookie}))
        assert (back["outcome"], back["id"]) == ("revived", first["id"])
        assert (back["view_sequence"], back["event_sequence"]) == (5, 2)
        revived = after.peek(first["id"])
        assert revived is not None and (revived.view_sequence, revived.event_sequence, revived.revivals) == (5, 2, 1)
        # A beacon: no cookie, the token and the counters in the body.
        c.cookies.clear()
        beacon = {"token": first["token"], "view_sequence": 7, "event_sequence": 3, "items": [{"kind": "view"}]}
        r = c.post(url_later + COLLECT, content=json.dumps(beacon), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    reply = r.json()
    assert (reply["outcome"], reply["session"]["id"]) == ("revived", first["id"])
    assert reply["ticks"] == [{"view_sequence": 8, "event_sequence": 3, "sequence": 11}]
    assert set_cookies(r)["sojourn"].startswith(f"sojourn={first['token']};")
    assert later.peek(first["id"]).view_sequence == 8  # type: ignore[union-attr]


def test_the_collect_endpoint_tracks_a_batch(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t)
    with client() as c:
        first = page(c.get(url + "/"))
        batch = {"items": [{"kind": "view"}, {"kind": "event", "name": "signup"}, {"kind": "view"}], "sent_at": 1}
        r = c.post(url + COLLECT, json=batch)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    reply = r.json()
    assert (reply["outcome"], reply["session"]["id"]) == ("existing", first["id"])
    assert [(tick["view_sequence"], tick["event_sequence"]) for tick in reply["ticks"]] == [(1, 0), (1, 1), (2, 1)]
    assert set_cookies(r)["sojourn"].startswith(f"sojourn={first['token']};")
    live = t.peek(first["id"])
    assert live is not None and (live.view_sequence, live.event_sequence) == (2, 1)
    assert (t.stats().views, t.stats().events) == (2, 1)


def test_the_collect_endpoint_refuses_what_it_cannot_take_changing_nothing(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t)
    most = sojourn.WEB_DEFAULTS["max_body_bytes"]
    too_many = json.dumps({"items": [{"kind": "view"}] * (sojourn.WEB_DEFAULTS["max_items"] + 1)})
    cases: list[tuple[str, bytes, int, str]] = [
        ("GET", b"", 405, "METHOD_NOT_ALLOWED"),
        ("PUT", b'{"items": []}', 405, "METHOD_NOT_ALLOWED"),
        ("POST", b"", 400, "INVALID_BODY"),
        ("POST", b"nope", 400, "INVALID_BODY"),
        ("POST", b'{"items": [{"kind": "tap"}]}', 400, "INVALID_BODY"),
        ("POST", b'{"items": [], "view_sequence": -1}', 400, "INVALID_BODY"),
        ("POST", too_many.encode(), 400, "TOO_MANY_ITEMS"),
        ("POST", b'{"items": []}' + b" " * most, 413, "BODY_TOO_LARGE"),
    ]
    with client() as c:
        first = page(c.get(url + "/"))
        session, stats = t.peek(first["id"]), t.stats()
        for method, body, status, code in cases:
            r = c.request(method, url + COLLECT, content=body)
            assert (r.status_code, r.headers["content-type"]) == (status, "application/json"), (method, body[:40])
            assert r.json()["error"]["code"] == code
            assert r.json()["error"]["message"]
            assert "sojourn" not in set_cookies(r)
    assert t.peek(first["id"]) == session, "the session was not touched"
    assert t.stats() == stats, "nothing was started, resumed or tracked"


def test_a_body_far_over_the_bound_is_refused_at_once(framework: str, servers: Servers) -> None:
    """8 MiB against a bound of 1 KiB: 413 without waiting for the rest
    (but on Django's ASGI handler, which reads a whole body before any
    middleware), and the server goes on."""
    t = tracker()
    url = servers.start(framework, t, max_body_bytes=1024)
    with client() as c:
        r = c.post(url + COLLECT, content=b" " * (8 << 20))
        assert (r.status_code, r.json()["error"]["code"]) == (413, "BODY_TOO_LARGE")
        assert c.post(url + COLLECT, content=b'{"items": []}' + b" " * 1011).status_code == 200, "1024 bytes"
        assert page(c.get(url + "/"))["outcome"] == "existing"
    assert t.stats().started == 1


def test_the_filter_and_skip_make_no_session(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t, skip=skip_under(framework, "/admin/"))
    requests = [
        ("/static/app.js", BROWSER),
        ("/assets/logo.png?v=3", BROWSER),
        ("/main.CSS", BROWSER),
        ("/healthz", BROWSER),
        ("/favicon.ico", BROWSER),
        ("/robots.txt", BROWSER),
        ("/pricing", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
        ("/pricing", "facebookexternalhit/1.1"),
        ("/admin/users", BROWSER),
    ]
    with httpx.Client() as c:
        for path, agent in requests:
            r = c.get(url + path, headers={"User-Agent": agent})
            assert page(r) is None, path
            assert "sojourn" not in set_cookies(r), path
            assert "theme" in set_cookies(r), "the application ran"
        assert t.count() == 0 and t.stats().started == 0
        # Pages of browsers, headless ones too, still make sessions.
        headless = BROWSER.replace("Chrome/", "HeadlessChrome/")
        assert page(c.get(url + "/healthz/report", headers={"User-Agent": headless}))["outcome"] == "started"
    assert t.count() == 1


def served_client(r: httpx.Response) -> bool:
    """Whether the response is the browser client, as the middleware
    serves it: no cookie at all (the application's ``theme`` neither)."""
    if r.status_code != 200 or r.headers.get("content-type") != sojourn.BROWSER_CLIENT_TYPE:
        return False
    assert r.content == sojourn.BROWSER_CLIENT.encode() and "export class Sojourn" in r.text
    assert r.headers["cache-control"] == "public, max-age=3600"
    assert r.headers["content-length"] == str(len(r.content))
    assert set_cookies(r) == {}, "no session, no cookie"
    return True


def test_the_browser_client_is_served_with_no_session(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t)
    assert CLIENT == "/sojourn/browser.js"
    with client() as c:
        assert served_client(c.get(url + CLIENT))
        assert served_client(c.get(url + CLIENT + "?v=1", headers={"User-Agent": "Googlebot/2.1"}))
        assert t.count() == 0 and t.stats().started == 0, "no session started"
        # A visitor with a session: neither touched nor given its cookie.
        first = page(c.get(url + "/"))
        assert served_client(c.get(url + CLIENT))
        stats = t.stats()
        assert (stats.started, stats.resumed) == (1, 0)
        live = t.peek(first["id"])
        assert live is not None and live.sequence == 0
        # Only a GET: any other method goes on to the application (a .js
        # file, skipped by the filter).
        posted = c.post(url + CLIENT)
        assert not served_client(posted) and page(posted) is None and "theme" in set_cookies(posted)


def test_client_path_none_leaves_the_path_to_the_application(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t, client_path=None)
    with client() as c:
        r = c.get(url + CLIENT)
    assert not served_client(r)
    assert page(r) is None and "theme" in set_cookies(r), "the application's own route, the filter skipping it"
    assert t.stats().started == 0


def test_a_custom_client_path(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t, client_path="/analytics/client")
    with client() as c:
        assert served_client(c.get(url + "/analytics/client"))
        assert t.stats().started == 0
        moved = c.get(url + CLIENT)
        assert not served_client(moved) and page(moved) is None, "the default path is the application's"
        assert page(c.get(url + "/analytics/client/x"))["outcome"] == "started", "only the path itself"


def test_an_https_request_gets_a_secure_cookie(framework: str, servers: Servers, tls: Tls) -> None:
    t = tracker()
    url = servers.start(framework, t, tls=tls)
    assert url.startswith("https://")
    with client(verify=tls.client_context()) as c:
        r = c.get(url + "/")
        first = page(r)
        cookie = set_cookies(r)["sojourn"]
        assert cookie.endswith("; HttpOnly; SameSite=Lax; Secure"), cookie
        again = page(c.get(url + "/pricing"))
    assert (again["outcome"], again["id"]) == ("existing", first["id"]), "the jar sent it back over HTTPS"


def test_cookie_options_reach_the_cookie(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(
        framework,
        t,
        cookie_name="sid",
        cookie_path="/",
        cookie_domain="example.test",
        same_site="strict",
        secure=True,
        cookie_max_age=600,
        track_views=True,
        collect_path="/analytics/batch",
    )
    with httpx.Client(headers={"User-Agent": BROWSER}) as c:
        r = c.get(url + "/pricing")
        s = page(r)
        assert set_cookies(r)["sid"] == (
            f"sid={s['token']}; Path=/; Max-Age=600; Domain=example.test; HttpOnly; SameSite=Strict; Secure"
        )
        assert s["tick"] == {"view_sequence": 1, "event_sequence": 0, "sequence": 1}, "track_views counts a GET"
        cookie = {"Cookie": f"sid={s['token']}"}
        posted = page(c.post(url + "/pricing", headers=cookie))
        assert (posted["id"], posted["tick"]) == (s["id"], None), "and only a GET"
        # The endpoint moved: the old path is a page, the new one answers.
        assert page(c.post(url + COLLECT, headers=cookie))["id"] == s["id"]
        r = c.post(url + "/analytics/batch", json={"items": [{"kind": "view"}]}, headers=cookie)
        assert r.status_code == 200 and r.json()["ticks"][0]["view_sequence"] == 2


def test_identify_and_track_on_the_request(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t)
    with client() as c:
        first = page(c.get(url + "/"))
        r = c.post(url + "/login").json()
        assert (r["sojourn"]["id"], r["user_id"]) == (first["id"], "user-1")
        r = c.post(url + "/cart/event").json()
        assert r["tracked"] == {"view_sequence": 0, "event_sequence": 1, "sequence": 1}
    live = t.peek(first["id"])
    assert live is not None and (live.user_id, live.event_sequence) == ("user-1", 1)
    assert t.count("user-1") == 1


def test_concurrent_requests_of_one_visitor_share_one_session(framework: str, servers: Servers) -> None:
    t = tracker()
    url = servers.start(framework, t)
    n = 12
    with client() as c:
        first = page(c.get(url + "/"))

        def beacon(_: int) -> httpx.Response:
            return c.post(url + COLLECT, json={"items": [{"kind": "view"}]})

        def event(_: int) -> httpx.Response:
            return c.post(url + "/event")

        with ThreadPoolExecutor(8) as pool:
            beacons = list(pool.map(beacon, range(n)))
            events = list(pool.map(event, range(n)))
            both = list(pool.map(lambda i: (beacon if i % 2 else event)(i), range(2 * n)))
    replies = [r.json() for r in beacons + [r for i, r in enumerate(both) if i % 2]]
    tracked = [r.json() for r in events + [r for i, r in enumerate(both) if not i % 2]]
    assert {r["session"]["id"] for r in replies} | {r["sojourn"]["id"] for r in tracked} == {first["id"]}
    assert sorted(r["ticks"][0]["view_sequence"] for r in replies) == list(range(1, 2 * n + 1)), "each view once"
    assert sorted(r["tracked"]["event_sequence"] for r in tracked) == list(range(1, 2 * n + 1)), "each event once"
    ticks = [r["ticks"][0]["sequence"] for r in replies] + [r["tracked"]["sequence"] for r in tracked]
    assert sorted(ticks) == list(range(1, 4 * n + 1)), "one order over both"
    assert t.stats().started == 1 and t.count() == 1


def test_a_failing_store_is_an_error_of_the_server_and_a_503_of_the_collect_endpoint(
    framework: str, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    switch = FaultSwitch()
    t = tracker(fault_switch=switch)
    url = servers.start(framework, t)
    with client() as c:
        first = page(c.get(url + "/"))
        switch.fail(True)
        try:
            with caplog.at_level(logging.ERROR):
                r = c.get(url + "/pricing")
                assert r.status_code == 500 and "sojourn" not in set_cookies(r)
                # Logged by the server as the response goes (ASGI: after it).
                wait_until(lambda: "StoreError: store error at faulty://sojourn" in caplog.text, timeout=5)
            r = c.post(url + COLLECT, json={"items": [{"kind": "view"}]})
            assert r.status_code == 503 and r.json()["error"]["code"] == "STORE_ERROR"
            assert "sojourn" not in set_cookies(r)
        finally:
            switch.fail(False)
        again = page(c.get(url + "/"))
    assert (again["outcome"], again["id"]) == ("existing", first["id"])
    assert t.peek(first["id"]).view_sequence == 0  # type: ignore[union-attr]
