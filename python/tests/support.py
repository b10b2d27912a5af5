"""Helpers for the tests that need real time, a separate interpreter, or
a real Redis."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional

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


# Redis: the servers that scripts/with-redis starts (`make python-test`
# runs the tests under it), and helpers to pause, kill and restart one.


def redis_url() -> str:
    """The standalone Redis of scripts/with-redis: a test that needs one
    fails without it (never skips: that would hide the Redis store)."""
    return _redis_env("SOJOURN_REDIS_URL")


def redis_cluster() -> list[str]:
    """The node URLs of scripts/with-redis's three-master Redis Cluster."""
    return _redis_env("SOJOURN_REDIS_CLUSTER").split(",")


def _redis_env(var: str) -> str:
    value = os.environ.get(var)
    if value:
        return value
    pytest.fail(f"{var} is not set: run the tests through scripts/with-redis (make python-test does)")


_PREFIXES = itertools.count()


def unique_prefix(name: str) -> str:
    """A key prefix no other tracker of this run has: each tracker under
    its own starts from nothing, as a process's memory would."""
    return f"py-{name}-{os.getpid()}-{time.monotonic_ns()}-{next(_PREFIXES)}"


def store_options(store: str, name: str = "test") -> dict[str, Any]:
    """The keywords that put a tracker on `store` ("memory", "redis" or
    "cluster"), under a prefix of its own."""
    if store == "memory":
        return {}
    if store == "redis":
        return {"redis_url": redis_url(), "key_prefix": unique_prefix(name)}
    if store == "cluster":
        return {"redis_cluster": redis_cluster(), "key_prefix": unique_prefix(name)}
    raise AssertionError(f"unknown store {store}")


def redis_command(url: str, *args: str, timeout: float = 5.0) -> bytes:
    """Sends one command to the Redis at `url` (redis://host:port) on a
    connection of its own and returns its raw reply: the tests need no
    Redis client library."""
    host, port = url.removeprefix("redis://").split("/")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        conn.sendall(request.encode())
        reply = conn.recv(65536)
    if not reply or reply.startswith(b"-"):
        raise AssertionError(f"redis {args}: {reply!r}")
    return reply


def pause_redis(url: str, seconds: float, mode: str = "ALL") -> None:
    """CLIENT PAUSE: the Redis at `url` answers no client (or no write,
    with mode WRITE) for `seconds`, then goes on by itself."""
    redis_command(url, "CLIENT", "PAUSE", str(int(seconds * 1000)), mode)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class OwnRedis:
    """A redis-server of the test's own (no persistence) on a free port,
    to kill and restart: `with OwnRedis() as r: ... r.kill(); r.start()`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10)

    def _answers(self) -> bool:
        try:
            return redis_command(self.url, "PING", timeout=0.5) == b"+PONG\r\n"
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: gone at once, as a crashed server is."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def __enter__(self) -> "OwnRedis":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
