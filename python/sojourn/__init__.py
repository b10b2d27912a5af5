"""Session tracking for web analytics, over the Rust core of sojourn.

A :class:`Tracker` keeps every live visit in memory with its view and event
counters, its user, timestamps and attributes; ends it after an idle timeout
or a maximum lifetime; reports each ending once to ``on_end``; and when the
server has forgotten a session that a client still holds, brings it back
under the same id with its counters going on.

Trackers are safe to share between threads; calls that visit every session
or wait for another thread release the GIL, and so does every call that
reaches Redis (``redis_url``, ``redis_cluster``), which shares the sessions
between processes. :class:`AsyncTracker` is the same tracker for asyncio
applications, its calls coroutines that never block the event loop. A
tracker on the memory store keeps its sessions across a restart with a
snapshot (``snapshot=`` or ``save()`` and ``load=``). Durations are seconds
(``int``, ``float`` or :class:`datetime.timedelta`), timestamps are aware UTC
:class:`datetime.datetime` objects, attributes are a ``dict`` of JSON
scalars. The exact rules are in ``docs/semantics.md`` of the repository.

In front of a web application, one line of middleware does the rest:
:mod:`sojourn.asgi` (Starlette, FastAPI), :mod:`sojourn.wsgi` (Flask, any
WSGI app) and :mod:`sojourn.django`, over :class:`Web`, the core's rules
for cookies, filtering, the collect endpoint and the browser client
(:data:`BROWSER_CLIENT`, served at ``/sojourn/browser.js``;
``docs/web.md``); each imports its framework only when it is used.
"""

from __future__ import annotations

import enum
import os
import sys
import types
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Mapping, Union

__all__ = [
    "BROWSER_CLIENT",
    "BROWSER_CLIENT_TYPE",
    "DEFAULTS",
    "LIMITS",
    "WEB_DEFAULTS",
    "AsyncRequestSession",
    "AsyncTracker",
    "AttrValue",
    "EndReason",
    "EndedStats",
    "InvalidArgument",
    "InvalidSessionId",
    "Kind",
    "MockClock",
    "Outcome",
    "Reply",
    "RequestSession",
    "Route",
    "Seconds",
    "Session",
    "SessionEnd",
    "SessionIdLike",
    "SessionNotFound",
    "SessionNotRevivable",
    "SnapshotCounts",
    "SnapshotError",
    "SojournError",
    "SojournWarning",
    "Stats",
    "StoreError",
    "Tick",
    "Tracker",
    "Visit",
    "Web",
    "__version__",
]

#: A duration: seconds as an ``int`` or ``float``, or a ``timedelta``.
Seconds = Union[int, float, timedelta]
#: An attribute value: a JSON scalar.
AttrValue = Union[str, int, float, bool, None]
#: A session id: its canonical text, or a ``uuid.UUID``.
SessionIdLike = Union[str, uuid.UUID]


class Outcome(str, enum.Enum):
    """What :meth:`Tracker.resume` found for the token it was given."""

    #: The session was live and was touched.
    EXISTING = "existing"
    #: The session had been forgotten and came back with its id.
    REVIVED = "revived"
    #: A new session was started (linked to the old one when there was one).
    STARTED = "started"

    def __str__(self) -> str:
        return self.value


class Route(str, enum.Enum):
    """What a web middleware does with a request (:meth:`Web.route`)."""

    #: Pass it on untouched: no session, no cookie (the filter skips it).
    SKIP = "skip"
    #: Answer it: the collect endpoint (:meth:`Web.collect`).
    COLLECT = "collect"
    #: A page: resume its session (:meth:`Web.visit`), then pass it on.
    PAGE = "page"
    #: Answer it with the browser client (:data:`BROWSER_CLIENT`, a ``GET``
    #: of ``client_path``): no session, no cookie.
    CLIENT = "client"

    def __str__(self) -> str:
        return self.value


