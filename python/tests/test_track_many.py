"""`track_many`: a batch gives what the same `track` calls give one by one;
`None` for a session that is not live; every id checked before anything is
tracked; any other error of an item raised after the call."""

from __future__ import annotations

import uuid
from typing import Any, Optional

import pytest

import sojourn
from sojourn import InvalidArgument, InvalidSessionId, Kind, SessionNotFound, Tick
from support import EPOCH

UNKNOWN = "6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f"
MAX_COUNTER = 2**32 - 1


def one_by_one(tracker: sojourn.Tracker, ids: list[str], kind: str) -> list[Optional[Tick]]:
    """What `track` gives for each id in turn, `None` where not live."""
    ticks: list[Optional[Tick]] = []
    for sid in ids:
        try:
            ticks.append(tracker.track(sid, kind))
        except SessionNotFound:
            ticks.append(None)
    return ticks


def twins(setup: Any) -> tuple[sojourn.Tracker, sojourn.Tracker]:
    """Two trackers on mock clocks at the same time, with the same sessions."""
    trackers = []
    for _ in range(2):
        clock = sojourn.MockClock(EPOCH)
        tracker = sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, idle_timeout=60)
        setup(tracker, clock)
        trackers.append(tracker)
    return trackers[0], trackers[1]


def test_a_batch_gives_what_track_gives_one_by_one() -> None:
    ids = [str(uuid.UUID(int=n, version=4)) for n in range(1, 7)]
    a, b, expired, *_ = ids

    def setup(tracker: sojourn.Tracker, clock: sojourn.MockClock) -> None:
        tracker.revive(a, view_sequence=2, event_sequence=1)
        tracker.revive(b)
        tracker.revive(expired, view_sequence=5)
        clock.advance(30)
        tracker.track(a, "view")
        tracker.track(b, "event")
        clock.advance(30)

    batch, single = twins(setup)
    batch_ids = [a, b, a, expired, UNKNOWN, a, expired, b]
    for kind in ("view", "event"):
        ticks = batch.track_many(batch_ids, kind)
        assert ticks == one_by_one(single, batch_ids, kind)
        assert [t and t.sequence for t in ticks[:3]] == ([5, 2, 6] if kind == "view" else [8, 4, 9])
        assert ticks[3] is None and ticks[4] is None and ticks[6] is None
        assert [batch.peek(sid) for sid in ids] == [single.peek(sid) for sid in ids]
    assert batch.stats() == single.stats()
    assert batch.stats().ended.idle == 1 and not batch.exists(expired)
    batch.close()
    single.close()


def test_repeated_ids_count_each_time(tracker: sojourn.Tracker, clock: sojourn.MockClock) -> None:
    s = tracker.start()
    clock.advance(5)
    ticks = tracker.track_many([s.id] * 3 + [uuid.UUID(s.id), s.id.upper()], Kind.EVENT)
    assert [t.to_dict() if t else None for t in ticks] == [
        {"view_sequence": 0, "event_sequence": n, "sequence": n} for n in range(1, 6)
    ]
    after = tracker.peek(s.id)
    assert after is not None and after.event_sequence == 5 and after.last_seen == clock.now()
    assert tracker.track_many([], "view") == []


def test_any_iterable_of_ids_is_taken(tracker: sojourn.Tracker) -> None:
    a, b = tracker.start().id, tracker.start().id
    assert len(tracker.track_many((a, b), "view")) == 2
    assert len(tracker.track_many((sid for sid in [a, b, a]), "view")) == 3
    assert len(tracker.track_many({a: 1}, "view")) == 1
    assert tracker.stats().views == 6


