"""Secrets never leak (issue #14): no token secret, snapshot key or Redis
password in any ``repr``, ``str``, exception (its message, attributes,
traceback, chained causes), warning, log record, pickle or file. Each
secret is a distinctive value, looked for as text, hex, base64 and as the
repr of its bytes; a test fails if one shows.

The Redis parts start a redis-server of their own, with ``requirepass``,
on a free port."""

from __future__ import annotations

import asyncio
import base64
import copy
import logging
import pickle
import shutil
import socket
import subprocess
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sojourn

SECRET = "Zq7-TOKEN-SECRET-xK2pL9-first"
OLD_SECRET = "Wv3-TOKEN-SECRET-mR8nQ4-older"
SHORT_SECRET = "Jx5-SHORT-sec"
KEY = b"K9f-SNAPSHOT-KEY-tH4wB7-32bytes!"
OTHER_KEY = b"P2d-SNAPSHOT-KEY-oZ6yC1-32bytes?"
PASSWORD = "Rn4-REDIS-PASSWORD-vE8sJ3"
WRONG_PASSWORD = "Gy6-WRONG-PASSWORD-aU1kT5"


def forms(secret: bytes) -> list[bytes]:
    """Every form in which ``secret`` could show."""
    found = [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
        repr(secret).encode(),
        repr(list(secret[:8]))[1:-1].encode(),
        repr(secret)[2:-1].encode(),  # inside a bytes repr, escaped
    ]
    if len(secret) > 16:
        found.append(secret[4:16])
    return found


ALL_FORMS = [
    form
    for secret in (
        SECRET.encode(),
        OLD_SECRET.encode(),
        SHORT_SECRET.encode(),
        KEY,
        OTHER_KEY,
        PASSWORD.encode(),
        WRONG_PASSWORD.encode(),
    )
    for form in forms(secret)
]


def assert_clean(what: str, shown: str | bytes) -> None:
    data = shown.encode("utf-8", "backslashreplace") if isinstance(shown, str) else shown
    for form in ALL_FORMS:
        assert form not in data, f"{what} shows a secret ({form!r}): {shown!r}"


def assert_clean_exception(what: str, exc: BaseException) -> None:
    """The exception's str, repr, args, attributes, traceback and chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        assert_clean(what, str(current))
        assert_clean(what, repr(current))
        assert_clean(what, repr(current.args))
        assert_clean(what, repr(vars(current)))
        assert_clean(what, repr(getattr(current, "__notes__", None)))
        assert_clean(what, "".join(traceback.format_exception(current)))
        current = current.__cause__ or current.__context__


def test_the_check_finds_each_form() -> None:
    for form in forms(SECRET.encode()):
        with pytest.raises(AssertionError):
            assert_clean("probe", b"<" + form + b">")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record of every logger, from DEBUG up."""
    with caplog.at_level(logging.DEBUG):
        yield caplog


