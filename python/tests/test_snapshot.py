"""Snapshots from Python (``docs/snapshots.md``): what one tracker saves,
the next one loads, with users, attributes, counters and remembered
sessions; what idled out while no process ran ends once, at its deadline;
a bad file raises ``SnapshotError`` and makes no tracker; a tracker's own
``snapshot`` is saved on ``close()`` and at exit, never by a child after
``fork()``; a save lets other threads go on; the key never shows."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import warnings
from datetime import timedelta
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import sojourn
from sojourn import AsyncTracker, EndReason, Outcome, SnapshotCounts, SnapshotError, SojournWarning
from support import EPOCH, run_python, store_options, wait_until

#: A key whose bytes are easy to find in any text that would leak it.
KEY = b"K3Y!" * 8
OTHER_KEY = bytes(range(32))
IDLE = timedelta(minutes=30)


@pytest.fixture(autouse=True)
def collected() -> Iterator[None]:
    """Collects this test's trackers as it ends: a traceback kept by
    ``pytest.raises`` holds them in a cycle, and a tracker collected during
    a later test would give, as it is dropped, the warnings that test's
    calls left pending on the thread (as in ``test_redis.py``)."""
    yield
    gc.collect()


def make(clock: sojourn.MockClock, ends: list[sojourn.SessionEnd], **options: Any) -> sojourn.Tracker:
    """A tracker on `clock` with no driver: its ends go to `ends`."""
    return sojourn.Tracker(
        unsigned_tokens=True, clock=clock, sweep_interval=0, idle_timeout=IDLE, on_end=ends.append, **options
    )


def trackers_alive() -> int:
    gc.collect()
    return sum(type(o) is sojourn.Tracker for o in gc.get_objects())


def test_a_restart_keeps_users_attrs_counters_and_remembered_sessions(
    tmp_path: Path, clock: sojourn.MockClock
) -> None:
    path = tmp_path / "sessions.snap"
    first = make(clock, [])
    attrs: dict[str, sojourn.AttrValue] = {"plan": "pro", "n": 3, "x": 1.5, "beta": True, "ref": None}
    kept = first.start(user_id="ann", attrs=attrs)
    for kind in ("view", "event", "view"):
        first.track(kept.id, kind)
    gone = first.start(user_id="bob")
    clock.advance(60)
    first.end(gone.id)
    counts = first.save(path)
    assert isinstance(counts, SnapshotCounts)
    assert (counts.live, counts.dormant) == (1, 1)
    before = first.peek(kept.id)
    assert first.stats().loaded == 0
    first.close()

    ends: list[sojourn.SessionEnd] = []
    second = sojourn.Tracker.load(
        path, unsigned_tokens=True, clock=clock, sweep_interval=0, idle_timeout=IDLE, on_end=ends.append
    )
    assert second.peek(kept.id) == before, "every field as it was saved"
    assert second.peek(kept.id).attrs == attrs  # type: ignore[union-attr]
    assert [s.id for s in second.sessions("ann")] == [kept.id], "the user index is rebuilt"
    tick = second.track(kept.id, "view")
    assert (tick.view_sequence, tick.event_sequence, tick.sequence) == (3, 1, 4), "counting on"
    stats = second.stats()
    assert (stats.loaded, stats.live, stats.dormant, stats.started) == (2, 1, 1, 0)
    # The remembered record of the ended session: its token starts a
    # session linked to it, never the same one.
    linked, outcome = second.resume(gone.token)
    assert outcome is Outcome.STARTED
    assert (linked.previous_id, linked.session_index) == (gone.id, 2)
    with pytest.raises(sojourn.SessionNotRevivable):
        second.revive(gone.id)
    second.close()
    assert ends == []


def test_load_is_the_load_keyword_and_takes_any_path(tmp_path: Path, clock: sojourn.MockClock) -> None:
    path = tmp_path / "s.snap"
    with make(clock, []) as first:
        s = first.start(user_id="ann")
        assert first.save(str(path)) == first.save(path)

    class Where:
        def __fspath__(self) -> str:
            return str(path)

    loaded = [
        make(clock, [], load=path),
        make(clock, [], load=str(path)),
        make(clock, [], load=Where()),
        sojourn.Tracker.load(Where(), unsigned_tokens=True, clock=clock, sweep_interval=0),
        sojourn.Tracker.load(str(path), unsigned_tokens=True, clock=clock),  # a driver, the defaults
    ]
    for t in loaded:
        assert isinstance(t, sojourn.Tracker)
        assert t.peek(s.id) == s and t.stats().loaded == 1
        t.close()
    with pytest.raises(TypeError, match="once"):
        sojourn.Tracker.load(path, load=path)
    with pytest.raises(TypeError, match="load must be a str or os.PathLike"):
        sojourn.Tracker.load(bytes(path))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown_option"):
        sojourn.Tracker.load(path, unknown_option=1)


def test_a_session_that_idled_out_while_down_ends_once_at_its_deadline(
    tmp_path: Path, clock: sojourn.MockClock
) -> None:
    path = tmp_path / "s.snap"
    first = make(clock, [])
    idle = first.start(attrs={"entry_page": "/pricing"})
    active = first.start(user_id="ann")
    clock.advance(timedelta(minutes=10))
    first.track(active.id, "view")
    first.save(path)
    first.close()

    clock.advance(timedelta(minutes=25))  # down: `idle` ran out 5 minutes ago
    ends: list[sojourn.SessionEnd] = []
    second = make(clock, ends, load=path)
    assert not second.exists(idle.id) and second.exists(active.id)
    second.sweep()
    assert len(ends) == 1
    end = ends[0]
    assert (end.session.id, end.reason, end.revivable) == (idle.id, EndReason.IDLE, False)
    assert end.ended_at == idle.expires_at == EPOCH + IDLE, "at its deadline, not at the load"
    assert end.session.attrs == {"entry_page": "/pricing"}
    second.sweep()
    back, outcome = second.resume(active.token)
    assert (outcome, back.user_id, back.view_sequence) == (Outcome.EXISTING, "ann", 1)
    stats = second.stats()
    assert (stats.loaded, stats.live, stats.ended.idle) == (2, 1, 1)
    second.close()
    assert len(ends) == 1, "reported once"


def test_the_driver_delivers_what_ran_out_while_down(tmp_path: Path, clock: sojourn.MockClock) -> None:
    """With a driver (not ``sweep_interval=0``), the end comes by itself."""
    path = tmp_path / "s.snap"
    with make(clock, []) as first:
        gone = first.start()
        first.save(path)
    clock.advance(timedelta(hours=1))
    ends: list[sojourn.SessionEnd] = []
    with sojourn.Tracker(unsigned_tokens=True, clock=clock, load=path, sweep_interval=0.01, on_end=ends.append):
        wait_until(lambda: len(ends) == 1)
    assert ends[0].session.id == gone.id and ends[0].reason is EndReason.IDLE


@pytest.mark.parametrize("store", ["memory", "redis", "cluster"])
def test_a_snapshot_moves_sessions_between_stores(tmp_path: Path, clock: sojourn.MockClock, store: str) -> None:
    """A save exports every session of the tracker's store (on Redis, those
    under its prefix); a load imports them into the new tracker's."""
    path = tmp_path / "s.snap"
    with make(clock, [], **store_options(store, "snapshot")) as first:
        s = first.start(user_id="ann", attrs={"k": "v"})
        first.track(s.id, "view")
        first.end(first.start().id)
        assert first.save(path) == first.save(path)
        counts = first.save(path)
        assert (counts.live, counts.dormant) == (1, 1)
        expected = first.peek(s.id)
    for target in ("memory", store):
        with make(clock, [], load=path, **store_options(target, "snapshot")) as second:
            assert second.peek(s.id) == expected
            assert second.count("ann") == 1 and second.stats().loaded == 2