def test_an_expired_id_gives_none_and_its_end_once(
    tracker: sojourn.Tracker, clock: sojourn.MockClock, ends: list[sojourn.SessionEnd]
) -> None:
    live, expired = tracker.start().id, tracker.start().id
    clock.advance(sojourn.DEFAULTS["idle_timeout"] / 2)
    tracker.track(live, "view")
    clock.advance(sojourn.DEFAULTS["idle_timeout"] / 2)
    ticks = tracker.track_many([expired, live, expired], "view")
    assert ticks[0] is None and ticks[2] is None and ticks[1] is not None and ticks[1].sequence == 2
    assert ends == [], "ends are delivered by sweep"
    assert tracker.sweep() == 0, "the batch sent it away already"
    assert [(e.session.id, e.reason) for e in ends] == [(expired, sojourn.EndReason.IDLE)]
    assert tracker.track_many([expired], "view") == [None]
    tracker.sweep()
    assert len(ends) == 1


BAD_BATCHES: list[tuple[str, Any, Any, type[Exception]]] = [
    ("a malformed id", ["{a}", "not-a-uuid"], "view", InvalidSessionId),
    ("the nil id", ["{a}", str(uuid.UUID(int=0))], "view", InvalidSessionId),
    ("an unknown kind", ["{a}"], "click", InvalidArgument),
    ("an id that is an int", ["{a}", 5], "view", TypeError),
    ("an id that is None", ["{a}", None], "view", TypeError),
    ("an id that is bytes", ["{a}", b"{a}"], "view", TypeError),
    ("ids that are a str", "{a}", "view", TypeError),
    ("ids that are one UUID", "uuid", "view", TypeError),
    ("ids that are None", None, "view", TypeError),
    ("ids that are an int", 3, "view", TypeError),
    ("a kind that is None", ["{a}"], None, TypeError),
]


@pytest.mark.parametrize(
    "ids,kind,error", [b[1:] for b in BAD_BATCHES], ids=[b[0] for b in BAD_BATCHES]
)
def test_a_bad_item_fails_the_batch_before_anything_is_tracked(
    tracker: sojourn.Tracker, clock: sojourn.MockClock, ids: Any, kind: Any, error: type[Exception]
) -> None:
    s = tracker.start()
    clock.advance(1)
    if ids == "uuid":
        ids = uuid.UUID(s.id)
    elif isinstance(ids, list):
        ids = [i.replace("{a}", s.id) if isinstance(i, str) else i for i in ids]
        ids = [i.replace(b"{a}", s.id.encode()) if isinstance(i, bytes) else i for i in ids]
    elif isinstance(ids, str):
        ids = ids.replace("{a}", s.id)
    with pytest.raises(error):
        tracker.track_many(ids, kind)
    assert tracker.peek(s.id) == s, "not tracked, not touched"
    assert tracker.stats().views == 0


def test_a_full_counter_is_that_items_error_and_every_other_item_is_tracked(
    clock: sojourn.MockClock,
) -> None:
    with sojourn.Tracker(
        unsigned_tokens=True, clock=clock, sweep_interval=0, max_counter_hint=MAX_COUNTER
    ) as tracker:
        a = tracker.start().id
        full = tracker.revive(UNKNOWN, view_sequence=MAX_COUNTER).id
        gone = str(uuid.uuid4())
        ticks = tracker.track_many([a, full, a, gone], "view")
        assert [type(t) for t in ticks] == [sojourn.Tick, InvalidArgument, sojourn.Tick, type(None)]
        error = ticks[1]
        assert isinstance(error, InvalidArgument)
        assert error.code == "INVALID_ARGUMENT" and error.argument == "kind"
        assert "maximum" in error.reason
        assert [t.sequence for t in ticks if isinstance(t, sojourn.Tick)] == [1, 2]
        assert tracker.peek(a).view_sequence == 2  # type: ignore[union-attr]
        assert tracker.peek(full).view_sequence == MAX_COUNTER  # type: ignore[union-attr]
        assert tracker.stats().views == 2, "each tick counted once: the caller saw them all"
        events = tracker.track_many([full, a], "event")
        assert [t.sequence for t in events if isinstance(t, sojourn.Tick)] == [MAX_COUNTER + 1, 3]
