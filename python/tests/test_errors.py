"""Errors: the exception tree, and a clear typed error, never a crash, for
every bad input."""

from __future__ import annotations

import math
import pickle
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

import sojourn
from sojourn import (
    InvalidArgument,
    InvalidSessionId,
    SessionNotFound,
    SessionNotRevivable,
    SnapshotError,
    SojournError,
    StoreError,
)

UNKNOWN = "6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f"


def test_the_exception_tree() -> None:
    assert issubclass(SessionNotFound, SojournError) and issubclass(SessionNotFound, KeyError)
    assert issubclass(InvalidSessionId, SojournError) and issubclass(InvalidSessionId, ValueError)
    assert issubclass(InvalidArgument, SojournError) and issubclass(InvalidArgument, ValueError)
    assert issubclass(SessionNotRevivable, SojournError) and not issubclass(SessionNotRevivable, ValueError)
    assert issubclass(StoreError, SojournError)
    assert issubclass(SnapshotError, SojournError) and not issubclass(SnapshotError, (ValueError, OSError))
    codes = {
        SessionNotFound: "SESSION_NOT_FOUND",
        InvalidSessionId: "INVALID_SESSION_ID",
        SessionNotRevivable: "SESSION_NOT_REVIVABLE",
        InvalidArgument: "INVALID_ARGUMENT",
        StoreError: "STORE_ERROR",
        SnapshotError: "SNAPSHOT_ERROR",
    }
    assert {cls: cls.code for cls in codes} == codes


def test_session_not_found_is_a_key_error_with_a_plain_message(tracker: sojourn.Tracker) -> None:
    with pytest.raises(KeyError) as caught:
        tracker.track(UNKNOWN, "view")
    err = caught.value
    assert isinstance(err, SessionNotFound) and err.code == "SESSION_NOT_FOUND"
    assert err.session_id == UNKNOWN
    assert str(err) == f"session {UNKNOWN} is not live", "not KeyError's quoted repr"
    for call in (
        lambda: tracker.identify(UNKNOWN, "u"),
        lambda: tracker.set_attrs(UNKNOWN, {"a": 1}),
    ):
        with pytest.raises(SessionNotFound):
            call()


def test_invalid_ids_name_the_input(tracker: sojourn.Tracker) -> None:
    with pytest.raises(InvalidSessionId) as caught:
        tracker.get("x" * 100)
    assert caught.value.input == "x" * 64 and caught.value.reason == "expected 36 characters"
    for bad in ("", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "é" * 36, uuid.UUID(int=0)):
        with pytest.raises(InvalidSessionId):
            tracker.exists(bad)


def test_revive_of_an_ended_session_is_refused(tracker: sojourn.Tracker) -> None:
    s = tracker.start()
    tracker.end(s.id)
    with pytest.raises(SessionNotRevivable) as caught:
        tracker.revive(s.id)
    assert caught.value.session_id == s.id and caught.value.reason
    assert caught.value.code == "SESSION_NOT_REVIVABLE"


def test_invalid_arguments_name_the_argument(tracker: sojourn.Tracker) -> None:
    with pytest.raises(InvalidArgument) as caught:
        tracker.track(tracker.start().id, "click")
    assert caught.value.argument == "kind" and "click" in caught.value.reason
    assert str(caught.value) == 'invalid kind: expected "view" or "event", got "click"'


def test_errors_pickle_with_their_details(tracker: sojourn.Tracker) -> None:
    with pytest.raises(SessionNotFound) as caught:
        tracker.track(UNKNOWN, "view")
    back = pickle.loads(pickle.dumps(caught.value))
    assert type(back) is SessionNotFound and back.session_id == UNKNOWN and str(back) == str(caught.value)


