"""Threads: many threads on the same sessions lose no tick and repeat none;
and a callback that needs the GIL never deadlocks a caller: the calls that
wait on other threads release the GIL, and the core holds no store lock
while it calls back."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Callable

import sojourn
from support import IN_CALLBACK, run_python, wait_until

THREADS = 8
TRACKS = 2_000


Ticks = dict[str, list[tuple[str, sojourn.Tick]]]


def run_threads(work: Callable[[], None], n: int) -> None:
    """Runs `work` on `n` threads and fails if any is still running after a minute."""
    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "deadlocked"


def test_many_threads_on_the_same_sessions_lose_no_tick(
    tracker: sojourn.Tracker, clock: sojourn.MockClock
) -> None:
    sessions = [tracker.start().id for _ in range(4)]
    ticks: Ticks = defaultdict(list)
    lock = threading.Lock()

    def work(n: int) -> None:
        mine: Ticks = defaultdict(list)
        for i in range(TRACKS):
            sid = sessions[(n + i) % len(sessions)]
            kind = "view" if (n + i) % 3 else "event"
            mine[sid].append((kind, tracker.track(sid, kind)))
            if i % 100 == 0:
                tracker.get(sid)
                clock.advance(0.001)
        with lock:
            for sid, got in mine.items():
                ticks[sid].extend(got)

    in_threads(work)
    assert sum(len(v) for v in ticks.values()) == THREADS * TRACKS
    assert_each_tick_once(tracker, ticks)


def test_many_threads_tracking_batches_lose_no_tick(tracker: sojourn.Tracker) -> None:
    """The same with `track_many`: batches that repeat ids, hold one that is
    not live, and release the GIL once each."""
    sessions = [tracker.start().id for _ in range(12)]
    unknown = "6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f"
    ticks: Ticks = defaultdict(list)
    lock = threading.Lock()

    def work(n: int) -> None:
        mine: list[tuple[str, str, sojourn.Tick]] = []
        for b in range(TRACKS // 50):
            batch = [sessions[(i * (n + 1) + b) % len(sessions)] for i in range(50)]
            batch.insert(b % 50, unknown)
            kind = "view" if (n + b) % 3 else "event"
            got = tracker.track_many(batch, kind)
            assert got[b % 50] is None and len(got) == 51
            mine.extend((sid, kind, tick) for sid, tick in zip(batch, got) if tick is not None)
        with lock:
            for sid, kind, tick in mine:
                ticks[sid].append((kind, tick))

    in_threads(work)
    assert sum(len(v) for v in ticks.values()) == THREADS * TRACKS
    assert_each_tick_once(tracker, ticks)


def in_threads(work: Callable[[int], None]) -> None:
    """Runs `work(n)` on THREADS threads at once, n from 0; fails if any raised."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def assert_each_tick_once(tracker: sojourn.Tracker, ticks: Ticks) -> None:
    """Each session's views, events and sequences are numbered from 1, each
    number once, and its counters end at those numbers."""
    for sid, got in ticks.items():
        views = sorted(t.view_sequence for kind, t in got if kind == "view")
        events = sorted(t.event_sequence for kind, t in got if kind == "event")
        assert views == list(range(1, len(views) + 1)), "no view lost or repeated"
        assert events == list(range(1, len(events) + 1)), "no event lost or repeated"
        assert sorted(t.sequence for _, t in got) == list(range(1, len(got) + 1))
        assert all(t.sequence == t.view_sequence + t.event_sequence for _, t in got)
        final = tracker.peek(sid)
        assert final is not None and (final.view_sequence, final.event_sequence) == (len(views), len(events))
    stats = tracker.stats()
    assert stats.views + stats.events == sum(len(got) for got in ticks.values())


def test_threads_run_in_parallel_with_a_callback_that_calls_back(tracker: sojourn.Tracker) -> None:
    """Threads start, track and end sessions while `sweep` delivers ends to
    a callback that itself calls the tracker, from several threads."""
    seen: list[str] = []

    def on_end(end: sojourn.SessionEnd) -> None:
        assert inner.peek(end.session.id) is None
        inner.stats()
        seen.append(end.session.id)

    inner = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, on_end=on_end)

    def work() -> None:
        for _ in range(300):
            s = inner.start()
            inner.track(s.id, "view")
            inner.end(s.id)
            inner.sweep()

    run_threads(work, 4)
    inner.close()
    assert len(seen) == 4 * 300 and len(set(seen)) == len(seen), "each end delivered exactly once"


