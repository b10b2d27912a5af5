"""The Python shape of the API: types, snapshots, conversions, defaults and
documentation."""

from __future__ import annotations

import copy
import inspect
import json
import pickle
import pydoc
import re
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest

import sojourn
from sojourn import EndReason, Outcome
from support import EPOCH


def test_the_package_exports_what_it_lists() -> None:
    for name in sojourn.__all__:
        assert hasattr(sojourn, name), name
    for cls in (
        sojourn.Tracker, sojourn.Session, sojourn.Tick, sojourn.SessionEnd, sojourn.Stats, sojourn.SnapshotCounts
    ):  # fmt: skip
        assert cls.__module__ == "sojourn"
    assert sojourn.__version__.count(".") == 2


def test_a_session_is_a_snapshot_with_python_types(
    tracker: sojourn.Tracker, clock: sojourn.MockClock
) -> None:
    s = tracker.start(user_id="u1", attrs={"page": "/", "n": 3, "x": 1.5, "ok": True, "none": None})
    assert isinstance(s.id, str) and uuid.UUID(s.id).version == 7
    assert s.token == s.id
    assert s.user_id == "u1"
    assert (s.view_sequence, s.event_sequence, s.sequence, s.session_index, s.revivals) == (0, 0, 0, 1, 0)
    assert s.previous_id is None
    assert s.started_at == s.last_seen == EPOCH
    assert s.started_at.tzinfo is timezone.utc
    assert s.expires_at == EPOCH + sojourn.DEFAULTS["idle_timeout"]
    assert s.attrs == {"page": "/", "n": 3, "x": 1.5, "ok": True, "none": None}
    assert type(s.attrs["n"]) is int and type(s.attrs["ok"]) is bool

    clock.advance(5)
    tracker.track(s.id, "view")
    assert s.view_sequence == 0, "a snapshot does not change"
    assert tracker.peek(s.id).view_sequence == 1  # type: ignore[union-attr]


def test_snapshots_are_immutable(tracker: sojourn.Tracker) -> None:
    s = tracker.start(attrs={"a": 1})
    with pytest.raises(AttributeError):
        s.user_id = "u2"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        s.extra = 1  # type: ignore[attr-defined]
    s.attrs["a"] = 2
    assert s.attrs == {"a": 1}, "attrs is a new dict at each access"
    tick = tracker.track(s.id, "view")
    with pytest.raises(AttributeError):
        tick.sequence = 5  # type: ignore[misc]


def test_snapshots_compare_by_value_and_hash_by_id(tracker: sojourn.Tracker, clock: sojourn.MockClock) -> None:
    s = tracker.start()
    assert tracker.peek(s.id) == s and tracker.peek(s.id) is not s
    assert hash(tracker.peek(s.id)) == hash(s)
    assert s != s.id and s != object()
    clock.advance(1)
    touched = tracker.get(s.id)
    assert touched != s and hash(touched) == hash(s)
    assert len({s, tracker.peek(s.id), touched}) == 2
    t1, t2 = tracker.track(s.id, "view"), tracker.track(s.id, "view")
    assert t1 != t2 and {t1, t1} == {t1}
    assert t1 != s and s != t1, "unlike types compare unequal"
    end = tracker.end(s.id)
    assert end is not None and end == end and hash(end) == hash(s)
    assert tracker.stats() == tracker.stats()
    with pytest.raises(TypeError):
        hash(tracker.stats())