def test_counts_compare_hash_and_repr(tmp_path: Path) -> None:
    with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0) as t:
        empty = t.save(tmp_path / "a.snap")
        t.start()
        one = t.save(tmp_path / "b.snap")
        again = t.save(tmp_path / "c.snap")
    assert (empty.live, empty.dormant, one.live, one.dormant) == (0, 0, 1, 0)
    assert one == again and one != empty and one != (1, 0)
    assert hash(one) == hash(again) and len({one, again, empty}) == 2
    assert repr(one) == "SnapshotCounts(live=1, dormant=0)"
    with pytest.raises(AttributeError):
        one.live = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        SnapshotCounts()


# Bad files: each raises SnapshotError naming the file, and no tracker is
# made (none is left to save over the file at exit).


def bad_file(kind: str, folder: Path) -> tuple[Path, dict[str, Any], str]:
    """A file of the `kind`, the options that load it, and what the error
    says is wrong."""
    plain, sealed = folder / "plain.snap", folder / "sealed.snap"
    with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0) as t:
        t.start(user_id="ann", attrs={"plan": "pro"})
        t.save(plain)
    with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, snapshot_key=KEY) as t:
        t.start(user_id="ann")
        t.save(sealed)
    bad = folder / f"{kind.replace(' ', '-')}.snap"
    data = plain.read_bytes()
    if kind == "missing":
        return bad, {}, "No such file"
    if kind == "a folder":
        bad.mkdir()
        return bad, {}, "directory"
    if kind == "empty":
        bad.write_bytes(b"")
        return bad, {}, "not a Sojourn snapshot"
    if kind == "truncated":
        bad.write_bytes(data[: len(data) - 3])
        return bad, {}, "truncated"
    if kind == "corrupt":
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x10
        bad.write_bytes(bytes(flipped))
        return bad, {}, "corrupt"
    if kind == "foreign":
        bad.write_bytes(b"user,views\nann,3\n" * 8)
        return bad, {}, "not a Sojourn snapshot"
    if kind == "wrong key":
        return sealed, {"snapshot_key": OTHER_KEY}, "does not open it"
    if kind == "no key":
        return sealed, {}, "no snapshot key was given"
    if kind == "plain with a key":
        return plain, {"snapshot_key": KEY}, "not encrypted"
    raise AssertionError(kind)


