"""``AsyncTracker``: the tracker for asyncio applications (ASGI: FastAPI,
Starlette), whose calls never block the event loop.

On a remote store (Redis) each call runs the native call in a thread of
the tracker's own pool and awaits it, so that the event loop goes on while
Redis answers; the native call lets the GIL go while it waits. On the
memory store a call takes about a microsecond and never waits on the
network: it runs inline, as a plain call would, with no thread hop.
``save`` writes a file, and ``close`` waits for ``on_end``: those run in
the pool whatever the store.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Optional, TypeVar, Union

# Imported by the package on first use of sojourn.AsyncTracker.
from sojourn import InvalidArgument, Kind, Outcome, SessionIdLike, SojournError
from sojourn._native import MockClock, Session, SessionEnd, SnapshotCounts, Stats, Tick, Tracker
from sojourn._native import FaultSwitch

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    _P = ParamSpec("_P")

_T = TypeVar("_T")
_Seconds = Union[int, float, timedelta]
_KindLike = Union[Kind, Literal["view", "event"]]
_AttrValue = Union[str, int, float, bool, None]
_Attrs = Mapping[str, _AttrValue]
_Secret = Union[str, bytes]
_Path = Union[str, os.PathLike[str]]

__all__ = ["AsyncTracker"]

# Every AsyncTracker of this process, for a child after fork().
_ALL: weakref.WeakSet[AsyncTracker] = weakref.WeakSet()


class AsyncTracker:
    """A :class:`Tracker` whose calls are coroutines, for asyncio
    applications: none of them blocks the event loop.

    It takes the keywords of :class:`Tracker`, and ``max_workers``: how
    many threads its pool runs at most for the calls that wait on Redis
    (``None``: ``ThreadPoolExecutor``'s default, ``min(32, cpus + 4)``).
    Every method of :class:`Tracker` that reaches the store is a coroutine
    here, with the same arguments and results; ``token()``, ``closed`` and
    ``store_is_remote`` are plain, as they never wait, ``AsyncTracker.load``
    makes one as ``Tracker.load`` does, and ``tracker`` is the underlying
    :class:`Tracker`, for code that is not async (both share the
    sessions).

    - On Redis (``store_is_remote``), each call runs in a thread of the
      tracker's own pool, made at the first call, and is awaited; the
      event loop goes on meanwhile. The pool is its own so that a Redis
      that is slow to answer takes up these threads, never those of the
      loop's default executor that the rest of the application uses.
    - On the memory store, each call runs inline: it never waits on the
      network, and a thread hop would cost more than the call.
    - ``close()`` waits for the pending ends to be delivered (at most
      ``close_timeout``) in a thread whatever the store, then stops the
      pool. ``async with`` closes the tracker at the end of the block.
    - ``save(path)`` writes a file: it runs in a thread of the pool
      whatever the store.
    - Making one connects to Redis and may block for ``store_timeout``,
      and loading a snapshot (``load``, ``snapshot``) reads a file: make it
      where the application starts (at import, or in a lifespan handler),
      not in a request.
    - A call whose task is cancelled still completes in its thread (a
      native call cannot be interrupted); its result is dropped.
    - ``on_end`` is called on the tracker's delivery thread, not in the
      event loop: hand an end to the loop with
      ``loop.call_soon_threadsafe``.
    - After ``fork()`` (gunicorn ``--preload``), the child's tracker is
      renewed as a :class:`Tracker`'s is, and its pool too.
    """

    def __init__(
        self,
        *,
        idle_timeout: Optional[_Seconds] = None,
        max_lifetime: Optional[_Seconds] = None,
        revive_window: Optional[_Seconds] = None,
        retention: Optional[_Seconds] = None,
        max_sessions: Optional[int] = None,
        max_dormant: Optional[int] = None,
        secret: Optional[_Secret] = None,
        secrets: Optional[Iterable[_Secret]] = None,
        unsigned_tokens: Optional[bool] = None,
        max_counter_hint: Optional[int] = None,
        sweep_interval: Optional[_Seconds] = None,
        on_end: Optional[Callable[[SessionEnd], object]] = None,
        max_pending_ends: Optional[int] = None,
        close_timeout: Optional[_Seconds] = None,
        max_attrs_bytes: Optional[int] = None,
        clock: Optional[MockClock] = None,
        fault_switch: Optional[FaultSwitch] = None,
        redis_url: Optional[str] = None,
        redis_cluster: Optional[Iterable[str]] = None,
        key_prefix: Optional[str] = None,
        store_timeout: Optional[_Seconds] = None,
        load: Optional[_Path] = None,
        snapshot: Optional[_Path] = None,
        snapshot_interval: Optional[_Seconds] = None,
        snapshot_key: Optional[bytes] = None,
        max_workers: Optional[int] = None,
    ) -> None:
        # Checked first: a bad value makes no tracker.
        if max_workers is not None:
            if isinstance(max_workers, bool) or not isinstance(max_workers, int):
                raise TypeError(f"max_workers must be an int or None, not {type(max_workers).__name__}")
            if max_workers < 1:
                reason = f"{max_workers} is under 1"
                raise InvalidArgument(f"invalid max_workers: {reason}", argument="max_workers", reason=reason)
        self._tracker = Tracker(
            idle_timeout=idle_timeout,
            max_lifetime=max_lifetime,
            revive_window=revive_window,
            retention=retention,
            max_sessions=max_sessions,
            max_dormant=max_dormant,
            secret=secret,
            secrets=secrets,
            unsigned_tokens=unsigned_tokens,
            max_counter_hint=max_counter_hint,
            sweep_interval=sweep_interval,
            on_end=on_end,
            max_pending_ends=max_pending_ends,
            close_timeout=close_timeout,
            max_attrs_bytes=max_attrs_bytes,
            clock=clock,
            fault_switch=fault_switch,
            redis_url=redis_url,
            redis_cluster=redis_cluster,
            key_prefix=key_prefix,
            store_timeout=store_timeout,
            load=load,
            snapshot=snapshot,
            snapshot_interval=snapshot_interval,
            snapshot_key=snapshot_key,
        )
        self._remote = self._tracker.store_is_remote
        self._max_workers = max_workers
        self._executor: Optional[ThreadPoolExecutor] = None
        self._lock = threading.Lock()
        _ALL.add(self)

    # The pool: made at the first call that needs it, renewed after fork
    # and after close().

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="sojourn")
            return self._executor

    async def _threaded(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._pool(), call)

    async def _run(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        if self._remote:
            return await self._threaded(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    @classmethod
    def load(cls, path: _Path, **options: Any) -> AsyncTracker:
        """As :meth:`Tracker.load`: an ``AsyncTracker`` that loads the
        snapshot at ``path`` when it is made, the same as
        ``AsyncTracker(load=path, **options)``. Not a coroutine: make it
        where the application starts."""
        if "load" in options:
            raise TypeError("AsyncTracker.load() takes the path once: as its first argument, not load=")
        return cls(load=path, **options)

    # What never waits.

    @property
    def tracker(self) -> Tracker:
        """The underlying :class:`Tracker` (the same sessions), for code
        that is not async."""
        return self._tracker

    @property
    def store_is_remote(self) -> bool:
        """Whether the calls wait on Redis (and so run in the pool)."""
        return self._remote

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._tracker.closed

    def token(self, id: SessionIdLike) -> str:
        """The token a client keeps for the session ``id`` (needs no store)."""
        return self._tracker.token(id)

    def __repr__(self) -> str:
        store = "redis" if self._remote else "memory"
        return f"<sojourn.AsyncTracker {store}{' closed' if self.closed else ''}>"

    # The calls: as Tracker's.

    async def start(self, user_id: Optional[str] = None, attrs: Optional[_Attrs] = None) -> Session:
        """As :meth:`Tracker.start`."""
        return await self._run(self._tracker.start, user_id, attrs)

    async def get(self, id: SessionIdLike) -> Optional[Session]:
        """As :meth:`Tracker.get`."""
        return await self._run(self._tracker.get, id)

    async def peek(self, id: SessionIdLike) -> Optional[Session]:
        """As :meth:`Tracker.peek`."""
        return await self._run(self._tracker.peek, id)

    async def exists(self, id: SessionIdLike) -> bool:
        """As :meth:`Tracker.exists`."""
        return await self._run(self._tracker.exists, id)

    async def track(self, id: SessionIdLike, kind: _KindLike) -> Tick:
        """As :meth:`Tracker.track`."""
        return await self._run(self._tracker.track, id, kind)

    async def track_many(
        self, ids: Iterable[SessionIdLike], kind: _KindLike
    ) -> list[Union[Tick, None, SojournError]]:
        """As :meth:`Tracker.track_many`."""
        # An iterator (a generator) is read here, on the caller's thread,
        # as a plain call would read it.
        if isinstance(ids, Iterator):
            ids = list(ids)
        return await self._run(self._tracker.track_many, ids, kind)

    async def identify(self, id: SessionIdLike, user_id: str) -> Session:
        """As :meth:`Tracker.identify`."""
        return await self._run(self._tracker.identify, id, user_id)

    async def set_attrs(self, id: SessionIdLike, attrs: _Attrs) -> Session:
        """As :meth:`Tracker.set_attrs`."""
        return await self._run(self._tracker.set_attrs, id, attrs)

    async def revive(
        self,
        id: SessionIdLike,
        *,
        user_id: Optional[str] = None,
        view_sequence: Optional[int] = None,
        event_sequence: Optional[int] = None,
        attrs: Optional[_Attrs] = None,
    ) -> Session:
        """As :meth:`Tracker.revive`."""
        return await self._run(
            self._tracker.revive,
            id,
            user_id=user_id,
            view_sequence=view_sequence,
            event_sequence=event_sequence,
            attrs=attrs,
        )

    async def resume(
        self,
        token: Optional[str] = None,
        *,
        user_id: Optional[str] = None,
        attrs: Optional[_Attrs] = None,
        view_sequence: Optional[int] = None,
        event_sequence: Optional[int] = None,
    ) -> tuple[Session, Outcome]:
        """As :meth:`Tracker.resume`."""
        return await self._run(
            self._tracker.resume,
            token,
            user_id=user_id,
            attrs=attrs,
            view_sequence=view_sequence,
            event_sequence=event_sequence,
        )

    async def end(self, id: SessionIdLike) -> Optional[SessionEnd]:
        """As :meth:`Tracker.end`."""
        return await self._run(self._tracker.end, id)

    async def sessions(self, user_id: Optional[str] = None) -> list[Session]:
        """As :meth:`Tracker.sessions`."""
        return await self._run(self._tracker.sessions, user_id)

    async def count(self, user_id: Optional[str] = None) -> int:
        """As :meth:`Tracker.count` (``len(tracker)`` is ``await count()``)."""
        return await self._run(self._tracker.count, user_id)

    async def end_user(self, user_id: str) -> int:
        """As :meth:`Tracker.end_user`."""
        return await self._run(self._tracker.end_user, user_id)

    async def forget_user(self, user_id: str) -> int:
        """As :meth:`Tracker.forget_user`."""
        return await self._run(self._tracker.forget_user, user_id)

    async def end_all(self) -> int:
        """As :meth:`Tracker.end_all`."""
        return await self._run(self._tracker.end_all)

    async def reassign_user(self, old: str, new: str) -> int:
        """As :meth:`Tracker.reassign_user`."""
        return await self._run(self._tracker.reassign_user, old, new)

    async def stats(self) -> Stats:
        """As :meth:`Tracker.stats`."""
        return await self._run(self._tracker.stats)

    async def sweep(self) -> int:
        """As :meth:`Tracker.sweep` (``on_end`` runs on this thread: in the
        event loop on the memory store, in the pool on Redis)."""
        return await self._run(self._tracker.sweep)

    async def save(self, path: _Path) -> SnapshotCounts:
        """As :meth:`Tracker.save`, in a thread of the pool whatever the
        store: it writes a file (about half a second for a million
        sessions), and the event loop goes on meanwhile."""
        return await self._threaded(self._tracker.save, path)

    async def close(self) -> int:
        """As :meth:`Tracker.close`, in a thread whatever the store (it
        waits for ``on_end`` at most ``close_timeout``); then stops the
        pool, whose threads end once their calls are done. The tracker
        still answers calls, with a new pool."""
        try:
            return await self._threaded(self._tracker.close)
        finally:
            with self._lock:
                executor, self._executor = self._executor, None
            if executor is not None:
                executor.shutdown(wait=False)

    async def __aenter__(self) -> AsyncTracker:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.close()


def _after_fork_in_child() -> None:
    # The copied pool's threads are the parent's: this process has none of
    # them, and its locks may be copied held. Forget it (never shut it
    # down); the next call makes a new one.
    for tracker in list(_ALL):
        tracker._executor = None
        tracker._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