def test_raised_errors_are_the_objects_their_class_makes(tracker: sojourn.Tracker, tmp_path: Path) -> None:
    """The native module makes them with ``__new__`` and sets their
    attributes (no Python code of theirs runs): the same as ``cls(message,
    **details)``, every attribute of their ``__init__`` there."""
    s = tracker.start()
    tracker.end(s.id)
    raised: list[tuple[Callable[[], object], type[SojournError]]] = [
        (lambda: tracker.track(UNKNOWN, "view"), SessionNotFound),
        (lambda: tracker.get("not-a-uuid"), InvalidSessionId),
        (lambda: tracker.revive(s.id), SessionNotRevivable),
        (lambda: tracker.start(user_id=""), InvalidArgument),
        (lambda: sojourn.Tracker(unsigned_tokens=True, load=tmp_path / "missing.snap"), SnapshotError),
        (lambda: tracker.save(tmp_path / "no-such-folder" / "s.snap"), SnapshotError),
    ]
    for call, cls in raised:
        with pytest.raises(cls) as caught:
            call()
        err = caught.value
        made = cls(str(err), **{k: v for k, v in vars(err).items()})
        assert type(err) is cls and err.args == made.args == (str(err),)
        assert vars(err) == vars(made) and vars(err).keys() == vars(cls()).keys()
        assert err.code == cls.code and str(err) and err.__traceback__ is not None


def test_a_failed_call_changes_nothing(tracker: sojourn.Tracker) -> None:
    s = tracker.start(attrs={"k": "v"})
    for bad in ({"x": [1]}, {"": 1}, {"x": math.nan}, {"x": "y" * 5000}):
        with pytest.raises(InvalidArgument):
            tracker.set_attrs(s.id, bad)
    assert tracker.peek(s.id) == s


Call = Callable[[sojourn.Tracker, str], Any]

WRONG_TYPES: list[tuple[str, Call]] = [
    ("id is an int", lambda t, s: t.get(123)),
    ("id is bytes", lambda t, s: t.track(s.encode(), "view")),
    ("id is None", lambda t, s: t.peek(None)),
    ("kind is an int", lambda t, s: t.track(s, 1)),
    ("kind is None", lambda t, s: t.track(s, None)),
    ("user_id is an int", lambda t, s: t.start(user_id=5)),
    ("user_id is bytes", lambda t, s: t.identify(s, b"u")),
    ("attrs is a list", lambda t, s: t.start(attrs=["a"])),
    ("attrs is a str", lambda t, s: t.set_attrs(s, "a=1")),
    ("an attrs key is an int", lambda t, s: t.start(attrs={1: "a"})),
    ("an attrs value is an object", lambda t, s: t.start(attrs={"a": object()})),
    ("an attrs value is a datetime", lambda t, s: t.set_attrs(s, {"a": datetime.now()})),
    ("an attrs value is bytes", lambda t, s: t.start(attrs={"a": b"x"})),
    ("token is an int", lambda t, s: t.resume(5)),
    ("a counter is a float", lambda t, s: t.revive(s, view_sequence=1.0)),
    ("a counter is a str", lambda t, s: t.resume(s, event_sequence="1")),
    ("a counter is a bool", lambda t, s: t.resume(s, view_sequence=True)),
    ("reassign to None", lambda t, s: t.reassign_user("a", None)),
    ("end_user of an int", lambda t, s: t.end_user(1)),
    ("count of a list", lambda t, s: t.count(["u"])),
    ("a positional hint", lambda t, s: t.revive(s, "u1")),
    ("an unknown keyword", lambda t, s: t.start(user="u1")),
    ("a missing argument", lambda t, s: t.track(s)),
]


@pytest.mark.parametrize("call", [c for _, c in WRONG_TYPES], ids=[n for n, _ in WRONG_TYPES])
def test_wrong_types_raise_type_error(tracker: sojourn.Tracker, call: Call) -> None:
    s = tracker.start().id
    with pytest.raises(TypeError):
        call(tracker, s)
    assert len(tracker) == 1, "nothing changed"