def test_the_driver_delivers_ends_from_its_own_thread() -> None:
    clock = sojourn.MockClock()
    threads: list[str] = []
    ends: list[sojourn.SessionEnd] = []

    def on_end(end: sojourn.SessionEnd) -> None:
        threads.append(threading.current_thread().name)
        ends.append(end)

    with sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0.01, on_end=on_end, idle_timeout=60) as tracker:
        s = tracker.start()
        clock.advance(61)
        wait_until(lambda: len(ends) == 1)
        assert ends[0].session.id == s.id and ends[0].reason is sojourn.EndReason.IDLE
        assert threads[0] != threading.main_thread().name


def test_close_while_the_driver_is_in_a_callback_does_not_deadlock() -> None:
    """`close` joins the driver thread, which is inside `on_end` and needs
    the GIL back after sleeping: `close` must not hold the GIL meanwhile."""
    result = run_python(IN_CALLBACK + 't.close()\nprint("closed", flush=True)', timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["callback done", "closed"]


def test_dropping_the_tracker_while_the_driver_is_in_a_callback_does_not_deadlock() -> None:
    """The same when the last reference goes and the tracker is dropped."""
    result = run_python(IN_CALLBACK + 'del t\nimport gc; gc.collect()\nprint("dropped", flush=True)', timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["callback done", "dropped"]


def test_calls_that_keep_the_gil_never_deadlock_with_the_driver() -> None:
    """Calls on one session keep the GIL while the driver delivers ends, all
    the time, to a callback that needs it: neither waits for the other."""
    seen: list[str] = []
    tracker = sojourn.Tracker(unsigned_tokens=True, idle_timeout=0.002, sweep_interval=0.001, on_end=lambda e: seen.append(e.session.id))

    def work() -> None:
        for _ in range(2_000):
            s = tracker.start()
            try:
                tracker.track(s.id, "view")
                tracker.get(s.id)
                tracker.identify(s.id, "user")
                tracker.resume(s.token)
            except sojourn.SessionNotFound:
                pass  # it may idle out (2 ms) between two calls

    run_threads(work, 4)
    tracker.end_all()
    tracker.close()
    assert len(set(seen)) == len(seen) >= 4 * 2_000


def test_close_racing_a_sweep_leaves_nothing_pending(clock: sojourn.MockClock) -> None:
    """A ``sweep()`` on another thread delivers one batch while ``close()``
    runs: ``close()`` waits for it and delivers the rest, every time."""
    for round in range(10):
        delivered: list[str] = []
        with sojourn.Tracker(
            unsigned_tokens=True, clock=clock, sweep_interval=0, on_end=lambda e: delivered.append(e.session.id)
        ) as tracker:
            for _ in range(150):
                tracker.start()
            clock.advance(3600)
            sweeper = threading.Thread(target=tracker.sweep)
            sweeper.start()
            assert tracker.close() == 0
            sweeper.join()
            assert tracker.stats().ends_pending == 0, f"round {round}"
            assert len(delivered) == 150, f"round {round}"


def test_a_mass_expiry_never_holds_up_a_track(clock: sojourn.MockClock) -> None:
    """200,000 sessions in one shard expire at once; a sweep on another
    thread sends them away in rounds, and a track (which keeps the GIL)
    goes through between rounds instead of waiting for the whole sweep."""
    with sojourn.Tracker(
        unsigned_tokens=True, clock=clock, sweep_interval=0, idle_timeout=60, max_dormant=1
    ) as tracker:
        for _ in range(200_000):
            tracker.start()
        clock.advance(61)
        live = tracker.start().id
        done = threading.Event()
        swept: list[int] = []
        sweeper = threading.Thread(target=lambda: (swept.append(tracker.sweep()), done.set()))
        sweeper.start()
        during = 0
        while not done.is_set():
            tracker.track(live, "view")
            during += 1
        sweeper.join()
        assert swept == [200_000]
        assert during >= 10, f"only {during} tracks went through during the sweep"