class EndReason(str, enum.Enum):
    """Why a session left the live store."""

    #: No activity for ``idle_timeout``.
    IDLE = "idle"
    #: ``max_lifetime`` reached.
    LIFETIME = "lifetime"
    #: Ended by the application (``end``, ``end_user``, ``end_all``).
    ENDED = "ended"
    #: Pushed out by the ``max_sessions`` bound.
    EVICTED = "evicted"

    def __str__(self) -> str:
        return self.value


class Kind(str, enum.Enum):
    """What :meth:`Tracker.track` counts (the plain strings work as well)."""

    #: A page or screen view.
    VIEW = "view"
    #: Any other event.
    EVENT = "event"

    def __str__(self) -> str:
        return self.value


# The native module makes the errors below with ``cls.__new__(cls, message)``
# and sets their keyword attributes itself, running none of their Python
# code (see ``bindings/python/src/errors.rs``): an ``__init__`` here keeps
# its message and its keywords, and nothing more.


class SojournError(Exception):
    """Base of every error a tracker raises.

    ``code`` is the stable code that Rust and Node report for the same error.
    """

    code: str = "SOJOURN_ERROR"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SessionNotFound(SojournError, KeyError):
    """The operation needs a live session and this id has none.

    Also a ``KeyError``, as a missing key of a mapping would be.
    """

    code = "SESSION_NOT_FOUND"

    def __init__(self, message: str = "", *, session_id: str = "") -> None:
        super().__init__(message)
        #: The id that was looked up.
        self.session_id = session_id


class InvalidSessionId(SojournError, ValueError):
    """The text given as a session id is not a hyphenated UUID (or is nil or max)."""

    code = "INVALID_SESSION_ID"

    def __init__(self, message: str = "", *, input: str = "", reason: str = "") -> None:
        super().__init__(message)
        #: The offending input, cut to 64 characters.
        self.input = input
        #: Why it was refused.
        self.reason = reason


class SessionNotRevivable(SojournError):
    """``revive`` was asked for a session that may not come back (it ended,
    reached its lifetime, or its UUIDv7 time is out of range)."""

    code = "SESSION_NOT_REVIVABLE"

    def __init__(self, message: str = "", *, session_id: str = "", reason: str = "") -> None:
        super().__init__(message)
        #: The id that was asked for.
        self.session_id = session_id
        #: Why it may not come back.
        self.reason = reason


class InvalidArgument(SojournError, ValueError):
    """An argument or option is out of range or of the wrong shape.

    Raised for what the core refuses (a bad kind, user id, attribute, counter
    or option) and for Python values that cannot become the core's types: a
    negative or non-finite duration, a negative or too large integer, a
    naive datetime, an attribute value that is a container. A value of the
    wrong type altogether raises ``TypeError`` instead.
    """

    code = "INVALID_ARGUMENT"

    def __init__(self, message: str = "", *, argument: str = "", reason: str = "") -> None:
        super().__init__(message)
        #: The argument or option at fault.
        self.argument = argument
        #: What is wrong with it.
        self.reason = reason


class StoreError(SojournError):
    """The backing store failed (Redis unreachable, a corrupt record)."""

    code = "STORE_ERROR"

    def __init__(self, message: str = "", *, address: str = "", cause: str = "") -> None:
        super().__init__(message)
        #: Where the store was reached.
        self.address = address
        #: What went wrong, as the store reported it.
        self.cause = cause


class SnapshotError(SojournError):
    """A snapshot file could not be written or read as a whole: missing,
    truncated, corrupt, not a snapshot, of a newer format, encrypted with
    another key or with none given, or plain where a key is given. Loading
    one makes no tracker; a failed save leaves the previous file whole.
    The message names the file; it never shows the snapshot key."""

    code = "SNAPSHOT_ERROR"

    def __init__(self, message: str = "", *, path: str = "", problem: str = "") -> None:
        super().__init__(message)
        #: The file.
        self.path = path
        #: What is wrong with it, or the system's error.
        self.problem = problem