BAD_OPTIONS: list[tuple[dict[str, Any], type[Exception]]] = [
    ({"idle_timeout": "30"}, TypeError),
    ({"idle_timeout": True}, TypeError),
    ({"idle_timeout": None, "max_lifetime": [1]}, TypeError),
    ({"max_sessions": 1.5}, TypeError),
    ({"max_sessions": "10"}, TypeError),
    ({"secret": 1234567890123456}, TypeError),
    ({"secrets": "a single string of secret"}, TypeError),
    ({"secrets": [b"sixteen bytes or more", 5]}, TypeError),
    ({"on_end": 5}, TypeError),
    ({"on_end": "print"}, TypeError),
    ({"clock": "now"}, TypeError),
    ({"clock": datetime.now()}, TypeError),
    ({"idle_timeout": -1}, InvalidArgument),
    ({"idle_timeout": -0.5}, InvalidArgument),
    ({"idle_timeout": timedelta(seconds=-1)}, InvalidArgument),
    ({"idle_timeout": math.nan}, InvalidArgument),
    ({"idle_timeout": math.inf}, InvalidArgument),
    ({"retention": 1e300}, InvalidArgument),
    ({"idle_timeout": 2**64}, InvalidArgument),
    ({"idle_timeout": 0}, InvalidArgument),
    ({"idle_timeout": 0.0004}, InvalidArgument),
    ({"max_lifetime": 0}, InvalidArgument),
    ({"max_sessions": 0}, InvalidArgument),
    ({"max_sessions": -1}, InvalidArgument),
    ({"max_dormant": 2**70}, InvalidArgument),
    ({"max_attrs_bytes": 1}, InvalidArgument),
    ({"secret": "short"}, InvalidArgument),
    ({"secrets": ["a secret of sixteen bytes", "short"]}, InvalidArgument),
    ({"secret": "a secret of sixteen bytes", "secrets": ["a secret of sixteen bytes"]}, InvalidArgument),
    ({"secrets": []}, InvalidArgument),
    ({"secret": "a secret of sixteen bytes", "unsigned_tokens": True}, InvalidArgument),
    ({"unsigned_tokens": 1}, TypeError),
    ({"secret": "sixteen bytes \udc80 and more"}, InvalidArgument),
    ({"sweep_interval": 1e-9}, InvalidArgument),
    ({"sweep_interval": 0.0009}, InvalidArgument),
    ({"idle_timeout": timedelta(days=365 * 101)}, InvalidArgument),
    ({"retention": 2**40}, InvalidArgument),
    ({"close_timeout": -1}, InvalidArgument),
    ({"max_counter_hint": 2**32}, InvalidArgument),
    ({"max_pending_ends": 0}, InvalidArgument),
    ({"snapshot_interval": -1}, InvalidArgument),
    ({"snapshot_interval": math.nan}, InvalidArgument),
    ({"snapshot_interval": "60"}, TypeError),
    ({"snapshot_key": b""}, InvalidArgument),
    ({"snapshot_key": bytes(31)}, InvalidArgument),
    ({"snapshot_key": bytes(33)}, InvalidArgument),
    ({"snapshot_key": "00" * 32}, TypeError),
    ({"snapshot_key": [0] * 32}, TypeError),
    ({"load": b"/tmp/sessions.snap"}, TypeError),
    ({"load": 3}, TypeError),
    ({"snapshot": ["a.snap"]}, TypeError),
    ({"snapshot": "sessions-\ud800.snap"}, InvalidArgument),
]


