"""A store that fails (``sojourn.testing.FaultSwitch``): every call that
reaches it raises ``StoreError``, changes nothing, and the tracker goes on
from where it was once the store answers; a failing sweep is warned once,
on the calling thread or on the driver's."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Callable

import pytest

import sojourn
import sojourn.testing
from sojourn import SojournError, SojournWarning, StoreError
from sojourn.testing import FaultSwitch
from support import run_python

ADDRESS = "faulty://sojourn"


@pytest.fixture
def switch() -> FaultSwitch:
    return FaultSwitch()


@pytest.fixture
def tracker(clock: sojourn.MockClock, switch: FaultSwitch) -> Iterator[sojourn.Tracker]:
    with sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, fault_switch=switch) as t:
        yield t
        switch.fail(False)  # so that close's last sweep does not warn


def store_calls(t: sojourn.Tracker, live: sojourn.Session) -> dict[str, Callable[[], object]]:
    """Every call of the tracker that reads or writes the store."""
    return {
        "start": lambda: t.start("u"),
        "get": lambda: t.get(live.id),
        "peek": lambda: t.peek(live.id),
        "exists": lambda: t.exists(live.id),
        "track": lambda: t.track(live.id, "view"),
        "track_many": lambda: t.track_many([live.id, live.id], "event"),
        "identify": lambda: t.identify(live.id, "v"),
        "set_attrs": lambda: t.set_attrs(live.id, {"plan": "pro"}),
        "end": lambda: t.end(live.id),
        "sessions": lambda: t.sessions(),
        "sessions of a user": lambda: t.sessions("u"),
        "count": lambda: t.count(),
        "count of a user": lambda: t.count("u"),
        "len": lambda: len(t),
        "size": lambda: t.size,
        "end_user": lambda: t.end_user("u"),
        "forget_user": lambda: t.forget_user("u"),
        "end_all": lambda: t.end_all(),
        "reassign_user": lambda: t.reassign_user("u", "v"),
        "stats": lambda: t.stats(),
        "sweep": lambda: t.sweep(),
        "resume": lambda: t.resume(live.token),
        "resume without a token": lambda: t.resume(None),
        "revive": lambda: t.revive(live.id, view_sequence=5),
    }


def test_every_call_that_reaches_the_store_raises_and_changes_nothing(
    tracker: sojourn.Tracker, switch: FaultSwitch, clock: sojourn.MockClock
) -> None:
    live = tracker.start("u", {"page": "/"})
    tracker.track(live.id, "view")
    before = (tracker.sessions(), tracker.stats())

    switch.fail(True)
    clock.advance(1)
    calls = store_calls(tracker, live)
    with pytest.warns(SojournWarning) as said:
        for name, call in calls.items():
            with pytest.raises(StoreError) as caught:
                call()
            err = caught.value
            assert isinstance(err, SojournError), name
            assert err.code == "STORE_ERROR", name
            assert err.address == ADDRESS, name
            assert err.cause == "the store is switched to fail", name
            assert ADDRESS in str(err), name
            assert vars(err) == vars(StoreError(str(err), address=err.address, cause=err.cause)), name
    assert len(calls) == 24
    # The first call that swept (sessions) warned; none after it.
    assert [w.message.code for w in said] == ["STORE_ERROR"]  # type: ignore[union-attr]
    # What needs no store still answers.
    assert tracker.token(live.id) == live.token == live.id
    assert not tracker.closed

    switch.fail(False)
    assert (tracker.sessions(), tracker.stats()) == before, "a failed call changed nothing"
    tick = tracker.track(live.id, "view")
    assert (tick.view_sequence, tick.event_sequence) == (2, 0), "tracking goes on from where it was"
    assert tracker.peek(live.id).attrs == {"page": "/"}  # type: ignore[union-attr]
    assert tracker.sessions("u") == [tracker.peek(live.id)] and len(tracker) == 1


def test_the_repr_does_not_raise_while_the_store_fails(tracker: sojourn.Tracker, switch: FaultSwitch) -> None:
    live = tracker.start()
    assert repr(tracker) == "<sojourn.Tracker live=1>"
    switch.fail(True)
    assert repr(tracker) == "<sojourn.Tracker live=?>"
    # The sweep of repr's count failed: its warning comes with the next call.
    with pytest.warns(SojournWarning) as said, pytest.raises(StoreError):
        tracker.exists(live.id)
    assert [w.message.code for w in said] == ["STORE_ERROR"]  # type: ignore[union-attr]
    switch.fail(False)
    assert repr(tracker) == "<sojourn.Tracker live=1>"
    tracker.close()
    assert repr(tracker) == "<sojourn.Tracker live=1 closed>"


def test_a_failing_sweep_is_warned_once_until_the_store_answers(
    tracker: sojourn.Tracker, switch: FaultSwitch
) -> None:
    switch.fail(True)
    with pytest.warns(SojournWarning) as said:
        for _ in range(3):
            with pytest.raises(StoreError):
                tracker.sweep()
    assert [w.message.code for w in said] == ["STORE_ERROR"]  # type: ignore[union-attr]
    assert "sweep failed" in str(said[0].message) and ADDRESS in str(said[0].message)
    assert said[0].filename == __file__, "warned where the call was made"

    switch.fail(False)
    assert tracker.sweep() == 0  # no warning: filterwarnings = error would raise it
    switch.fail(True)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        with pytest.raises(StoreError):
            tracker.sweep()
        with pytest.raises(StoreError):
            tracker.sweep()
    codes = [w.message.code for w in again if isinstance(w.message, SojournWarning)]
    assert codes == ["STORE_ERROR"], "said again once the store had answered"


def test_under_warnings_as_errors_the_first_failing_sweep_raises_its_warning(
    tracker: sojourn.Tracker, switch: FaultSwitch
) -> None:
    """As Python code that warns, then raises, would: the warning first."""
    switch.fail(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SojournWarning) as warned:
            tracker.stats()
        assert warned.value.code == "STORE_ERROR"
        with pytest.raises(StoreError):
            tracker.stats()


def test_a_failing_close_does_not_raise(clock: sojourn.MockClock) -> None:
    switch = FaultSwitch()
    t = sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, fault_switch=switch)
    t.start()
    switch.fail(True)
    with pytest.warns(SojournWarning, match="sweep failed"):
        assert t.close() == 0, "its last sweep failed; it neither hangs nor raises"
    assert t.closed


def test_one_switch_drives_several_trackers(clock: sojourn.MockClock) -> None:
    switch = FaultSwitch()
    trackers = [
        sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, fault_switch=switch) for _ in range(2)
    ]
    other = sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0)
    switch.fail(True)
    for t in trackers:
        with pytest.raises(StoreError):
            t.start()
    assert other.start().session_index == 1, "a tracker without the switch is not affected"
    switch.fail(False)
    for t in [*trackers, other]:
        t.start()
        t.close()


def test_the_switch_is_typed() -> None:
    switch = FaultSwitch()
    assert type(switch).__module__ == "sojourn.testing" and FaultSwitch.__doc__
    assert sojourn.DEFAULTS["fault_switch"] is None
    with pytest.raises(TypeError):
        switch.fail("yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        switch.fail()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, fault_switch=True)  # type: ignore[arg-type]
    assert sojourn.testing.__all__ == ["FaultSwitch"] and "StoreError" in (sojourn.testing.__doc__ or "")


def test_the_drivers_failing_sweeps_are_warned_once_from_its_thread() -> None:
    """With a background driver, the warning is given on its thread, at
    once: no call of the application's returns there."""
    result = run_python(
        """
        import threading, time, warnings, sojourn
        from sojourn.testing import FaultSwitch

        said = []
        def show(message, category, filename, lineno, file=None, line=None):
            said.append((category.__name__, message.code, threading.current_thread() is threading.main_thread()))
        warnings.showwarning = show
        warnings.simplefilter("always")

        def wait(n):
            deadline = time.monotonic() + 10
            while len(said) < n and time.monotonic() < deadline:
                time.sleep(0.001)

        switch = FaultSwitch()
        clock = sojourn.MockClock()
        swept = threading.Event()
        t = sojourn.Tracker(
            unsigned_tokens=True, clock=clock, idle_timeout=60, sweep_interval=0.001,
            fault_switch=switch, on_end=lambda end: swept.set(),
        )
        s = t.start()
        switch.fail(True)
        wait(1)
        time.sleep(0.1)  # about a hundred sweeps more fail, unsaid
        print(said, flush=True)
        switch.fail(False)
        clock.advance(61)
        assert swept.wait(10)  # a sweep went through: the store answers again
        time.sleep(0.1)  # and that sweep is over
        s = t.start()
        switch.fail(True)
        wait(2)
        switch.fail(False)
        print(len(said), t.track(s.id, "view").view_sequence, flush=True)
        """
    )
    assert result.stderr == ""
    assert result.stdout.splitlines() == ["[('SojournWarning', 'STORE_ERROR', False)]", "2 1"]
    assert result.returncode == 0
