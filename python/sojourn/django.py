"""sojourn for Django, in sync (WSGI) and async (ASGI) stacks.

In ``settings.py``::

    MIDDLEWARE = [
        "sojourn.django.SojournMiddleware",
        ...
    ]
    SOJOURN = {"tracker": "mysite.tracking.tracker"}

``SOJOURN["tracker"]`` is a :class:`sojourn.Tracker` or a
:class:`sojourn.AsyncTracker`, or the dotted path of one; ``"skip"`` an
optional predicate on the request (or its dotted path) for what else
should make no session; every other key an option of :class:`sojourn.Web`
(their defaults in ``sojourn.WEB_DEFAULTS``).

On each request:

- the collect endpoint (``POST /sojourn/collect`` by default) is answered
  by the middleware, before URL routing and views: its body is read up to
  ``max_body_bytes`` and one byte more (under WSGI the rest is not read;
  Django's ASGI handler has read the whole body before any middleware),
  and the JSON reply of :meth:`sojourn.Web.collect` is sent with the
  cookie;
- the browser client (``GET /sojourn/browser.js`` by default,
  ``client_path``) is answered by the middleware too:
  ``sojourn.BROWSER_CLIENT``, cached for an hour, with no session and no
  cookie;
- a request the filter skips (static files, health checks, robots), or
  that ``skip(request)`` says to skip, is passed on untouched, with
  ``request.sojourn`` set to ``None``;
- any other is a page: its session is resumed (:meth:`sojourn.Web.visit`)
  and exposed as ``request.sojourn``, and the response gets the cookie.
  If the store fails, the ``StoreError`` is raised as a view's error
  would be (Django answers ``500``, after ``got_request_exception``); the
  collect endpoint answers ``503`` itself.

``request.sojourn`` is a :class:`sojourn.AsyncRequestSession` (``await``
its ``track`` and ``identify``) when the stack is async and the tracker an
``AsyncTracker``; a :class:`sojourn.RequestSession` otherwise (in a sync
stack an ``AsyncTracker``'s underlying ``Tracker`` is used: Django's test
``Client`` runs the sync stack, its ``AsyncClient`` the async one). In an
async stack a plain ``Tracker`` on Redis runs in a thread.

HTTPS is ``request.is_secure()``: behind a proxy, set
``SECURE_PROXY_SSL_HEADER``, and the cookie gets ``Secure``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Container
from http.cookies import Morsel
from typing import Any, Callable, Optional, TypeVar

from sojourn import BROWSER_CLIENT, BROWSER_CLIENT_TYPE, Route
from sojourn._native import Reply, Tracker, Visit, Web
from sojourn._web import AsyncRequestSession, RequestSession

__all__ = ["SojournMiddleware"]

_T = TypeVar("_T")
# Django has no type information: its objects are Any here.
_Request = Any
_Response = Any


class SojournMiddleware:
    """The Django middleware, configured by ``settings.SOJOURN`` (see the
    module's documentation)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[_Request], Any]) -> None:
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction
        from django.conf import settings  # type: ignore[import-untyped]
        from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
        from django.utils.module_loading import import_string  # type: ignore[import-untyped]

        from sojourn._async import AsyncTracker

        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        config = dict(getattr(settings, "SOJOURN", None) or {})
        tracker = config.pop("tracker", None)
        if isinstance(tracker, str):
            tracker = import_string(tracker)
        skip = config.pop("skip", None)
        if isinstance(skip, str):
            skip = import_string(skip)
        if isinstance(tracker, AsyncTracker):
            self._async: Optional[AsyncTracker] = tracker if self.async_mode else None
            self._tracker: Tracker = tracker.tracker
        elif isinstance(tracker, Tracker):
            self._async = None
            self._tracker = tracker
        else:
            raise ImproperlyConfigured(
                "settings.SOJOURN['tracker'] must be a sojourn.Tracker or AsyncTracker, "
                f"or the dotted path of one, not {type(tracker).__name__}"
            )
        if skip is not None and not callable(skip):
            raise ImproperlyConfigured(f"settings.SOJOURN['skip'] must be callable, not {type(skip).__name__}")
        self._skip: Optional[Callable[[_Request], bool]] = skip
        #: The rules, with the options of ``settings.SOJOURN``.
        self.web = Web(**config)
        self._token_key = "HTTP_" + self.web.token_header.upper().replace("-", "_")
        self._limit = self.web.max_body_bytes

    @property
    def tracker(self) -> Tracker:
        """The tracker the sessions are in (an ``AsyncTracker``'s own)."""
        return self._tracker

    def _parts(self, request: _Request) -> dict[str, Any]:
        meta = request.META
        return {
            "https": bool(request.is_secure()),
            "cookie": meta.get("HTTP_COOKIE"),
            "token_header": meta.get(self._token_key),
            "user_agent": meta.get("HTTP_USER_AGENT"),
        }

    def _skips(self, route: Route, request: _Request) -> bool:
        return route is Route.SKIP or (self._skip is not None and bool(self._skip(request)))

    # The sync stack.

    def __call__(self, request: _Request) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        method, path, parts = str(request.method), str(request.path_info), self._parts(request)
        route = self.web.route(method, path, **parts)
        if route is Route.CLIENT:
            return _client()
        if route is Route.COLLECT:
            body = request.read(self._limit + 1)
            return self._reply(self.web.collect(self._tracker, method, path, body, **parts))
        if self._skips(route, request):
            request.sojourn = None
            return self.get_response(request)
        visit = self.web.visit(self._tracker, method, path, **parts)
        request.sojourn = RequestSession(self._tracker, visit)
        return self._with_cookie(self.get_response(request), visit)

    # The async stack.

    async def _call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        if self._async is not None:
            return await self._async._run(fn, *args, **kwargs)
        if self._tracker.store_is_remote:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))
        return fn(*args, **kwargs)

    async def __acall__(self, request: _Request) -> Any:
        method, path, parts = str(request.method), str(request.path_info), self._parts(request)
        route = self.web.route(method, path, **parts)
        if route is Route.CLIENT:
            return _client()
        if route is Route.COLLECT:
            body = request.read(self._limit + 1)
            return self._reply(await self._call(self.web.collect, self._tracker, method, path, body, **parts))
        if self._skips(route, request):
            request.sojourn = None
            return await self.get_response(request)
        visit = await self._call(self.web.visit, self._tracker, method, path, **parts)
        if self._async is not None:
            request.sojourn = AsyncRequestSession(self._async, visit)
        else:
            request.sojourn = RequestSession(self._tracker, visit)
        return self._with_cookie(await self.get_response(request), visit)

    def _with_cookie(self, response: _Response, visit: Visit) -> _Response:
        # Among the response's cookies, so that the application's own
        # stay as they are; under the session cookie's name, so that a
        # cookie of that name set by a view gives way.
        response.cookies[self.web.cookie_name] = _SetCookie(visit.set_cookie)
        return response

    def _reply(self, reply: Reply) -> _Response:
        from django.http import HttpResponse  # type: ignore[import-untyped]

        response = HttpResponse(reply.body, status=reply.status, content_type="application/json")
        if reply.set_cookie is not None:
            response.cookies[self.web.cookie_name] = _SetCookie(reply.set_cookie)
        return response


def _client() -> _Response:
    """The browser client's response: no session, no cookie."""
    from django.http import HttpResponse

    response = HttpResponse(BROWSER_CLIENT, content_type=BROWSER_CLIENT_TYPE)
    response["Content-Length"] = str(len(response.content))
    response["Cache-Control"] = "public, max-age=3600"
    return response


class _SetCookie(Morsel[str]):
    """A ``Set-Cookie`` value made by the core, as a cookie of Django's
    response (``response.cookies``), written out as it is."""

    def __init__(self, header: str) -> None:
        super().__init__()
        self._header = header

    def OutputString(self, attrs: Optional[Container[str]] = None) -> str:  # noqa: N802
        return self._header

    def copy(self) -> _SetCookie:
        return _SetCookie(self._header)

    def __reduce__(self) -> tuple[Callable[[str], _SetCookie], tuple[str]]:
        return (_SetCookie, (self._header,))