def test_snapshots_convert_to_dicts_and_json(tracker: sojourn.Tracker, clock: sojourn.MockClock) -> None:
    s = tracker.start(user_id="u1", attrs={"page": "/"})
    d = s.to_dict()
    assert list(d) == [
        "id", "token", "user_id", "view_sequence", "event_sequence", "sequence", "session_index",
        "previous_id", "started_at", "last_seen", "expires_at", "revivals", "attrs",
    ]  # fmt: skip
    assert d["started_at"] == EPOCH and d["attrs"] == {"page": "/"}
    assert json.loads(s.to_json()) == {
        **d,
        "started_at": "2026-01-01T00:00:00.000Z",
        "last_seen": "2026-01-01T00:00:00.000Z",
        "expires_at": "2026-01-01T00:30:00.000Z",
    }
    assert json.dumps(d, default=str)  # JSON-ready with a default for datetimes

    tick = tracker.track(s.id, "event")
    assert tick.to_dict() == {"view_sequence": 0, "event_sequence": 1, "sequence": 1}
    assert json.loads(tick.to_json()) == tick.to_dict()

    clock.advance(90)
    tracker.track(s.id, "view")
    end = tracker.end(s.id)
    assert end is not None
    e = end.to_dict()
    assert e["reason"] is EndReason.ENDED and e["duration"] == timedelta(seconds=90)
    assert e["ended_at"] == EPOCH + timedelta(seconds=90) and e["revivable"] is False
    assert {k: e[k] for k in d} == end.session.to_dict(), "an end has every session field"
    j = json.loads(end.to_json())
    assert j["duration_ms"] == 90_000 and j["reason"] == "ended" and j["id"] == s.id

    stats = tracker.stats().to_dict()
    assert stats["ended"] == {"idle": 0, "lifetime": 0, "ended": 1, "evicted": 0}
    assert json.loads(tracker.stats().to_json()) == stats


def test_sessions_pickle_and_copy_as_their_fields(clock: sojourn.MockClock) -> None:
    with sojourn.Tracker(secret="s" * 32, clock=clock, sweep_interval=0) as signed:
        s = signed.start(user_id="u1", attrs={"page": "/", "n": 3})
        clock.advance(2)
        linked, _ = signed.resume(None)
        for session in (s, signed.get(s.id), linked, signed.end(s.id).session):  # type: ignore[union-attr]
            for back in (pickle.loads(pickle.dumps(session)), copy.copy(session), copy.deepcopy(session)):
                assert type(back) is sojourn.Session and back is not session
                assert back == session and not back != session and hash(back) == hash(session)
                assert back.to_dict() == session.to_dict() and back.to_json() == session.to_json()
                assert repr(back) == repr(session)
        # The token, signed when first read, is what `resume` takes back.
        again, outcome = signed.resume(linked.token)
        assert outcome is Outcome.EXISTING and again.id == linked.id
        assert again.token == linked.token == pickle.loads(pickle.dumps(linked)).token
        assert again.token.startswith(f"{linked.id}.")


def test_a_resumed_session_carries_the_token_of_the_first_key(clock: sojourn.MockClock) -> None:
    old, new = "o" * 32, "n" * 32
    with sojourn.Tracker(secret=old, clock=clock, sweep_interval=0) as before:
        token = before.start().token
    with sojourn.Tracker(secrets=[new, old], clock=clock, sweep_interval=0) as rotated:
        revived, outcome = rotated.resume(token)
        assert outcome is Outcome.REVIVED and revived.token != token
        again, outcome = rotated.resume(revived.token)
        assert outcome is Outcome.EXISTING and again.token == revived.token
        assert rotated.peek(again.id).token == again.token  # type: ignore[union-attr]
    with sojourn.Tracker(secret=new, clock=clock, sweep_interval=0) as alone:
        assert alone.revive(revived.id).token == revived.token, "signed by the first key"


def test_a_pickled_session_is_checked_when_loaded() -> None:
    restore, (state,) = sojourn.Session.__reduce__(sojourn.Tracker(unsigned_tokens=True).start())
    restore(state)
    with pytest.raises(sojourn.InvalidSessionId):
        restore(("not an id", *state[1:]))
    with pytest.raises(TypeError):
        restore((*state[:6], {"a": object()}))
    with pytest.raises(ValueError):
        restore(state[:3])


