"""Trackers on Redis: the options, shared sessions, the GIL let go while
Redis answers, callbacks and warnings from calls that let it go, a Redis
that cannot be reached or that goes away and comes back, and fork().

Every test here runs against the real redis-server and the real Redis
Cluster that ``scripts/with-redis`` starts (``make python-test`` runs the
suite under it), or a redis-server of the test's own; none is mocked. Each
tracker has a key prefix of its own."""

from __future__ import annotations

import gc
import queue
import socket
import threading
import time
from datetime import timedelta
from typing import Any, Callable, Iterator

import pytest

import sojourn
from sojourn import InvalidArgument, Outcome, SojournWarning, StoreError
from sojourn.testing import FaultSwitch
from support import (
    OwnRedis,
    free_port,
    pause_redis,
    redis_cluster,
    redis_command,
    redis_url,
    run_python,
    store_options,
    unique_prefix,
)


@pytest.fixture(autouse=True)
def collected() -> Iterator[None]:
    """Collects this test's trackers as it ends (a traceback kept by
    pytest.raises may hold them): dropping a tracker that was not closed
    closes it, with a last sweep, which must not fall in a later test,
    while that one has Redis paused or killed."""
    yield
    gc.collect()


@pytest.fixture(params=["redis", "cluster"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_trackers_under_one_prefix_share_their_sessions(store: str) -> None:
    options = store_options(store, "shared")
    with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, **options) as a, sojourn.Tracker(
        unsigned_tokens=True, sweep_interval=0, **options
    ) as b:
        assert a.store_is_remote and b.store_is_remote
        s = a.start(user_id="u1", attrs={"page": "/"})
        assert b.track(s.id, "view").view_sequence == 1
        assert a.track(s.id, "event").sequence == 2
        assert b.sessions("u1") == [a.peek(s.id)] and a.count() == b.count() == 1
        other = {**options, "key_prefix": unique_prefix("other")}
        with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, **other) as c:
            assert not c.exists(s.id) and c.count() == 0, "another prefix, other sessions"
        end = b.end(s.id)
        assert end is not None and end.session.sequence == 2
        assert a.end(s.id) is None, "ended once"


def test_the_memory_store_is_not_remote() -> None:
    with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0) as t:
        assert t.store_is_remote is False
    # A fault switch's store stands for one outside the process.
    with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, fault_switch=FaultSwitch()) as t:
        assert t.store_is_remote is True


def test_the_options_reach_the_store() -> None:
    """key_prefix names the keys; store_timeout bounds each wait."""
    url = redis_url()
    prefix = unique_prefix("keys")
    with sojourn.Tracker(
        unsigned_tokens=True, sweep_interval=0, redis_url=url, key_prefix=prefix, store_timeout=timedelta(seconds=2)
    ) as t:
        s = t.start()
        reply = redis_command(url, "EXISTS", f"{prefix}:s:{{{s.id}}}")
        assert reply == b":1\r\n", "the session's key is under the prefix"
    t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, redis_url=url, key_prefix=prefix, store_timeout=0.1)
    pause_redis(url, 0.5)
    began = time.monotonic()
    with pytest.raises(StoreError):
        t.exists(s.id)
    took = time.monotonic() - began
    assert 0.09 < took < 0.5, f"failed after {took:.2f} s with a 0.1 s store_timeout (Redis paused 0.5 s)"
    time.sleep(0.5)
    t.close()