BAD_FILES = ["missing", "a folder", "empty", "truncated", "corrupt", "foreign", "wrong key", "no key", "plain with a key"]
#: Each bad file, loaded each way; a tracker's own snapshot may be missing
#: (it starts empty: tested below).
BAD_LOADS = [
    (how, kind)
    for how in ("load", "Tracker.load", "snapshot", "AsyncTracker")
    for kind in BAD_FILES
    if (how, kind) != ("snapshot", "missing")
]


@pytest.mark.parametrize(("how", "kind"), BAD_LOADS)
def test_a_bad_file_raises_snapshot_error_and_makes_no_tracker(
    tmp_path: Path, clock: sojourn.MockClock, kind: str, how: str
) -> None:
    path, options, problem = bad_file(kind, tmp_path)
    before = path.read_bytes() if path.is_file() else None
    alive = trackers_alive()
    ends: list[sojourn.SessionEnd] = []
    options.update(unsigned_tokens=True, clock=clock, on_end=ends.append)
    makers: dict[str, Callable[[], object]] = {
        "load": lambda: sojourn.Tracker(load=path, **options),
        "Tracker.load": lambda: sojourn.Tracker.load(path, **options),
        "snapshot": lambda: sojourn.Tracker(snapshot=path, snapshot_interval=0.001, **options),
        "AsyncTracker": lambda: AsyncTracker.load(path, **options),
    }
    with pytest.raises(SnapshotError) as caught:
        makers[how]()
    err = caught.value
    assert isinstance(err, sojourn.SojournError) and err.code == "SNAPSHOT_ERROR"
    assert err.path == str(path) and str(path) in str(err)
    assert problem in err.problem and err.problem in str(err)
    assert trackers_alive() == alive, "no tracker was made"
    assert ends == []
    after = path.read_bytes() if path.is_file() else None
    assert after == before, "nothing saved over the file"


def test_a_trackers_own_snapshot_may_be_missing_and_is_saved_on_close(
    tmp_path: Path, clock: sojourn.MockClock
) -> None:
    path = tmp_path / "own.snap"
    first = make(clock, [], snapshot=path)
    assert first.stats().loaded == 0 and not path.exists(), "no file yet: it starts empty"
    s = first.start(user_id="ann", attrs={"plan": "pro"})
    first.track(s.id, "view")
    assert not path.exists(), "saved on its interval (60 s) or close, not before"
    assert first.close() == 0
    assert path.is_file()
    second = make(clock, [], snapshot=path)
    back = second.peek(s.id)
    assert back is not None and (back.user_id, back.attrs, back.view_sequence) == ("ann", {"plan": "pro"}, 1)
    assert second.stats().loaded == 1
    second.close()


def test_the_driver_saves_the_snapshot_on_its_interval(tmp_path: Path, clock: sojourn.MockClock) -> None:
    path = tmp_path / "own.snap"
    with sojourn.Tracker(
        unsigned_tokens=True, clock=clock, snapshot=path, snapshot_interval=0.02, sweep_interval=0.005
    ) as t:
        s = t.start(user_id="ann")

        def saved() -> bool:
            if not path.exists():
                return False
            with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, clock=clock, load=path) as reader:
                return reader.exists(s.id)

        wait_until(saved)


