"""``sojourn.AsyncTracker``: every call a coroutine, the event loop never
blocked by Redis (calls in the tracker's own threads), calls inline on the
memory store, ``async with``, errors, the pool after ``close()`` and after
``fork()``. On the real Redis servers of ``scripts/with-redis``."""

from __future__ import annotations

import asyncio
import gc
import inspect
import sys
import threading
import time
from typing import Any, Awaitable, Callable, Iterator

import pytest

import sojourn
from sojourn import AsyncTracker, InvalidArgument, Outcome, SessionNotFound, StoreError
from support import pause_redis, redis_url, run_python, store_options, unique_prefix


@pytest.fixture(autouse=True)
def collected() -> Iterator[None]:
    """Collects this test's trackers as it ends (a traceback kept by
    pytest.raises may hold them): dropping a tracker that was not closed
    closes it, with a last sweep, which must not fall in a later test,
    while that one has Redis paused or killed."""
    yield
    gc.collect()


@pytest.fixture(params=["memory", "redis", "cluster"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _heartbeats_during(call: Callable[[], Awaitable[object]]) -> tuple[int, float]:
    """How often a task that wakes every 5 ms ran while `call` was awaited,
    and how long that took."""
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await asyncio.sleep(0.005)
            beats += 1

    task = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.02)
    before, began = beats, time.monotonic()
    await call()
    took, during = time.monotonic() - began, beats - before
    task.cancel()
    return during, took


def test_a_heartbeat_keeps_ticking_while_a_call_waits_on_redis() -> None:
    """Redis paused for 0.4 s: the AsyncTracker call waits that long while
    the event loop runs the heartbeat. The same call on a plain Tracker,
    made in the coroutine, blocks the loop: the heartbeat stops (the
    control that shows the measure can fail)."""
    url = redis_url()
    options: dict[str, Any] = {
        "unsigned_tokens": True,
        "sweep_interval": 0,
        "redis_url": url,
        "key_prefix": unique_prefix("async"),
        "store_timeout": 5,
    }

    async def main() -> tuple[tuple[int, float], tuple[int, float], int]:
        async with AsyncTracker(**options) as tracker:
            s = await tracker.start()

            async def tracked() -> None:
                pause_redis(url, 0.4)
                await tracker.track(s.id, "view")

            async def blocking() -> None:
                pause_redis(url, 0.4)
                tracker.tracker.track(s.id, "view")

            threaded = await _heartbeats_during(tracked)
            blocked = await _heartbeats_during(blocking)
            views = (await tracker.peek(s.id)).view_sequence  # type: ignore[union-attr]
            return threaded, blocked, views

    (during, took), (during_blocked, took_blocked), views = asyncio.run(main())
    assert took > 0.3 and took_blocked > 0.3, "both calls waited on the paused Redis"
    # It may run 80 times; under a heavy load, fewer: the blocking call
    # lets it run at most once.
    assert during >= 5, f"the heartbeat ran {during} times in {took:.2f} s"
    assert during_blocked <= 1, f"a blocking call let the heartbeat run {during_blocked} times"
    assert views == 2


def test_calls_run_inline_on_the_memory_store_and_in_the_pool_on_redis(store: str) -> None:
    """With no driver, the call that ends a session delivers its end on the
    thread that runs it: on_end shows which."""
    where: list[str] = []

    async def main() -> tuple[str, bool]:
        tracker = AsyncTracker(
            unsigned_tokens=True,
            sweep_interval=0,
            on_end=lambda end: where.append(threading.current_thread().name),
            **store_options(store, "inline"),
        )
        s = await tracker.start()
        await tracker.end(s.id)
        await tracker.sweep()
        loop_thread = threading.current_thread().name
        await tracker.close()
        return loop_thread, tracker.store_is_remote

    loop_thread, remote = asyncio.run(main())
    assert remote is (store != "memory")
    assert len(where) == 1
    if remote:
        assert where[0].startswith("sojourn"), where
    else:
        assert where[0] == loop_thread


def test_every_call_is_a_coroutine_with_the_trackers_results(store: str) -> None:
    ends: list[sojourn.SessionEnd] = []

    async def main() -> None:
        async with AsyncTracker(
            secret="at least sixteen bytes of secret", sweep_interval=0, on_end=ends.append, **store_options(store)
        ) as t:
            assert not t.closed and repr(t) == f"<sojourn.AsyncTracker {'memory' if store == 'memory' else 'redis'}>"
            s = await t.start(user_id="u1", attrs={"page": "/"})
            assert isinstance(s, sojourn.Session) and s.token == t.token(s.id) != s.id
            assert (await t.get(s.id)) == (await t.peek(s.id)) and await t.exists(s.id)
            assert (await t.track(s.id, "view")).sequence == 1
            ticks = await t.track_many(iter([s.id, s.id]), sojourn.Kind.EVENT)
            assert [tick.sequence for tick in ticks if isinstance(tick, sojourn.Tick)] == [2, 3]
            assert (await t.identify(s.id, "u2")).user_id == "u2"
            assert (await t.set_attrs(s.id, {"plan": "pro"})).attrs == {"page": "/", "plan": "pro"}
            assert (await t.revive(s.id, view_sequence=5)).view_sequence == 5
            again, outcome = await t.resume(s.token)
            assert (again.id, outcome) == (s.id, Outcome.EXISTING)
            fresh, outcome = await t.resume(None, user_id="u3")
            assert outcome is Outcome.STARTED
            assert [x.id for x in await t.sessions("u2")] == [s.id]
            assert await t.count() == 2 and await t.count("u3") == 1
            assert await t.reassign_user("u3", "u4") == 1
            assert await t.end_user("u4") == 1 and await t.forget_user("u4") == 1
            stats = await t.stats()
            assert (stats.live, stats.views, stats.events) == (1, 1, 2)
            end = await t.end(s.id)
            assert end is not None and end.reason is sojourn.EndReason.ENDED
            assert await t.end(s.id) is None
            await t.start()
            assert await t.end_all() == 1 and await t.sweep() == 0
            with pytest.raises(SessionNotFound):
                await t.track(s.id, "view")
            with pytest.raises(sojourn.InvalidSessionId):
                await t.get("not-a-uuid")
            with pytest.raises(TypeError):
                await t.start(attrs=["not", "a", "dict"])  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                await t.track_many(s.id, "view")  # a str is no list of ids
            ran_on: list[str] = []

            def ids() -> Iterator[str]:
                ran_on.append(threading.current_thread().name)
                yield s.id

            assert (await t.track_many(ids(), "view")) == [None], "s has ended: not live"
            assert ran_on == [threading.current_thread().name], "a generator runs on the caller's thread"
        assert t.closed
        assert len(ends) == 3
        # A closed tracker still answers, as Tracker does (a new pool).
        assert await t.count() == 0
        await t.close()

    asyncio.run(main())


def test_a_store_error_is_raised_by_the_await() -> None:
    url = redis_url()

    async def main() -> None:
        t = AsyncTracker(unsigned_tokens=True, sweep_interval=0, redis_url=url, key_prefix=unique_prefix("err"),
                         store_timeout=0.1)  # fmt: skip
        s = await t.start()
        pause_redis(url, 0.4)
        with pytest.raises(StoreError) as caught:
            await t.track(s.id, "view")
        assert caught.value.address == url
        await asyncio.sleep(0.4)
        assert (await t.track(s.id, "view")).view_sequence == 1
        await t.close()

    asyncio.run(main())


def test_a_cancelled_call_still_completes_in_its_thread() -> None:
    """A native call cannot be interrupted: cancelling its task drops the
    result, the call itself goes through (as documented)."""
    url = redis_url()

    async def main() -> int:
        t = AsyncTracker(unsigned_tokens=True, sweep_interval=0, redis_url=url, key_prefix=unique_prefix("cancel"),
                         store_timeout=5)  # fmt: skip
        s = await t.start()
        pause_redis(url, 0.3)
        task = asyncio.create_task(t.track(s.id, "view"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.4)
        views = (await t.peek(s.id)).view_sequence  # type: ignore[union-attr]
        await t.close()
        return views

    assert asyncio.run(main()) == 1


def test_the_async_tracker_mirrors_the_tracker() -> None:
    """Every call of Tracker is a coroutine of AsyncTracker with the same
    parameters; the constructor takes every option, and max_workers."""
    plain = {"token", "closed", "size", "store_is_remote", "load"}
    names = {n for n in dir(sojourn.Tracker) if not n.startswith("_")}
    assert plain <= names
    for name in sorted(names - plain):
        method = getattr(AsyncTracker, name, None)
        assert inspect.iscoroutinefunction(method), name
        if sys.version_info >= (3, 10):  # a 3.9 abi3 class has no text signatures
            assert list(inspect.signature(method).parameters) == list(
                inspect.signature(getattr(sojourn.Tracker, name)).parameters
            ), name
    for name in plain - {"size"}:
        assert not inspect.iscoroutinefunction(getattr(AsyncTracker, name)), name
    # A classmethod on both, that makes a tracker (which may read a file).
    assert inspect.ismethod(AsyncTracker.load) and AsyncTracker.load.__self__ is AsyncTracker
    assert sojourn.Tracker.load.__self__ is sojourn.Tracker  # a builtin bound to the class
    params = inspect.signature(AsyncTracker).parameters
    assert list(params) == [*sojourn.DEFAULTS, "max_workers"]
    assert all(p.default is None and p.kind is p.KEYWORD_ONLY for p in params.values())
    assert AsyncTracker.__doc__ and "event loop" in AsyncTracker.__doc__
    assert sojourn.AsyncTracker is AsyncTracker and "AsyncTracker" in sojourn.__all__


@pytest.mark.parametrize(
    ("max_workers", "error"), [(0, InvalidArgument), (-1, InvalidArgument), (1.5, TypeError), (True, TypeError)]
)
def test_bad_max_workers_are_refused(max_workers: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        AsyncTracker(unsigned_tokens=True, sweep_interval=0, max_workers=max_workers)
    assert "max_workers" in str(caught.value)
    if isinstance(caught.value, InvalidArgument):
        assert caught.value.argument == "max_workers" and caught.value.code == "INVALID_ARGUMENT"


def test_the_pool_runs_at_most_max_workers_calls_at_once() -> None:
    url = redis_url()

    async def main() -> set[str]:
        t = AsyncTracker(unsigned_tokens=True, sweep_interval=0, redis_url=url, key_prefix=unique_prefix("pool"),
                         max_workers=2)  # fmt: skip
        ids = [s.id for s in await asyncio.gather(*(t.start() for _ in range(20)))]
        await asyncio.gather(*(t.track(i, "view") for i in ids))
        names = {n.name for n in threading.enumerate() if n.name.startswith("sojourn")}
        await t.close()
        return names

    names = asyncio.run(main())
    assert 1 <= len(names) <= 2, names


def test_an_async_tracker_works_in_a_forked_child() -> None:
    """Its pool's threads are the parent's: the child makes its own."""
    result = run_python(
        f"""
        import asyncio, os, sojourn
        t = sojourn.AsyncTracker(unsigned_tokens=True, sweep_interval=0, redis_url={redis_url()!r},
                                 key_prefix={unique_prefix("async-fork")!r})
        async def use(s=None):
            s = s or await t.start()
            return s, (await t.track(s.id, "view")).view_sequence
        s, views = asyncio.run(use())  # the parent's pool has a thread now
        pid = os.fork()
        if pid == 0:
            _, views = asyncio.run(asyncio.wait_for(use(s), 10))
            print("child", views, flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        print("parent", asyncio.run(use(s))[1], flush=True)
        asyncio.run(t.close())
        """
    )
    assert result.stdout.splitlines() == ["child 2", "parent 3"], result.stderr
    assert result.stderr == ""



def test_importing_sojourn_does_not_import_asyncio() -> None:
    result = run_python(
        """
        import sys, sojourn
        print("asyncio" in sys.modules, flush=True)
        assert sojourn.AsyncTracker.__name__ == "AsyncTracker"
        print("asyncio" in sys.modules, "AsyncTracker" in dir(sojourn), flush=True)
        from sojourn import *
        print(AsyncTracker is sojourn.AsyncTracker, flush=True)
        """
    )
    assert result.stdout.splitlines() == ["False", "True True", "True"], result.stderr
