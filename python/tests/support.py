"""Helpers for the tests that need real time or a separate interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from typing import Callable

import pytest

#: Where the scenarios' clock starts: 2026-01-01T00:00:00Z, 1767225600000 ms.
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Polls `condition` until it holds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not true after {timeout} s: {condition}")
        time.sleep(0.005)


def run_python(code: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a new interpreter of this environment; a hang fails
    the test instead of hanging the suite."""
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the interpreter hung for {timeout} s; it printed {e.stdout!r} {e.stderr!r}")


#: A script prelude: when it ends, the driver thread of tracker `t` is
#: inside `on_end`, which sleeps 0.3 s (releasing the GIL), then needs the
#: GIL back to print "callback done".
IN_CALLBACK = textwrap.dedent(
    """
    import threading, time, sojourn
    entered = threading.Event()
    def on_end(end):
        entered.set()
        time.sleep(0.3)
        print("callback done", flush=True)
    clock = sojourn.MockClock()
    t = sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0.01, idle_timeout=1, on_end=on_end)
    t.start()
    clock.advance(2)
    assert entered.wait(10)
    """
)