def test_a_snapshot_that_cannot_be_saved_warns_once(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "own.snap"
    t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, snapshot=path)
    t.start()
    with pytest.warns(SojournWarning, match="saving the snapshot failed") as said:
        t.close()
    assert [w.message.code for w in said] == ["SNAPSHOT_ERROR"]  # type: ignore[union-attr]
    assert str(path) in str(said[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t.close()  # said once, until a save works
    with pytest.raises(SnapshotError) as caught:
        t.save(path)
    assert caught.value.path == str(path)


def test_a_snapshot_is_saved_at_exit_without_close(tmp_path: Path) -> None:
    """The exit hook closes the trackers still open, which saves their
    snapshots. The tracker is leaked on purpose (its reference count never
    reaches zero), so that only the exit hook can have saved it."""
    path = tmp_path / "exit.snap"
    result = run_python(
        f"""
        import ctypes, sojourn
        t = sojourn.Tracker(
            unsigned_tokens=True, sweep_interval=0,
            snapshot={str(path)!r}, snapshot_key=bytes.fromhex({KEY.hex()!r}),
        )
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(t))
        s = t.start(user_id="ann", attrs={{"plan": "pro"}})
        t.track(s.id, "view")
        print(s.id, flush=True)
        """
    )
    assert (result.returncode, result.stderr) == (0, "")
    sid = result.stdout.strip()
    with sojourn.Tracker.load(path, unsigned_tokens=True, sweep_interval=0, snapshot_key=KEY) as back:
        s = back.peek(sid)
        assert s is not None and (s.user_id, s.attrs, s.view_sequence) == ("ann", {"plan": "pro"}, 1)


def test_no_save_at_exit_without_the_hook(tmp_path: Path) -> None:
    """The check above can fail: a process that leaves without running the
    exit hook (``os._exit``) saves nothing."""
    path = tmp_path / "exit.snap"
    result = run_python(
        f"""
        import ctypes, os, sojourn
        t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, snapshot={str(path)!r})
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(t))
        t.start()
        os._exit(0)
        """
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert not path.exists()


def test_a_child_after_fork_does_not_save_the_parents_snapshot(tmp_path: Path) -> None:
    """The child's tracker is renewed without the parent's file: its
    sessions, its close() and its exit never write it. The parent's close
    does (a new file: another inode), with the parent's sessions only."""
    path = tmp_path / "parent.snap"
    result = run_python(
        f"""
        import os, sys, time, sojourn
        path = {str(path)!r}
        t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.005, snapshot=path, snapshot_interval=0)
        parent = t.start(user_id="parent")
        t.save(path)
        before = (os.stat(path).st_ino, os.stat(path).st_mtime_ns, open(path, "rb").read(), sorted(os.listdir({str(tmp_path)!r})))
        pid = os.fork()
        if pid == 0:
            child = t.start(user_id="child")
            print("child", child.id, t.stats().loaded, flush=True)
            time.sleep(0.05)  # the child's driver runs meanwhile
            t.close()
            sys.exit(0)       # exit closes it again
        _, status = os.waitpid(pid, 0)
        after = (os.stat(path).st_ino, os.stat(path).st_mtime_ns, open(path, "rb").read(), sorted(os.listdir({str(tmp_path)!r})))
        print("exit", os.waitstatus_to_exitcode(status), "unchanged", after == before, flush=True)
        t.close()
        print("parent", parent.id, "rewritten", os.stat(path).st_ino != before[0], flush=True)
        """
    )
    assert result.stderr == ""
    child, exit, parent = (line.split() for line in result.stdout.splitlines())
    assert child[0] == "child" and child[2] == "0", "the child loaded nothing"
    assert exit == ["exit", "0", "unchanged", "True"], "the child never wrote the file"
    assert parent[0] == "parent" and parent[2:] == ["rewritten", "True"]
    with sojourn.Tracker.load(path, unsigned_tokens=True, sweep_interval=0) as back:
        assert back.exists(parent[1]) and not back.exists(child[1])


def test_other_threads_track_while_a_save_runs(tmp_path: Path, clock: sojourn.MockClock) -> None:
    """Proof that ``save`` lets the GIL go for the whole save, without
    timing: the save writes a temporary file beside ``path``, which exists
    only while the save runs. Another thread sees it, then makes tracker
    calls (Python code, which needs the GIL), then sees it still there: it
    ran during the save. Were the GIL held for the whole save, a thread
    could run no Python code between a moment the temporary file existed
    and the save's end, when it is renamed away."""
    path = tmp_path / "big.snap"
    tracker = make(clock, [])
    for _ in range(200_000):
        tracker.start()
    live = tracker.start(user_id="ann").id
    during: list[tuple[sojourn.Tick, sojourn.Session]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            saving = set(os.listdir(tmp_path)) - {path.name}
            if saving:
                tick = tracker.track(live, "view")
                started = tracker.start()
                if saving & set(os.listdir(tmp_path)):
                    during.append((tick, started))
                    return

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(20):
            counts = tracker.save(path)
            assert counts.live >= 200_001
            if during:
                break
    finally:
        stop.set()
        watcher.join(60)
    assert during, "no thread ran Python code while a save was under way"
    (tick, started), = during
    assert tick.view_sequence == 1 and tracker.exists(started.id)
    tracker.close()


def test_the_async_tracker_saves_in_its_pool_and_loads(tmp_path: Path, clock: sojourn.MockClock) -> None:
    path = tmp_path / "async.snap"

    async def main() -> None:
        first = AsyncTracker(unsigned_tokens=True, clock=clock, sweep_interval=0, snapshot=path, snapshot_key=KEY)
        assert not first.store_is_remote
        s = await first.start(user_id="ann")
        await first.track(s.id, "view")
        assert first._executor is None, "the calls on the memory store ran inline"
        counts = await first.save(tmp_path / "explicit.snap")
        assert isinstance(counts, SnapshotCounts) and (counts.live, counts.dormant) == (1, 0)
        assert first._executor is not None, "the save ran in the pool"
        await first.close()  # saves its own snapshot
        second = AsyncTracker.load(path, unsigned_tokens=True, clock=clock, sweep_interval=0, snapshot_key=KEY)
        back = await second.get(s.id)
        assert back is not None and (back.user_id, back.view_sequence) == ("ann", 1)
        assert (await second.stats()).loaded == 1
        await second.close()

    asyncio.run(main())


def test_the_key_never_shows(tmp_path: Path, clock: sojourn.MockClock) -> None:
    """Not in a repr, an error, a warning or the defaults, however it is
    written (its bytes, hex, or repr)."""
    texts: list[str] = []
    tracker = make(clock, [], snapshot_key=KEY, snapshot=tmp_path / "no-such-folder" / "s.snap")
    tracker.start(user_id="ann")
    counts = tracker.save(tmp_path / "sealed.snap")
    texts += [repr(tracker), str(tracker), repr(counts), repr(tracker.stats()), repr(sojourn.DEFAULTS)]
    async_tracker = AsyncTracker(unsigned_tokens=True, sweep_interval=0, snapshot_key=KEY)
    texts.append(repr(async_tracker))
    failures: list[Callable[[], object]] = [
        lambda: make(clock, [], snapshot_key=OTHER_KEY, load=tmp_path / "sealed.snap"),
        lambda: make(clock, [], load=tmp_path / "sealed.snap"),
        lambda: make(clock, [], snapshot_key=KEY, load=tmp_path / "missing.snap"),
        lambda: make(clock, [], snapshot_key=KEY[:31]),
        lambda: make(clock, [], snapshot_key=KEY + b"!"),
        lambda: make(clock, [], snapshot_key=KEY.hex()),
        lambda: make(clock, [], snapshot_key=KEY.decode()),
        lambda: make(clock, [], snapshot_key=list(KEY)),
        lambda: tracker.save(tmp_path / "no-such-folder" / "s.snap"),
    ]
    for fail in failures:
        with pytest.raises(Exception) as caught:
            fail()
        err = caught.value
        assert isinstance(err, (SnapshotError, sojourn.InvalidArgument, TypeError)), repr(err)
        texts += [str(err), repr(err), repr(vars(err)), repr(err.args)]
    with pytest.warns(SojournWarning) as said:
        tracker.close()
    texts += [str(w.message) for w in said] + [repr(vars(w.message)) for w in said]
    async_tracker.tracker.close()
    assert len(texts) > 30
    for text in texts:
        for shown in (KEY.decode(), "K3Y!", KEY.hex(), KEY.hex().upper(), repr(KEY), str(list(KEY))[1:-1]):
            assert shown not in text, f"the key shows in {text!r}"