def test_reprs_are_readable(tracker: sojourn.Tracker) -> None:
    s = tracker.start(user_id="it's", attrs={"page": "/"})
    r = repr(s)
    assert r.startswith(f"Session(id='{s.id}', user_id=\"it's\", view_sequence=0")
    assert "started_at=2026-01-01T00:00:00.000Z" in r and "attrs={'page': '/'}" in r
    assert "token" not in r, "the token is what a client presents: keep it out of logs"
    assert repr(tracker.track(s.id, "view")) == "Tick(view_sequence=1, event_sequence=0, sequence=1)"
    assert repr(tracker) == "<sojourn.Tracker live=1>"
    end = tracker.end(s.id)
    assert repr(end).startswith("SessionEnd(reason='ended', ended_at=2026-01-01T00:00:00.000Z, duration=")
    assert repr(tracker.stats()).startswith("Stats(live=0, dormant=1, started=1,")
    assert repr(sojourn.MockClock(EPOCH)) == "MockClock(2026-01-01 00:00:00+00:00)"
    tracker.close()
    assert repr(tracker) == "<sojourn.Tracker live=0 closed>"


def test_enums_are_strings() -> None:
    assert Outcome("started") is Outcome.STARTED and Outcome.STARTED == "started"
    assert f"{Outcome.REVIVED}" == "revived" and str(EndReason.IDLE) == "idle"
    assert [r.value for r in EndReason] == ["idle", "lifetime", "ended", "evicted"]
    assert json.dumps({"o": Outcome.EXISTING}) == '{"o": "existing"}'


def test_resume_returns_the_outcome_enum(tracker: sojourn.Tracker) -> None:
    s, outcome = tracker.resume()
    assert outcome is Outcome.STARTED
    assert tracker.resume(s.token)[1] is Outcome.EXISTING
    assert tracker.resume("garbage")[1] is Outcome.STARTED
    unknown = "6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f"
    revived, outcome = tracker.resume(unknown, view_sequence=4, event_sequence=2)
    assert outcome is Outcome.REVIVED and (revived.id, revived.sequence) == (unknown, 6)


def test_ids_may_be_uuid_objects_in_any_case(tracker: sojourn.Tracker) -> None:
    s = tracker.start()
    assert tracker.peek(uuid.UUID(s.id)) == s
    assert tracker.exists(s.id.upper())
    assert tracker.token(uuid.UUID(s.id)) == s.token


def test_durations_are_seconds_or_timedeltas(clock: sojourn.MockClock) -> None:
    for idle in (90, 90.0, timedelta(seconds=90)):
        with sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, idle_timeout=idle) as t:
            assert t.start().expires_at - clock.now() == timedelta(seconds=90)
    with sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, idle_timeout=0.25) as t:
        assert t.start().expires_at - clock.now() == timedelta(milliseconds=250)


