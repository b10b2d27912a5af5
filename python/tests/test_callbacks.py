"""`on_end`: any callable; called once per departure; what it raises goes
to `sys.unraisablehook` and the tracker goes on."""

from __future__ import annotations

import functools
import gc
import sys
import weakref
from typing import Any

import pytest

import sojourn


def departures(tracker: sojourn.Tracker, clock: sojourn.MockClock, n: int) -> list[str]:
    """Starts `n` sessions and lets them idle out."""
    ids = [tracker.start().id for _ in range(n)]
    clock.advance(sojourn.DEFAULTS["idle_timeout"])
    assert tracker.sweep() == n
    return ids


class Recorder:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def __call__(self, end: sojourn.SessionEnd) -> None:
        self.ids.append(end.session.id)

    def method(self, end: sojourn.SessionEnd) -> None:
        self.ids.append(end.session.id)


def test_any_callable_works(clock: sojourn.MockClock) -> None:
    seen: list[Any] = []
    record = Recorder()

    def plain(end: sojourn.SessionEnd, tag: str = "") -> None:
        seen.append(tag + end.session.id)

    callables: list[Any] = [
        plain,
        lambda end: seen.append(end.session.id),
        record,
        record.method,
        functools.partial(plain, tag="p:"),
        seen.append,
    ]
    for callback in callables:
        seen.clear()
        record.ids.clear()
        with sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, on_end=callback) as tracker:
            ids = departures(tracker, clock, 2)
        got = [g.session.id if isinstance(g, sojourn.SessionEnd) else g.removeprefix("p:") for g in seen + record.ids]
        assert sorted(got) == sorted(ids), callback


def test_each_departure_is_delivered_once_with_its_summary(
    tracker: sojourn.Tracker, clock: sojourn.MockClock, ends: list[sojourn.SessionEnd]
) -> None:
    a = tracker.start(user_id="u")
    tracker.track(a.id, "view")
    b = tracker.start()
    assert tracker.end(b.id) is not None
    clock.advance(sojourn.DEFAULTS["idle_timeout"])
    tracker.sweep()
    tracker.sweep()
    assert [(e.session.id, e.reason) for e in ends] == [
        (b.id, sojourn.EndReason.ENDED),
        (a.id, sojourn.EndReason.IDLE),
    ]
    assert ends[1].session.view_sequence == 1 and ends[1].session.user_id == "u"
    assert ends[1].ended_at == a.started_at + sojourn.DEFAULTS["idle_timeout"]


def test_an_exception_goes_to_the_unraisable_hook_and_the_tracker_goes_on(
    clock: sojourn.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    delivered: list[str] = []

    def on_end(end: sojourn.SessionEnd) -> None:
        delivered.append(end.session.id)
        if len(delivered) == 1:
            raise ValueError("boom")

    with sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, on_end=on_end) as tracker:
        ids = departures(tracker, clock, 3)
        assert sorted(delivered) == sorted(ids), "the ends after the failing one are still delivered"
        assert len(reported) == 1
        assert isinstance(reported[0].exc_value, ValueError) and str(reported[0].exc_value) == "boom"
        assert reported[0].object is on_end
        assert tracker.track(tracker.start().id, "view").sequence == 1, "the tracker goes on"


def test_a_callback_may_call_the_tracker(clock: sojourn.MockClock) -> None:
    seen: list[tuple[str, int, bool]] = []

    def on_end(end: sojourn.SessionEnd) -> None:
        seen.append((end.session.id, len(tracker), tracker.exists(end.session.id)))
        if end.session.user_id is None:
            successor = tracker.start(user_id="next")
            assert tracker.sweep() == 0, "a re-entrant sweep finds nothing due"
            tracker.end(successor.id)

    tracker = sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, on_end=on_end)
    ids = departures(tracker, clock, 2)
    # The successors' ends, queued by the callback, go with the next
    # delivery: each delivery takes the ends pending when it begins.
    assert sorted(s[0] for s in seen) == sorted(ids)
    tracker.sweep()
    assert len(seen) == 4 and {s[0] for s in seen[2:]}.isdisjoint(ids)
    assert not any(exists for _, _, exists in seen)
    tracker.close()


def test_a_callback_referring_to_its_tracker_is_collected(clock: sojourn.MockClock) -> None:
    class App:
        def __init__(self) -> None:
            self.tracker = sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, on_end=self.on_end)

        def on_end(self, end: sojourn.SessionEnd) -> None:
            pass

    app = App()
    app.tracker.start()
    gone = weakref.ref(app)
    tracker_gone = weakref.ref(app.tracker)
    del app
    gc.collect()
    assert gone() is None and tracker_gone() is None, "the tracker <-> callback cycle was collected"


def test_on_end_must_be_callable() -> None:
    with pytest.raises(TypeError, match="on_end must be callable"):
        sojourn.Tracker(unsigned_tokens=True, on_end="print")  # type: ignore[arg-type]