BAD_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"key_prefix": ""}, InvalidArgument, "key_prefix"),
    ({"key_prefix": "app{1}"}, InvalidArgument, "key_prefix"),
    ({"key_prefix": "a}"}, InvalidArgument, "key_prefix"),
    ({"key_prefix": "tab\there"}, InvalidArgument, "key_prefix"),
    ({"key_prefix": "x" * 65}, InvalidArgument, "key_prefix"),
    ({"key_prefix": "\ud800"}, InvalidArgument, "key_prefix"),
    ({"store_timeout": 0}, InvalidArgument, "store_timeout"),
    ({"store_timeout": timedelta(0)}, InvalidArgument, "store_timeout"),
    ({"store_timeout": -1}, InvalidArgument, "store_timeout"),
    ({"store_timeout": float("nan")}, InvalidArgument, "store_timeout"),
    ({"redis_cluster": []}, InvalidArgument, "redis_cluster"),
    ({"both": True}, InvalidArgument, "redis_cluster"),
    ({"fault_switch": FaultSwitch()}, InvalidArgument, "redis"),
    ({"redis_url": 6379}, TypeError, "redis_url"),
    ({"redis_url": b"redis://127.0.0.1"}, TypeError, "redis_url"),
    ({"redis_url": ["redis://127.0.0.1"]}, TypeError, "redis_url"),
    ({"redis_cluster": "redis://127.0.0.1:7000"}, TypeError, "redis_cluster"),
    ({"redis_cluster": ["redis://127.0.0.1:7000", 7001]}, TypeError, "redis_cluster"),
    ({"redis_cluster": 7000}, TypeError, "redis_cluster"),
    ({"key_prefix": b"app"}, TypeError, "key_prefix"),
    ({"key_prefix": 1}, TypeError, "key_prefix"),
    ({"store_timeout": "1"}, TypeError, "store_timeout"),
    ({"store_timeout": True}, TypeError, "store_timeout"),
]


@pytest.mark.parametrize(("given", "error", "argument"), BAD_OPTIONS, ids=lambda v: repr(v)[:40])
@pytest.mark.parametrize("kind", ["Tracker", "AsyncTracker"])
def test_bad_options_are_refused_before_connecting(
    kind: str, given: dict[str, Any], error: type[Exception], argument: str
) -> None:
    """Each bad option raises its typed error, naming it, and no tracker is
    made. The address is one where nothing listens: an option refused
    after connecting would raise StoreError instead."""
    nowhere = f"redis://127.0.0.1:{free_port()}"
    options: dict[str, Any] = {"unsigned_tokens": True, "sweep_interval": 0}
    if given.get("both"):
        options.update(redis_url=nowhere, redis_cluster=[nowhere])
    else:
        if "redis_url" not in given and "redis_cluster" not in given:
            options["redis_url"] = nowhere
        options.update(given)
    with pytest.raises(error) as caught:
        getattr(sojourn, kind)(**options)
    assert argument in str(caught.value)
    if isinstance(caught.value, InvalidArgument):
        assert caught.value.argument == argument and caught.value.code == "INVALID_ARGUMENT"


def test_an_unreachable_redis_fails_fast_naming_it() -> None:
    """A port where nothing listens: refused at once. A Redis that never
    answers (a socket that accepts and says nothing): refused after
    store_timeout, not later."""
    nowhere = f"redis://127.0.0.1:{free_port()}"
    began = time.monotonic()
    with pytest.raises(StoreError) as caught:
        sojourn.Tracker(unsigned_tokens=True, redis_url=nowhere)
    assert time.monotonic() - began < 1
    assert caught.value.address == nowhere and nowhere in str(caught.value) and caught.value.code == "STORE_ERROR"
    with pytest.raises(StoreError) as caught:
        sojourn.Tracker(unsigned_tokens=True, redis_cluster=[nowhere])
    assert nowhere in caught.value.address

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = f"redis://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        with pytest.raises(StoreError) as caught:
            sojourn.Tracker(unsigned_tokens=True, redis_url=mute, store_timeout=0.2)
        took = time.monotonic() - began
    assert caught.value.address == mute
    assert 0.19 < took < 1.0, f"a Redis that never answers failed after {took:.2f} s (store_timeout 0.2 s)"


