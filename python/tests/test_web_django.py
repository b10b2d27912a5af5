"""What is particular to ``sojourn.django``: configured from
``settings.SOJOURN`` (objects or dotted paths), an ``AsyncTracker`` in the
sync and the async stack, what it refuses to be made with, and the cookie
it puts among the response's."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import httpx
import pytest

import web_apps
from sojourn import InvalidArgument
from sojourn.django import _SetCookie
from web_apps import BROWSER, Servers, async_tracker, django_app, set_cookies, tracker

#: The tracker and the skip predicate that the dotted paths of a test's
#: settings name.
TRACKER: Any = None


def skip_admin(request: Any) -> bool:
    return str(request.path).startswith("/admin/")


def test_the_settings_name_the_tracker_and_skip_by_dotted_path(servers: Servers) -> None:
    global TRACKER
    TRACKER = t = tracker()
    url = servers.werkzeug(
        django_app(f"{__name__}.TRACKER", asgi=False, skip=f"{__name__}.skip_admin", cookie_name="visit")
    )
    with httpx.Client(headers={"User-Agent": BROWSER}) as c:
        r = c.get(url + "/pricing")
        first = r.json()["sojourn"]
        assert set_cookies(r)["visit"].startswith(f"visit={first['token']};")
        assert c.get(url + "/admin/users").json()["sojourn"] is None
        assert c.get(url + "/").json()["sojourn"]["id"] == first["id"]
    assert t.count() == 1


@pytest.mark.parametrize("asgi", [False, True], ids=["sync", "async"])
def test_an_async_tracker_in_either_stack(asgi: bool, servers: Servers) -> None:
    """The async stack gives the awaitable API; the sync one (WSGI, and
    Django's test Client) the plain API over the AsyncTracker's own
    Tracker: one set of sessions either way."""
    t = async_tracker()
    handler = django_app(t, asgi=asgi)
    url = servers.uvicorn(handler) if asgi else servers.werkzeug(handler)
    with httpx.Client(headers={"User-Agent": BROWSER}) as c:
        first = c.get(url + "/").json()["sojourn"]
        assert first["api"] == ("AsyncRequestSession" if asgi else "RequestSession")
        assert c.post(url + "/event").json()["tracked"]["event_sequence"] == 1
    live = asyncio.run(t.peek(first["id"]))
    assert live is not None and live.event_sequence == 1


def test_what_the_middleware_refuses_to_be_made_with() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="must be a sojourn.Tracker or AsyncTracker"):
        django_app(None, asgi=False)
    with pytest.raises(ImproperlyConfigured, match="not int"):
        django_app(123, asgi=True)
    with pytest.raises(ImportError):
        django_app(f"{__name__}.NO_SUCH_TRACKER", asgi=False)
    with pytest.raises(ImproperlyConfigured, match="skip"):
        django_app(tracker(), asgi=False, skip=42)
    with pytest.raises(InvalidArgument) as e:
        django_app(tracker(), asgi=False, cookie_name="a b")
    assert e.value.argument == "cookie name"
    with pytest.raises(TypeError):
        django_app(tracker(), asgi=False, cookie="sojourn")


def test_the_cookie_is_one_of_the_responses_and_survives_a_copy_or_a_pickle() -> None:
    """Django's cache middleware pickles responses: the cookie comes back
    whole, as written by the core."""
    web_apps._setup_django()
    from django.http import HttpResponse

    header = "sojourn=t.s; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
    cookie = _SetCookie(header)
    assert cookie.OutputString() == header and cookie.output(header="Set-Cookie:") == f"Set-Cookie: {header}"
    assert pickle.loads(pickle.dumps(cookie)).OutputString() == header
    assert cookie.copy().OutputString() == header
    response = HttpResponse("hi")
    response.set_cookie("theme", "dark")
    response.cookies["sojourn"] = cookie
    again = pickle.loads(pickle.dumps(response))
    assert sorted(c.output(header="").strip() for c in again.cookies.values()) == [
        header,
        "theme=dark; Path=/",
    ]