def test_mock_clock_moves_only_when_told() -> None:
    clock = sojourn.MockClock(EPOCH)
    assert clock.now() == EPOCH and clock.now().tzinfo is timezone.utc
    clock.advance(1.5)
    clock.advance(timedelta(minutes=1))
    assert clock.now() == EPOCH + timedelta(seconds=61.5)
    clock.set(datetime(2030, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert abs(sojourn.MockClock().now() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_len_size_and_count(tracker: sojourn.Tracker) -> None:
    assert len(tracker) == tracker.size == tracker.count() == 0 and not tracker
    a, b = tracker.start(user_id="u"), tracker.start()
    assert len(tracker) == tracker.size == 2 and tracker
    assert tracker.count("u") == 1 and [s.id for s in tracker.sessions("u")] == [a.id]
    assert {s.id for s in tracker.sessions()} == {a.id, b.id}


def test_the_tracker_is_a_context_manager(clock: sojourn.MockClock) -> None:
    ends: list[sojourn.SessionEnd] = []
    with sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, on_end=ends.append) as t:
        assert not t.closed
        t.end(t.start().id)
        assert ends == [], "with no driver, ends wait for sweep or close"
    assert t.closed and len(ends) == 1
    assert len(t) == 0 and t.start(), "a closed tracker still answers"
    with pytest.raises(RuntimeError), sojourn.Tracker(unsigned_tokens=True, sweep_interval=0) as t2:
        raise RuntimeError("not swallowed")
    assert t2.closed


def test_defaults_come_from_the_core_and_are_documented() -> None:
    options = [
        "idle_timeout", "max_lifetime", "revive_window", "retention", "max_sessions", "max_dormant",
        "secret", "secrets", "unsigned_tokens", "max_counter_hint", "sweep_interval", "on_end",
        "max_pending_ends", "close_timeout", "max_attrs_bytes", "clock", "fault_switch",
        "redis_url", "redis_cluster", "key_prefix", "store_timeout",
        "load", "snapshot", "snapshot_interval", "snapshot_key",
    ]  # fmt: skip
    assert list(sojourn.DEFAULTS) == options, "DEFAULTS lists every option"
    if sys.version_info >= (3, 10):  # a 3.9 abi3 class has no text signature
        params = inspect.signature(sojourn.Tracker).parameters
        assert list(params) == options
        assert all(p.default is None and p.kind is p.KEYWORD_ONLY for p in params.values())
    d = sojourn.DEFAULTS
    assert d["idle_timeout"] == timedelta(minutes=30) and d["max_lifetime"] == timedelta(hours=24)
    assert d["revive_window"] is None and d["sweep_interval"] == timedelta(seconds=1)
    assert (d["max_sessions"], d["max_attrs_bytes"]) == (1_000_000, 4096)
    assert (d["redis_url"], d["redis_cluster"]) == (None, None)
    assert (d["key_prefix"], d["store_timeout"]) == ("sojourn", timedelta(milliseconds=250))
    assert (d["load"], d["snapshot"], d["snapshot_key"]) == (None, None, None)
    assert d["snapshot_interval"] == timedelta(seconds=60)
    with pytest.raises(TypeError):
        d["idle_timeout"] = 1  # type: ignore[index]
    doc = sojourn.Tracker.__doc__ or ""
    for name, value in d.items():
        assert f"- {name}" in doc or f"{name} /" in doc or f"/ {name}" in doc, name
        if isinstance(value, timedelta):
            assert f"{name}: {value.total_seconds():g} s" in doc
        elif isinstance(value, int):
            assert f"{name}: {value}" in doc
        elif isinstance(value, str):
            assert f'{name}: "{value}"' in doc
    assert sojourn.LIMITS == {
        "max_user_id_bytes": 256,
        "min_secret_bytes": 16,
        "max_clock_skew": timedelta(seconds=60),
        "max_counter": 2**32 - 1,
        "max_duration": timedelta(days=36_525),
        "min_sweep_interval": timedelta(milliseconds=1),
        "max_clock": datetime(9899, 12, 30, 23, 59, 59, 999_000, tzinfo=timezone.utc),
        "max_key_prefix_bytes": 64,
    }


def test_every_public_name_is_documented() -> None:
    missing = []
    for name in sojourn.__all__:
        obj = getattr(sojourn, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            if not (obj.__doc__ or "").strip():
                missing.append(name)
        if inspect.isclass(obj) and obj.__module__ == "sojourn" and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or isinstance(member, (str, int)):
                    continue
                if not (getattr(member, "__doc__", None) or "").strip():
                    missing.append(f"{name}.{attr}")
    assert missing == []


def test_help_shows_documented_methods() -> None:
    text = pydoc.render_doc(sojourn.Tracker, renderer=pydoc.plaintext)
    flat = re.sub(r"\(\s+", "(", " ".join(text.replace("|", " ").split()))  # 3.13 folds long signatures
    for method in ("resume", "track", "revive", "end_user", "sweep", "close"):
        assert f"{method}(self" in flat, method
    assert "What a web request calls with the token its client holds" in flat
    assert "idle_timeout: 1800 s (30 min)" in text
    assert "resume(self, /, token=None, *, user_id=None" in flat