def test_a_redis_that_goes_away_and_comes_back() -> None:
    """Killed: every call raises StoreError naming it, fast, and a call
    that sweeps also warns once. Back (empty: it kept nothing): calls
    succeed again on new connections, and a client's token revives its
    session with the counters it reports."""
    with OwnRedis() as own:
        ends: list[sojourn.SessionEnd] = []
        t = sojourn.Tracker(
            unsigned_tokens=True, sweep_interval=0, redis_url=own.url, store_timeout=0.5, on_end=ends.append
        )
        s = t.start()
        t.track(s.id, "view")
        own.kill()
        began = time.monotonic()
        with pytest.raises(StoreError) as caught:
            t.track(s.id, "view")
        assert caught.value.address == own.url
        with pytest.raises(StoreError):
            t.start()
        with pytest.warns(SojournWarning, match="sweep failed") as said, pytest.raises(StoreError):
            t.stats()
        assert [w.message.code for w in said] == ["STORE_ERROR"]  # type: ignore[union-attr]
        assert time.monotonic() - began < 1.5, "each call failed within store_timeout"
        own.start()
        assert t.start().session_index == 1
        back, outcome = t.resume(s.token, view_sequence=1)
        assert (back.id, outcome, back.view_sequence) == (s.id, Outcome.REVIVED, 1)
        assert t.track(s.id, "view").view_sequence == 2
        assert t.close() == 0


# The GIL: a thread waiting on Redis lets the others run.


def _counting() -> tuple[Callable[[], int], Callable[[], None]]:
    """A thread that counts as fast as it can: (read the count, stop)."""
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


@pytest.mark.parametrize("call", ["track", "resume", "start", "get", "construct"])
def test_a_call_waiting_on_redis_lets_other_threads_run(call: str) -> None:
    """Redis paused for 0.4 s: the call waits that long, and meanwhile a
    Python thread runs (it would not move at all if the call kept the
    GIL). The calls on one session are the ones that keep the GIL on the
    memory store."""
    url = redis_url()
    options: dict[str, Any] = {"unsigned_tokens": True, "sweep_interval": 0, "redis_url": url, "store_timeout": 5}
    options["key_prefix"] = unique_prefix("gil")
    t = sojourn.Tracker(**options)
    s = t.start()
    calls: dict[str, Callable[[], object]] = {
        "track": lambda: t.track(s.id, "view"),
        "resume": lambda: t.resume(s.token),
        "start": lambda: t.start(),
        "get": lambda: t.get(s.id),
        "construct": lambda: sojourn.Tracker(**options).close(),
    }
    count, stop = _counting()
    try:
        pause_redis(url, 0.4)
        before = count()
        began = time.monotonic()
        calls[call]()
        took = time.monotonic() - began
        during = count() - before
    finally:
        stop()
        t.close()
    assert took > 0.3, f"the call did not wait on the paused Redis ({took:.2f} s)"
    # Millions, unless the machine is very busy; none if the call kept the
    # GIL (a thread switch before it may give a few).
    assert during > 1_000, f"the other thread counted {during} while the call waited {took:.2f} s"


def test_callbacks_run_from_calls_that_let_the_gil_go(store: str) -> None:
    """With no driver, a call that ends a session delivers its end on
    the calling thread, inside the call that let the GIL go: on_end takes
    it back, and may call the tracker itself."""
    seen: list[tuple[str, int, bool]] = []
    t: sojourn.Tracker

    def on_end(end: sojourn.SessionEnd) -> None:
        seen.append((end.reason.value, t.count(), threading.current_thread() is threading.main_thread()))

    t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, on_end=on_end, **store_options(store, "cb"))
    a, b = t.start(), t.start()
    t.end(a.id)
    assert t.sweep() == 0  # delivers what end() queued, on this thread
    assert seen == [("ended", 1, True)]
    assert t.end_all() == 1 and t.close() == 0
    assert seen == [("ended", 1, True), ("ended", 0, True)]
    assert not t.exists(b.id)


def test_the_driver_delivers_ends_on_redis(store: str) -> None:
    got: list[sojourn.SessionEnd] = []
    done = threading.Event()

    def on_end(end: sojourn.SessionEnd) -> None:
        got.append(end)
        done.set()

    with sojourn.Tracker(
        unsigned_tokens=True, idle_timeout=0.2, sweep_interval=0.02, on_end=on_end, **store_options(store, "driver")
    ) as t:
        s = t.start()
        t.track(s.id, "view")
        assert done.wait(10), "the driver delivered the idle end"
    assert [(e.session.id, e.reason.value, e.session.view_sequence) for e in got] == [(s.id, "idle", 1)]


