"""sojourn for ASGI applications: Starlette, FastAPI, or any ASGI app.

::

    app.add_middleware(sojourn.asgi.SojournMiddleware, tracker=tracker)

A pure ASGI middleware (it needs no framework, and streams what it passes
on). On each HTTP request:

- the collect endpoint (``POST /sojourn/collect`` by default) is answered
  here: its body is read up to ``max_body_bytes`` and one byte more (a
  larger one is refused with ``413`` without reading the rest), and the
  JSON reply of :meth:`sojourn.Web.collect` is sent with the cookie;
- the browser client (``GET /sojourn/browser.js`` by default,
  ``client_path``) is answered here: ``sojourn.BROWSER_CLIENT``, cached
  for an hour, with no session and no cookie;
- a request the filter skips (static files, health checks, robots), or
  that ``skip(scope)`` says to skip, is passed on untouched, with
  ``request.state.sojourn`` set to ``None``;
- any other is a page: its session is resumed (:meth:`sojourn.Web.visit`)
  and put in ``scope["state"]["sojourn"]`` (``request.state.sojourn`` in
  Starlette and FastAPI) as a :class:`sojourn.RequestSession` (with a
  :class:`sojourn.Tracker`) or a :class:`sojourn.AsyncRequestSession`
  (with a :class:`sojourn.AsyncTracker`, whose ``track`` and ``identify``
  are awaited); the ``Set-Cookie`` header is added when the response
  starts. If the store fails, the ``StoreError`` is raised to the
  server, as any error of a middleware (the client gets a ``500``); the
  collect endpoint answers ``503`` itself.

With an :class:`~sojourn.AsyncTracker` on Redis, ``visit`` and ``collect``
run in the tracker's own threads and the event loop goes on meanwhile; on
the memory store they run inline (about a microsecond). A plain
:class:`~sojourn.Tracker` on Redis runs them in the loop's default
executor. Lifespan and websocket scopes pass through untouched.

HTTPS is judged from the scope's ``scheme``: behind a proxy, run the
server so that it trusts ``X-Forwarded-Proto`` (uvicorn
``--proxy-headers --forwarded-allow-ips``), and the cookie gets ``Secure``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Optional, TypeVar, Union

from sojourn import BROWSER_CLIENT, BROWSER_CLIENT_TYPE, Route
from sojourn._async import AsyncTracker
from sojourn._native import Tracker, Web
from sojourn._web import AsyncRequestSession, RequestSession

__all__ = ["SojournMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_CLIENT_BODY = BROWSER_CLIENT.encode()
_CLIENT_HEADERS = [
    (b"content-type", BROWSER_CLIENT_TYPE.encode()),
    (b"content-length", str(len(_CLIENT_BODY)).encode()),
    (b"cache-control", b"public, max-age=3600"),
]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_T = TypeVar("_T")


class SojournMiddleware:
    """The ASGI middleware: ``SojournMiddleware(app, tracker=tracker,
    **options)``, or ``app.add_middleware(SojournMiddleware,
    tracker=tracker, **options)`` in Starlette and FastAPI.

    ``tracker`` is a :class:`sojourn.Tracker` or a
    :class:`sojourn.AsyncTracker`; ``skip`` is an optional predicate on the
    ASGI scope for what else should make no session (the filter's lists
    come first); every other keyword is an option of :class:`sojourn.Web`
    (their defaults in ``sojourn.WEB_DEFAULTS``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracker: Union[Tracker, AsyncTracker],
        skip: Optional[Callable[[Scope], bool]] = None,
        **options: Any,
    ) -> None:
        if isinstance(tracker, AsyncTracker):
            self._async: Optional[AsyncTracker] = tracker
            self._tracker = tracker.tracker
        elif isinstance(tracker, Tracker):
            self._async = None
            self._tracker = tracker
        else:
            raise TypeError(f"tracker must be a sojourn.Tracker or AsyncTracker, not {type(tracker).__name__}")
        if skip is not None and not callable(skip):
            raise TypeError(f"skip must be callable, not {type(skip).__name__}")
        self.app = app
        #: The rules, with the options given.
        self.web = Web(**options)
        self._skip = skip
        self._token_header = self.web.token_header.encode("latin-1")
        self._limit = self.web.max_body_bytes

    @property
    def tracker(self) -> Union[Tracker, AsyncTracker]:
        """The tracker given."""
        return self._async if self._async is not None else self._tracker

    async def _call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        if self._async is not None:
            return await self._async._run(fn, *args, **kwargs)
        if self._tracker.store_is_remote:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))
        return fn(*args, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = []
        token = user_agent = None
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies.append(value.decode("latin-1"))
            elif name == self._token_header:
                token = value.decode("latin-1")
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")
        parts: dict[str, Any] = {
            "https": scope.get("scheme") == "https",
            # HTTP/2 may split the cookies over several headers.
            "cookie": "; ".join(cookies) if cookies else None,
            "token_header": token,
            "user_agent": user_agent,
        }
        method: str = scope.get("method", "GET")
        path = _route_path(scope)
        route = self.web.route(method, path, **parts)
        if route is Route.COLLECT:
            await self._collect(method, path, parts, receive, send)
            return
        if route is Route.CLIENT:
            await send({"type": "http.response.start", "status": 200, "headers": list(_CLIENT_HEADERS)})
            await send({"type": "http.response.body", "body": _CLIENT_BODY})
            return
        state = scope.setdefault("state", {})
        if route is Route.SKIP or (self._skip is not None and self._skip(scope)):
            state["sojourn"] = None
            await self.app(scope, receive, send)
            return
        visit = await self._call(self.web.visit, self._tracker, method, path, **parts)
        if self._async is not None:
            state["sojourn"] = AsyncRequestSession(self._async, visit)
        else:
            state["sojourn"] = RequestSession(self._tracker, visit)
        cookie = (b"set-cookie", visit.set_cookie.encode("latin-1"))

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), cookie]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _collect(self, method: str, path: str, parts: dict[str, Any], receive: Receive, send: Send) -> None:
        body = await self._read_body(receive)
        if body is None:
            return  # the client left: nothing to answer, nothing tracked
        reply = await self._call(self.web.collect, self._tracker, method, path, body, **parts)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(reply.body)).encode()),
        ]
        if reply.set_cookie is not None:
            headers.append((b"set-cookie", reply.set_cookie.encode("latin-1")))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def _read_body(self, receive: Receive) -> Optional[bytes]:
        """The body, up to one byte over the bound (the rest is not read);
        ``None`` if the client disconnected first."""
        chunks = []
        size = 0
        while size <= self._limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)[: self._limit + 1]


def _route_path(scope: Scope) -> str:
    """The path within the application: the scope's, without the
    ``root_path`` it is mounted at (as Starlette routes it)."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :] or "/"
    return path