def assert_clean_logs(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert_clean("log record", record.getMessage())
        assert_clean("log record", repr(record.args))
        assert_clean("log record", repr(record.__dict__))
    assert_clean("log text", caplog.text)


def test_reprs_of_a_keyed_tracker_and_its_objects_show_nothing(
    tmp_path: Path, logs: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    ends: list[sojourn.SessionEnd] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracker = sojourn.Tracker(
            secrets=[SECRET, OLD_SECRET.encode()],
            snapshot_key=KEY,
            snapshot=tmp_path / "own.snap",
            sweep_interval=0,
            on_end=ends.append,
        )
        with tracker:
            session = tracker.start("user-1", {"plan": "pro"})
            tick = tracker.track(session.id, "view")
            again, outcome = tracker.resume(session.token)
            assert outcome == "existing"
            for obj in (tracker, session, tick, again, tracker.stats(), tracker.save(tmp_path / "a.snap")):
                assert_clean("repr", repr(obj))
                assert_clean("str", str(obj))
            assert_clean("dir", repr(dir(tracker)))
            assert_clean("token", session.token)
            assert_clean("to_json", session.to_json())
            assert_clean("to_dict", repr(session.to_dict()))
            # A pickled session is the session's fields and its token.
            for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
                assert_clean("pickle", pickle.dumps(session, protocol))
            assert pickle.loads(pickle.dumps(session)) == session
            assert_clean("copy", repr(copy.deepcopy(session)))
            tracker.end(session.id)
        assert_clean("end", repr(ends))
        assert_clean("closed repr", repr(tracker))
        for w in caught:
            assert_clean("warning", str(w.message))
            assert_clean("warning", repr(w.message))
    for name in ("own.snap", "a.snap"):
        assert_clean(name, (tmp_path / name).read_bytes())
    out, err = capfd.readouterr()
    assert_clean("stdout", out)
    assert_clean("stderr", err)
    assert_clean_logs(logs)


def test_async_tracker_repr_shows_nothing() -> None:
    async def main() -> None:
        tracker = sojourn.AsyncTracker(secret=SECRET, snapshot_key=KEY, sweep_interval=0)
        try:
            session = await tracker.start()
            for obj in (tracker, session, tracker.tracker):
                assert_clean("repr", repr(obj))
            assert_clean("vars", repr(vars(tracker)))
        finally:
            await tracker.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    "options",
    [
        {"secret": SHORT_SECRET},
        {"secret": SHORT_SECRET.encode()},
        {"secret": bytearray(SHORT_SECRET.encode())},
        {"secrets": [SECRET, SHORT_SECRET]},
        {"secrets": SECRET},
        {"secrets": [SECRET, 12345]},
        {"secret": SECRET, "secrets": [OLD_SECRET]},
        {"secret": SECRET, "unsigned_tokens": True},
        {"secret": SECRET, "max_sessions": 0},
        {"secret": SECRET + "\ud800"},
        {"secret": SECRET, "snapshot_key": KEY[:31]},
        {"secret": SECRET, "snapshot_key": KEY + b"!"},
        {"secret": SECRET, "snapshot_key": bytearray(KEY[:20])},
        {"secret": SECRET, "snapshot_key": KEY.decode()},
        {"secret": SECRET, "snapshot_key": KEY.hex()},
        {"secret": SECRET, "snapshot_key": list(KEY)},
        {"secret": SECRET, "snapshot_key": memoryview(KEY)},
    ],
    ids=lambda options: "+".join(options),
)
def test_errors_for_bad_secrets_and_keys_show_neither(options: dict[str, Any], logs: pytest.LogCaptureFixture) -> None:
    with pytest.raises((sojourn.SojournError, TypeError, ValueError)) as caught:
        sojourn.Tracker(sweep_interval=0, **options)
    assert_clean_exception("error", caught.value)
    assert_clean_logs(logs)


def test_snapshot_errors_show_no_key(tmp_path: Path, logs: pytest.LogCaptureFixture) -> None:
    keyed, plain = tmp_path / "keyed.snap", tmp_path / "plain.snap"
    with sojourn.Tracker(secret=SECRET, snapshot_key=KEY, sweep_interval=0) as tracker:
        tracker.start("user-1")
        tracker.save(keyed)
    with sojourn.Tracker(secret=SECRET, sweep_interval=0) as tracker:
        tracker.start()
        tracker.save(plain)
    altered = tmp_path / "altered.snap"
    data = bytearray(keyed.read_bytes())
    data[-20] ^= 0x55
    altered.write_bytes(bytes(data))
    for path, key in [(keyed, OTHER_KEY), (keyed, None), (plain, KEY), (altered, KEY)]:
        with pytest.raises(sojourn.SnapshotError) as caught:
            sojourn.Tracker.load(path, secret=SECRET, snapshot_key=key, sweep_interval=0)
        assert_clean_exception("snapshot error", caught.value)
    for path in (keyed, plain):
        assert_clean(path.name, path.read_bytes())
    # A tracker's own snapshot that cannot be saved: a SojournWarning.
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        own = sojourn.Tracker(
            secret=SECRET,
            snapshot_key=KEY,
            snapshot=tmp_path / "missing" / "dir" / "own.snap",
            sweep_interval=0,
        )
        own.start()
        own.close()  # the save fails: a SNAPSHOT_ERROR warning
    assert caught_warnings, "the failed save warns"
    for w in caught_warnings:
        assert_clean("warning", str(w.message))
    assert_clean_logs(logs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def redis_with_password() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A redis-server of the test's own that asks for PASSWORD."""
    server = shutil.which("redis-server")
    assert server, "redis-server (Debian: apt-get install redis-server)"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--requirepass", PASSWORD],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
    try:
        yield port, process
    finally:
        process.kill()
        process.wait()


def test_redis_errors_warnings_and_logs_show_no_password(
    redis_with_password: tuple[int, subprocess.Popen[bytes]],
    logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    port, server = redis_with_password
    prefix = f"secrets-{port}"
    refused = [
        {"redis_url": f"redis://:{WRONG_PASSWORD}@127.0.0.1:{port}"},
        {"redis_url": f"redis://default:{WRONG_PASSWORD}@127.0.0.1:{port}/0"},
        {"redis_url": f"redis://:{PASSWORD}@127.0.0.1:1"},
        {"redis_url": f"redis://:{PASSWORD}@127.0.0.1:{port}/not-a-db"},
        {"redis_url": f"redis://:{PASSWORD}/x@127.0.0.1:{port}"},
        {"redis_url": PASSWORD},
        {"redis_url": PASSWORD.encode()},
        {"redis_cluster": [f"redis://:{PASSWORD}@127.0.0.1:1", f"redis://:{PASSWORD}@127.0.0.1:2"]},
        {"redis_cluster": [f"redis://:{PASSWORD}@127.0.0.1:1", f"redis://:{WRONG_PASSWORD}@127.0.0.1:2"]},
        {"redis_cluster": [f"redis://:{PASSWORD}/x@127.0.0.1:1"]},
        {"redis_cluster": f"redis://:{PASSWORD}@127.0.0.1:1"},
        {"redis_url": f"redis://:{PASSWORD}@127.0.0.1:{port}", "redis_cluster": [f"redis://:{PASSWORD}@h:1"]},
    ]
    for options in refused:
        with pytest.raises((sojourn.SojournError, TypeError)) as caught:
            sojourn.Tracker(secret=SECRET, sweep_interval=0, key_prefix=prefix, store_timeout=0.2, **options)
        assert_clean_exception(f"error for {sorted(options)}", caught.value)

    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        tracker = sojourn.Tracker(
            secret=SECRET,
            redis_url=f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
            key_prefix=prefix,
            sweep_interval=0.01,
            store_timeout=0.2,
        )
        assert_clean("repr", repr(tracker))
        session = tracker.start("user-1")
        server.kill()
        server.wait()
        for call in (lambda: tracker.track(session.id, "view"), tracker.sweep, lambda: tracker.get(session.id)):
            with pytest.raises(sojourn.StoreError) as caught:
                call()
            assert_clean_exception("store error", caught.value)
        assert_clean("repr", repr(tracker))
        # The driver's failed sweep: a warning given at a later call.
        time.sleep(0.1)
        with pytest.raises(sojourn.StoreError):
            tracker.exists(session.id)
        tracker.close()
    assert caught_warnings, "the failed sweeps warn"
    for w in caught_warnings:
        assert_clean("warning", str(w.message))
        assert_clean("warning", repr(w.message))
    out, err = capfd.readouterr()
    assert_clean("stdout", out)
    assert_clean("stderr", err)
    assert_clean_logs(logs)