# fork(): a child gets a tracker of its own, with connections of its own,
# on the same Redis.

FORK_PRELUDE = """
import os, sys, threading, time, sojourn
def reap(pid, limit=20.0):
    deadline = time.monotonic() + limit
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.001)
"""


def test_a_forked_child_on_redis_sees_the_parents_sessions() -> None:
    """Parent and child track the same session at the same time, each
    from a thread that never stops: if the child had the parent's copy
    of the connections, their replies would cross. Every tick counts
    once, and the parent goes on once the child is gone."""
    result = run_python(
        FORK_PRELUDE
        + f"""
url, prefix = {redis_url()!r}, {unique_prefix("fork")!r}
t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.05, redis_url=url, key_prefix=prefix)
s = t.start()
t.track(s.id, "view")
def track(n):
    for _ in range(n):
        t.track(s.id, "event")
worker = threading.Thread(target=track, args=(300,))
worker.start()
pid = os.fork()
if pid == 0:
    seen = t.get(s.id)
    assert seen is not None and seen.view_sequence == 1, seen
    track(300)
    child = t.start()
    print("child", t.exists(child.id), flush=True)
    os._exit(0)
worker.join()
print("exit", reap(pid), flush=True)
final = t.peek(s.id)
print("events", final.event_sequence, "views", final.view_sequence, flush=True)
print("count", t.count(), flush=True)
t.close()
"""
    )
    assert result.stdout.splitlines() == ["child True", "exit 0", "events 600 views 1", "count 2"], result.stderr
    assert result.stderr == ""


def test_a_child_forked_while_redis_does_not_answer_is_renewed_by_its_next_call() -> None:
    """Redis paused while the process forks: the child cannot connect,
    so its tracker cannot be renewed then. It never uses the parent's
    copy: its calls raise StoreError while Redis is paused, and once Redis
    answers, the next call renews it."""
    result = run_python(
        FORK_PRELUDE
        + f"""
import socket
url, prefix = {redis_url()!r}, {unique_prefix("stale")!r}
t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.05, redis_url=url, key_prefix=prefix, store_timeout=0.1)
s = t.start()
host, port = url.removeprefix("redis://").rsplit(":", 1)
with socket.create_connection((host, int(port))) as c:
    c.sendall(b"*4\\r\\n$6\\r\\nCLIENT\\r\\n$5\\r\\nPAUSE\\r\\n$3\\r\\n800\\r\\n$3\\r\\nALL\\r\\n")
    assert c.recv(100) == b"+OK\\r\\n"
paused = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        t.count()
        print("child answered while paused", flush=True)
    except sojourn.StoreError as e:
        print("child", e.code, flush=True)
    print("closed", t.closed, flush=True)
    time.sleep(max(0, paused + 1.0 - time.monotonic()))
    seen = t.get(s.id)
    print("child sees", seen is not None and seen.id == s.id, flush=True)
    t.track(s.id, "view")
    t.close()
    print("closed", t.closed, flush=True)
    sys.exit(0)
print("exit", reap(pid), flush=True)
print("views", t.peek(s.id).view_sequence, flush=True)
t.close()
"""
    )
    lines = result.stdout.splitlines()
    assert lines == [
        "child STORE_ERROR",
        "closed False",
        "child sees True",
        "closed True",
        "exit 0",
        "views 1",
    ], result.stderr
    # The parent's sweeps failed while Redis was paused: warned, once.
    assert result.stderr.count("SojournWarning") <= 1, result.stderr