class SojournWarning(UserWarning):
    """A warning of the tracker's, with the stable ``code`` that Rust and
    Node give too: ``UNSIGNED_TOKENS`` (no secret, and ``unsigned_tokens``
    not set), ``NO_DRIVER`` (the driver thread could not start: the
    tracker's calls do its work), ``ENDS_DROPPED`` (``close()``, or exit,
    dropped ends that ``on_end`` had not taken within ``close_timeout``),
    ``STORE_ERROR`` (a sweep failed: said once, until the store answers
    again) or ``SNAPSHOT_ERROR`` (saving the tracker's ``snapshot`` failed:
    said once, until a save works; the previous file stays whole)."""

    def __init__(self, message: str = "", *, code: str = "") -> None:
        super().__init__(message)
        #: The stable code of the warning.
        self.code = code


# The native module looks the classes above up in this module, so it is
# imported after they exist.
from sojourn._native import (  # noqa: E402
    BROWSER_CLIENT,
    BROWSER_CLIENT_TYPE,
    DEFAULTS as _NATIVE_DEFAULTS,
    LIMITS as _NATIVE_LIMITS,
    WEB_DEFAULTS as _NATIVE_WEB_DEFAULTS,
    _after_fork_in_child as _renew_trackers,
    _close_all,
    EndedStats,
    MockClock,
    Reply,
    Session,
    SessionEnd,
    SnapshotCounts,
    Stats,
    Tick,
    Tracker,
    Visit,
    Web,
    __version__,
)
from sojourn._web import AsyncRequestSession, RequestSession  # noqa: E402

#: Every option's default, read from the Rust core (``None`` for
#: ``revive_window`` means "equal to ``idle_timeout``").
DEFAULTS: Mapping[str, Any] = types.MappingProxyType(_NATIVE_DEFAULTS)
#: Fixed bounds of the core: ``user_id`` length, secret length, clock skew
#: allowed to an unknown UUIDv7, largest counter.
LIMITS: Mapping[str, Any] = types.MappingProxyType(_NATIVE_LIMITS)
#: Every option of :class:`Web` (and so of the web middlewares) with its
#: default, read from the Rust core (``None`` for ``cookie_max_age`` means
#: "the tracker's ``retention``").
WEB_DEFAULTS: Mapping[str, Any] = types.MappingProxyType(_NATIVE_WEB_DEFAULTS)
# BROWSER_CLIENT (imported above) is the browser client, the ES module the
# middlewares serve at ``client_path`` (``/sojourn/browser.js``), as the
# Rust core holds it (``node/browser/sojourn.js`` of the repository: one
# text, no copy here); BROWSER_CLIENT_TYPE is its ``Content-Type``.


def _close_when_multiprocessing_leaves(_: object) -> None:
    util = sys.modules["multiprocessing.util"]
    util.Finalize(None, _close_all, exitpriority=0)


def _after_fork_in_child() -> None:
    """In a child just forked (gunicorn ``--preload``, ``multiprocessing``):
    every tracker made before the fork becomes a new, empty tracker with
    the same options and a driver of its own; the parent keeps its sessions
    and reports their ends, and keeps its ``snapshot`` file, which the
    child neither loads nor saves."""
    _renew_trackers()
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        # A multiprocessing child leaves with os._exit, without atexit. Its
        # bootstrap clears the finalizers, then runs these hooks: the one
        # registered here closes the trackers when the child leaves.
        util.register_after_fork(_close_when_multiprocessing_leaves, _close_when_multiprocessing_leaves)


os.register_at_fork(after_in_child=_after_fork_in_child)


if TYPE_CHECKING:
    from sojourn._async import AsyncTracker


def __getattr__(name: str) -> Any:
    # AsyncTracker is imported on first use: its module imports asyncio,
    # which an application that does not use it need not pay for.
    if name == "AsyncTracker":
        from sojourn._async import AsyncTracker

        globals()["AsyncTracker"] = AsyncTracker
        return AsyncTracker
    raise AttributeError(f"module 'sojourn' has no attribute {name!r}")
