"""The process model: ``fork()`` (gunicorn ``--preload``, ``multiprocessing``),
a driver thread that cannot start, end floods against a slow ``on_end``,
and exit with ends still pending. Each runs in an interpreter of its own,
with a timeout: a hang fails the test instead of the suite."""

from __future__ import annotations

import os
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from support import run_python

#: Waits for a forked child at most 10 s; prints "hung" and kills it if
#: it does not exit by then.
REAP = """
import os, time
def reap(pid, limit=10.0):
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


def forking(code: str) -> str:
    """A script that defines ``reap``, then runs ``code``."""
    return REAP + textwrap.dedent(code)


def test_a_child_uses_the_parents_tracker_with_a_driver_of_its_own() -> None:
    result = run_python(
        forking(
            """
        import sys, sojourn
        got = []
        t = sojourn.Tracker(unsigned_tokens=True, idle_timeout=0.05, sweep_interval=0.01, on_end=got.append)
        t.start()  # the parent's: it stays the parent's
        pid = os.fork()
        if pid == 0:
            for _ in range(10):
                t.start()
            deadline = time.monotonic() + 10
            while len(got) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            print("child", len(got), t.stats().started, flush=True)
            sys.exit(0)  # exit closes the child's tracker: no hang, no panic
        print("exit", reap(pid), flush=True)
        deadline = time.monotonic() + 10
        while len(got) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        print("parent", len(got), t.stats().started, flush=True)
        """)
    )
    assert result.stderr == ""
    assert result.stdout.splitlines() == ["child 10 10", "exit 0", "parent 1 1"]


def test_a_child_that_makes_its_own_tracker_exits() -> None:
    result = run_python(
        forking(
            """
        import sys, sojourn
        parent = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.01, on_end=print)
        pid = os.fork()
        if pid == 0:
            mine = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.01, on_end=lambda e: None)
            mine.end(mine.start().id)
            sys.exit(0)
        print("exit", reap(pid), flush=True)
        """)
    )
    assert (result.stdout, result.stderr) == ("exit 0\n", "")


def test_forking_while_another_thread_holds_the_store_never_deadlocks_a_child() -> None:
    """A thread inside ``track_many`` (the GIL let go, shard locks held)
    while the main thread forks: a child's copy of those locks is held by
    a thread it does not have. Every child must still use the tracker."""
    result = run_python(
        forking(
            """
        import threading, sojourn
        t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.01, on_end=lambda e: None)
        ids = [t.start().id for _ in range(2000)]
        def spin():
            while True:
                t.track_many(ids, "view")
                t.count()
        threading.Thread(target=spin, daemon=True).start()
        outcomes = []
        for _ in range(100):
            pid = os.fork()
            if pid == 0:
                s = t.start()
                t.track(s.id, "view")
                t.track_many(ids[:50], "event")
                assert t.count() == 1
                t.end(s.id)
                t.close()
                os._exit(0)
            outcomes.append(reap(pid))
        print(sorted(set(map(str, outcomes))), outcomes.count("hung"), flush=True)
        """),
        timeout=240,
    )
    assert result.stdout == "['0'] 0\n", result.stderr
    assert result.stderr == ""


def test_children_never_make_the_same_session_ids() -> None:
    """The random generator is renewed in a child: without that, every
    child forked from one parent draws the same random bits."""
    result = run_python(
        forking(
            """
        import sojourn
        t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0)
        t.start()
        r, w = os.pipe()
        pids = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                os.write(w, (t.start().id + "\\n").encode())
                os._exit(0)
            pids.append(pid)
        print([reap(p) for p in pids], flush=True)
        os.close(w)
        print(os.read(r, 1000).decode(), end="", flush=True)
        """)
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "[0, 0, 0, 0]", result.stderr
    ids = [uuid.UUID(line) for line in lines[1:]]
    assert len(ids) == 4
    # A UUIDv7's last 74 bits are random: no two children may share them.
    random_bits = {i.int & ((1 << 74) - 1) for i in ids}
    assert len(random_bits) == 4


def test_a_multiprocessing_child_delivers_its_pending_ends_when_it_leaves() -> None:
    """``multiprocessing`` children leave with ``os._exit`` (no ``atexit``):
    the package closes their trackers through ``multiprocessing.util``."""
    result = run_python(
        """
        import multiprocessing, os, sojourn
        r, w = os.pipe()
        t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, on_end=lambda e: os.write(w, b"E"))
        def work():
            for _ in range(3):
                t.end(t.start().id)  # pending: no driver, no sweep
        p = multiprocessing.get_context("fork").Process(target=work)
        p.start()
        p.join(30)
        os.close(w)
        print(p.exitcode, os.read(r, 100), flush=True)
        """
    )
    assert (result.stdout, result.stderr) == ("0 b'EEE'\n", "")


def test_a_driver_that_cannot_start_is_reported_and_calls_do_its_work(tmp_path: Path) -> None:
    cgroup = Path("/sys/fs/cgroup/pids")
    if os.geteuid() == 0 and os.access(cgroup, os.W_OK):
        limit = cgroup / f"sojourn-test-{os.getpid()}-{time.monotonic_ns()}"
        limit.mkdir()
        (limit / "pids.max").write_text("1")
        confine = f"open({str(limit / 'cgroup.procs')!r}, 'w').write(str(os.getpid()))"
    elif os.geteuid() != 0:
        limit = None
        confine = "import resource; resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))"
    else:
        pytest.skip("as root, refusing threads needs a writable pids cgroup")
    try:
        result = run_python(
            f"""
            import os, threading, warnings
            {confine}
            try:
                threading.Thread(target=print).start()
                raise SystemExit("threads are not refused here")
            except RuntimeError:
                pass
            import sojourn
            ends = []
            clock = sojourn.MockClock()
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always")
                t = sojourn.Tracker(
                    unsigned_tokens=True, clock=clock, idle_timeout=60, sweep_interval=1, on_end=ends.append
                )
            print([w.message.code for w in said], flush=True)
            t.end(t.start().id)
            print(len(ends), flush=True)  # delivered by the call that ended it
            t.start()
            clock.advance(61)
            t.start()  # the first call past the interval sweeps
            print(len(ends), [e.reason.value for e in ends], flush=True)
            """
        )
    finally:
        if limit is not None:
            limit.rmdir()
    assert result.stdout.splitlines() == ["['NO_DRIVER']", "1", "2 ['ended', 'idle']"], result.stderr
    assert result.stderr == ""


def test_a_slow_on_end_never_grows_memory_without_bound() -> None:
    """An ``on_end`` of 5 ms against ends arriving far faster: the pending
    ends stay under ``max_pending_ends`` (the oldest dropped, counted) and
    memory stays flat, instead of growing with every end."""
    result = run_python(
        """
        import time, sojourn
        def rss_mb():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        t = sojourn.Tracker(
            unsigned_tokens=True, sweep_interval=0.01, max_pending_ends=20_000, close_timeout=0.2, retention=0,
            on_end=lambda e: time.sleep(0.005),
        )
        def flood(n):
            for _ in range(n):
                t.end(t.start(attrs={"page": "/a/page/of/some/length"}).id)
        flood(100_000)
        before = rss_mb()
        flood(300_000)
        after = rss_mb()
        s = t.stats()
        print(s.ends_pending <= 20_000, s.ends_dropped > 250_000, flush=True)
        print(f"growth {after - before:.1f} MB", flush=True)
        began = time.monotonic()
        dropped = t.close()
        print(dropped > 0, time.monotonic() - began < 2, t.stats().ends_pending, flush=True)
        """
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "True True", result.stderr
    growth = float(lines[1].split()[1])
    assert growth < 15, f"RSS grew by {growth} MB over 300,000 more ends"
    assert lines[2] == "True True 0"
    assert "SojournWarning" in result.stderr and "session ends were dropped" in result.stderr


def test_exit_waits_for_pending_ends_a_bounded_time_and_says_what_it_dropped() -> None:
    began = time.monotonic()
    result = run_python(
        """
        import time, sojourn
        t = sojourn.Tracker(
            unsigned_tokens=True, sweep_interval=0, close_timeout=0.3,
            on_end=lambda e: time.sleep(0.05),
        )
        for _ in range(200):
            t.end(t.start().id)  # 10 s of callbacks pending at exit
        print("leaving", flush=True)
        """
    )
    took = time.monotonic() - began
    assert (result.returncode, result.stdout) == (0, "leaving\n")
    assert took < 5, f"exit took {took:.1f} s"
    assert "SojournWarning" in result.stderr and "session ends were dropped at close" in result.stderr


def test_the_process_helpers_can_fail() -> None:
    """``reap`` reports a child that never exits."""
    result = run_python(
        forking(
            """
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        print(reap(pid, limit=0.2), flush=True)
        """)
    )
    assert result.stdout == "hung\n"