def test_a_stale_child_closes_without_touching_the_parents_copy() -> None:
    """A child that closes (or exits) before Redis answers has nothing to
    deliver: close() returns 0 at once, and a later call renews a closed
    tracker."""
    result = run_python(
        FORK_PRELUDE
        + f"""
import socket
url, prefix = {redis_url()!r}, {unique_prefix("stale-close")!r}
t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, redis_url=url, key_prefix=prefix, store_timeout=0.1)
s = t.start()
host, port = url.removeprefix("redis://").rsplit(":", 1)
with socket.create_connection((host, int(port))) as c:
    c.sendall(b"*4\\r\\n$6\\r\\nCLIENT\\r\\n$5\\r\\nPAUSE\\r\\n$3\\r\\n500\\r\\n$3\\r\\nALL\\r\\n")
    assert c.recv(100) == b"+OK\\r\\n"
paused = time.monotonic()
pid = os.fork()
if pid == 0:
    began = time.monotonic()
    print("dropped", t.close(), "closed", t.closed, flush=True)
    time.sleep(max(0, paused + 0.7 - time.monotonic()))
    print("views", t.track(s.id, "view").view_sequence, "closed", t.closed, flush=True)
    sys.exit(0)  # exit closes it again: no hang
print("exit", reap(pid), flush=True)
t.close()
"""
    )
    assert result.stdout.splitlines() == ["dropped 0 closed True", "views 1 closed True", "exit 0"], result.stderr
    assert result.stderr == ""


# Several processes on one Redis.


@pytest.mark.parametrize("store", ["redis", "cluster"])
def test_four_processes_share_sessions_on_redis(store: str) -> None:
    """Four OS processes (multiprocessing, spawn) track the same 1,000
    sessions at once, each a different number of times (1 to 4 rounds:
    10 views a session), with a 2 s idle timeout and 50 ms sweeps; then
    all wait past the timeout. No tick is lost or counted twice (each
    session's ticks across the processes are exactly 1 to 10), and every
    session's end is delivered exactly once across the four processes,
    with its 10 views."""
    import multiprocessing

    import workers

    options = {"unsigned_tokens": True, "idle_timeout": 2, **store_options(store, "processes")}
    context = multiprocessing.get_context("spawn")
    start, inbox, stop, out = context.Barrier(5), context.Queue(), context.Event(), context.Queue()
    processes = [
        context.Process(
            target=workers.track_on_redis,
            # A long store_timeout: this test is about exactness, and a busy
            # machine may keep Redis from answering within the default.
            args=(i, {**options, "sweep_interval": 0.05, "store_timeout": 10}, i + 1, start, inbox, stop, out),
            daemon=True,
        )
        for i in range(4)
    ]
    for p in processes:
        p.start()
    try:
        start.wait(60)
        # Made once the workers are up (every tracker on a prefix has the
        # same options: the rules are the trackers'), so that none expires
        # before they track it; no driver here, and nothing is due at close.
        with sojourn.Tracker(sweep_interval=0, store_timeout=10, **options) as maker:
            ids = [maker.start().id for _ in range(1000)]
        for _ in processes:
            inbox.put(ids)
        start.wait(60)
        ticks: dict[str, list[int]] = {i: [] for i in ids}
        ends: list[tuple[str, str, int]] = []
        reported, closed = 0, 0
        deadline = time.monotonic() + 60
        while closed < 4:
            try:
                message = out.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"after 60 s: {reported} workers' ticks, {len(ends)} ends, {closed} closed")
            if message[0] == "ticks":
                reported += 1
                for results in message[2]:
                    for i, tick in zip(ids, results):
                        ticks[i].append(tick)
            elif message[0] == "end":
                ends.append(message[2:])
            else:
                closed += 1
            if len(ends) >= len(ids) and reported == 4 and not stop.is_set():
                # Every end is in: a while more for a second copy of any.
                time.sleep(0.5)
                stop.set()
            assert time.monotonic() < deadline, f"{len(ends)} ends after 60 s"
        for p in processes:
            p.join(30)
        assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    finally:
        stop.set()
        for p in processes:
            if p.is_alive():
                p.kill()
    lost = {i: t for i, t in ticks.items() if sorted(t, key=str) != sorted(range(1, 11), key=str)}
    assert not lost, f"{len(lost)} sessions' ticks were not 1 to 10, e.g. {list(lost.items())[:2]}"
    assert len(ends) == len(ids), f"{len(ends)} ends for {len(ids)} sessions"
    assert sorted(e[0] for e in ends) == sorted(ids), "each session ended exactly once"
    assert {(reason, views) for _, reason, views in ends} == {("idle", 10)}