@pytest.mark.parametrize(
    "options,error", BAD_OPTIONS, ids=[f"{o}-{e.__name__}" for o, e in BAD_OPTIONS]
)
def test_bad_options_are_refused(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        sojourn.Tracker(**options)
    if error is InvalidArgument:
        # The core names both secret options "secrets".
        assert isinstance(caught.value, ValueError)
        assert caught.value.argument in {*options, "secrets"}  # type: ignore[attr-defined]


BAD_VALUES: list[tuple[str, Call]] = [
    ("a negative counter", lambda t, s: t.revive(s, view_sequence=-1)),
    ("a counter over 2**64", lambda t, s: t.resume(s, event_sequence=2**64)),
    ("a user with a lone surrogate", lambda t, s: t.identify(s, "user-\udbff")),
    ("a user to end with a lone surrogate", lambda t, s: t.end_user("user-\ud800")),
    ("a user to count with a lone surrogate", lambda t, s: t.count("user-\ud800")),
    ("a hint's user with a lone surrogate", lambda t, s: t.resume(None, user_id="\udfff")),
    ("an attribute key with a lone surrogate", lambda t, s: t.set_attrs(s, {"k\ud800": 1})),
    ("an attribute value with a lone surrogate", lambda t, s: t.start(attrs={"k": "v\udfff"})),
    ("an int attribute over 64 bits", lambda t, s: t.start(attrs={"a": 2**63})),
    ("a negative int attribute under 64 bits", lambda t, s: t.start(attrs={"a": -(2**63) - 1})),
    ("a nested attribute", lambda t, s: t.start(attrs={"a": {"b": 1}})),
    ("a tuple attribute", lambda t, s: t.set_attrs(s, {"a": (1, 2)})),
    ("an infinite attribute", lambda t, s: t.set_attrs(s, {"a": math.inf})),
    ("an empty attribute key", lambda t, s: t.resume(attrs={"": 1})),
    ("an empty user", lambda t, s: t.identify(s, "")),
    ("a long user", lambda t, s: t.start(user_id="x" * 257)),
    ("an unknown kind", lambda t, s: t.track(s, "View")),
]


@pytest.mark.parametrize("call", [c for _, c in BAD_VALUES], ids=[n for n, _ in BAD_VALUES])
def test_bad_values_raise_invalid_argument(tracker: sojourn.Tracker, call: Call) -> None:
    s = tracker.start().id
    with pytest.raises(InvalidArgument) as caught:
        call(tracker, s)
    assert isinstance(caught.value, ValueError)
    assert tracker.stats().started == 1 and tracker.peek(s).attrs == {}  # type: ignore[union-attr]


def test_big_values_that_fit_are_accepted(tracker: sojourn.Tracker) -> None:
    s = tracker.start(attrs={"max": 2**63 - 1, "min": -(2**63), "neg": -1.5})
    assert s.attrs == {"max": 2**63 - 1, "min": -(2**63), "neg": -1.5}
    # A hint past max_counter_hint (100,000 by default) is cut down to it,
    # never refused: a returning client is never locked out.
    revived = tracker.revive(UNKNOWN, view_sequence=2**64 - 1, event_sequence=100_000)
    assert (revived.view_sequence, revived.event_sequence) == (100_000, 100_000)
    assert tracker.stats().hints_clamped == 1


def test_mock_clock_refuses_bad_times() -> None:
    with pytest.raises(InvalidArgument, match="naive"):
        sojourn.MockClock(datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        sojourn.MockClock("2026-01-01")  # type: ignore[arg-type]
    clock = sojourn.MockClock()
    with pytest.raises(InvalidArgument):
        clock.advance(-1)
    with pytest.raises(TypeError):
        clock.advance("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        clock.set(0)  # type: ignore[arg-type]


def test_strings_that_are_not_unicode_are_refused_as_sojourn_errors(tracker: sojourn.Tracker) -> None:
    """A lone surrogate (what ``json.loads('"\\ud800"')`` makes) has no
    UTF-8 form: it is refused as the core's bad input, never with
    ``UnicodeEncodeError``; a token of one is a token ``resume`` rejects."""
    import json

    surrogate = json.loads('"\\ud800"')
    with pytest.raises(InvalidArgument) as caught:
        tracker.start(user_id="user-" + surrogate)
    assert caught.value.argument == "user_id" and "surrogate" in caught.value.reason
    with pytest.raises(sojourn.InvalidSessionId):
        tracker.get(surrogate * 36)
    with pytest.raises(sojourn.InvalidSessionId):
        tracker.track("0190f5a2-7c4b-7d3e-8f00-123456789ab" + surrogate, "view")
    assert len(tracker) == 0
    session, outcome = tracker.resume("\udfff")
    assert outcome is sojourn.Outcome.STARTED
    session, outcome = tracker.resume(tracker.token(session.id) + surrogate)
    assert outcome is sojourn.Outcome.STARTED
    assert tracker.stats().rejected == 2
    # Two users that a lossy conversion would make one are never mixed up.
    a = tracker.start(user_id="user-\U0010ffff")
    with pytest.raises(InvalidArgument):
        tracker.end_user("user-\udbff")
    assert tracker.count("user-\U0010ffff") == 1 and tracker.peek(a.id) is not None


JUNK: list[Any] = [
    None, True, -1, 0, 2**80, -(2**80), 1.5, math.nan, -math.inf, "", "x" * 10_000, "\x00", "\ud800",
    b"bytes", bytearray(b"b"), [], [1], (), {}, {"a": 1}, {1: 2}, {"a": [1]}, set(), object(),
    timedelta(days=-1), timedelta.max, datetime.now(), uuid.UUID(int=5), uuid.uuid4(), sojourn.Outcome.STARTED,
]  # fmt: skip


def test_no_input_crashes(tracker: sojourn.Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every method with every junk value in every position: each call
    returns or raises TypeError or a ValueError (never anything else).
    Junk that is a relative path (``Outcome.STARTED`` is a ``str``) names
    a snapshot in a folder of the test's own."""
    monkeypatch.chdir(tmp_path)
    methods = [
        ("start", 2), ("get", 1), ("peek", 1), ("exists", 1), ("track", 2), ("identify", 2),
        ("set_attrs", 2), ("revive", 1), ("resume", 1), ("end", 1), ("sessions", 1), ("count", 1),
        ("end_user", 1), ("forget_user", 1), ("reassign_user", 2), ("token", 1), ("track_many", 2),
    ]  # fmt: skip
    live = tracker.start().id
    valid: dict[str, list[Any]] = {"track": [live, "view"], "track_many": [[live], "view"]}
    calls = 0
    for name, arity in methods:
        method = getattr(tracker, name)
        for junk in JUNK:
            for position in range(arity):
                args = list(valid.get(name, [live] * arity))
                args[position] = junk
                try:
                    method(*args)
                except (TypeError, ValueError, SessionNotFound, SessionNotRevivable):
                    pass
                calls += 1
        for keyword in ("user_id", "attrs", "view_sequence", "event_sequence"):
            if name in ("revive", "resume"):
                for junk in JUNK:
                    try:
                        method(live, **{keyword: junk})
                    except (TypeError, ValueError):
                        pass
                    calls += 1
    for junk in JUNK:
        try:
            tracker.track_many([live, junk], "view")
        except (TypeError, ValueError):
            pass
        calls += 1
    for option in sojourn.DEFAULTS:
        # Text that is no Redis URL is a ValueError (InvalidArgument);
        # a URL where no Redis answers, a StoreError naming it; text that
        # names no snapshot that can be read, a SnapshotError naming it.
        refused: tuple[type[Exception], ...] = (TypeError, ValueError)
        if option.startswith("redis"):
            refused += (StoreError,)
        if option in ("load", "snapshot"):
            refused += (SnapshotError,)
        for junk in JUNK:
            try:
                with warnings.catch_warnings():
                    # Junk that leaves the tracker unsigned is no error.
                    warnings.simplefilter("ignore", sojourn.SojournWarning)
                    sojourn.Tracker(**{"sweep_interval": 0, option: junk}).close()
            except refused:
                pass
            calls += 1
    assert calls > 1000
    assert tracker.track(tracker.start().id, "view").sequence == 1, "the tracker goes on"


def test_a_tracker_without_a_secret_warns_unless_told_so() -> None:
    with pytest.warns(sojourn.SojournWarning, match="anyone who learns an id") as said:
        sojourn.Tracker(sweep_interval=0).close()
    assert [w.message.code for w in said] == ["UNSIGNED_TOKENS"]  # type: ignore[union-attr]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sojourn.Tracker(sweep_interval=0, unsigned_tokens=True).close()
        sojourn.Tracker(sweep_interval=0, secret="sixteen bytes or more").close()


def test_times_past_what_a_datetime_holds_are_refused() -> None:
    """A clock near year 9999 would make an ``expires_at`` no ``datetime``
    can hold: the clock refuses it, and durations past 100 years are
    refused, so every time a tracker hands out is a ``datetime``."""
    latest = sojourn.LIMITS["max_clock"]
    with pytest.raises(InvalidArgument):
        sojourn.MockClock(datetime(9999, 12, 31, tzinfo=timezone.utc))
    with pytest.raises(InvalidArgument):
        sojourn.MockClock(datetime(1960, 1, 1, tzinfo=timezone.utc))
    clock = sojourn.MockClock(latest)
    with pytest.raises(InvalidArgument):
        clock.advance(0.001)
    assert clock.now() == latest, "the clock stays"
    with pytest.raises(InvalidArgument):
        clock.set(datetime(9950, 1, 1, tzinfo=timezone.utc))
    longest = sojourn.LIMITS["max_duration"]
    with sojourn.Tracker(
        unsigned_tokens=True, clock=clock, sweep_interval=0, idle_timeout=longest, max_lifetime=longest
    ) as tracker:
        s = tracker.start()
        assert s.started_at == latest and s.expires_at == latest + longest
        assert s.expires_at.year == 9999
