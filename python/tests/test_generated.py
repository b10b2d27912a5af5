"""Generated bad input (issue #14, "prove the promises"): every public call
of ``sojourn.Tracker`` (its constructor and ``load``, ``MockClock``, hints,
attrs, ``track_many``, ``save``) with arbitrary values from ``hypothesis``:
wrong types, huge and negative numbers, NaN and infinities, strings with
NUL and lone surrogates, deep and huge dicts, objects whose methods raise.
Each call gives a valid result (its invariants checked) or raises a
``SojournError`` or a ``TypeError`` (or the caller's own exception, from
a method of the caller's object); never anything else (``SystemError``,
``PanicException``, ``RecursionError``, a bare ``ValueError``), never an
unraisable exception, and an error changes nothing (the sessions and the
stats before and after are compared). A state machine drives one tracker
on a mock clock with a model of its live sessions, checked after each step.

Budgets. By default (``make test``) the file takes well under a minute on
two loaded cores. For a long run (``make stress``), multiply every test's
examples with ``SOJOURN_GENERATED_RUNS`` (an integer, default 1), or select
the hypothesis profile ``stress`` (``HYPOTHESIS_PROFILE=stress``: 20 times
the examples, unless ``SOJOURN_GENERATED_RUNS`` says otherwise):

    SOJOURN_GENERATED_RUNS=50 scripts/with-redis .venv/bin/python -m pytest python/tests/test_generated.py

A failure prints the example and a ``@reproduce_failure`` blob. Nothing is
written to a hypothesis database (``database=None``).
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import hmac
import json
import math
import os
import re
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import sojourn
from sojourn import (
    InvalidArgument,
    InvalidSessionId,
    Outcome,
    SessionNotFound,
    SessionNotRevivable,
    SnapshotError,
    SojournError,
    StoreError,
)
from support import EPOCH, run_python

# --- Budgets ---------------------------------------------------------------

_profile_runs = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "stress" else 1
RUNS = max(1, int(os.environ.get("SOJOURN_GENERATED_RUNS", _profile_runs)))

settings.register_profile(
    "sojourn-generated",
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
_BASE = settings.get_profile("sojourn-generated")


def budget(examples: int, **more: Any) -> settings:
    """`examples` (times `RUNS`) examples, no deadline, no database."""
    return settings(_BASE, max_examples=examples * RUNS, **more)


SECRET = b"a secret of sixteen bytes or more"
MAX_COUNTER = 2**32 - 1
EPOCH_MS = int(EPOCH.timestamp() * 1000)


@pytest.fixture(autouse=True)
def collected() -> Iterator[None]:
    """Collects the trackers a test left (a traceback holds some in a
    cycle) before the next test runs."""
    yield
    gc.collect()


# --- Values ------------------------------------------------------------------


class Boom(Exception):
    """What the caller's own objects raise: it may pass through a call."""


class Evil:
    """Every protocol a conversion may try raises."""

    def _boom(self, *_: Any, **__: Any) -> Any:
        raise Boom("evil")

    __str__ = __index__ = __int__ = __float__ = __fspath__ = _boom  # type: ignore[assignment]
    __iter__ = __len__ = __bool__ = __lt__ = __gt__ = __getitem__ = keys = items = _boom  # type: ignore[assignment]

    def __repr__(self) -> str:  # for hypothesis's reports
        return "Evil()"


class EvilMapping(Mapping[str, Any]):
    """A mapping whose items raise as they are read."""

    def __getitem__(self, key: str) -> Any:
        raise Boom("getitem")

    def __iter__(self) -> Iterator[str]:
        yield "a"
        raise Boom("iter")

    def __len__(self) -> int:
        return 2


class LyingMapping(Mapping[str, Any]):
    """A mapping whose `items()` gives what no mapping gives."""

    def __getitem__(self, key: str) -> Any:
        return 1

    def __iter__(self) -> Iterator[str]:
        return iter(["a"])

    def __len__(self) -> int:
        return 1

    def items(self) -> Any:  # type: ignore[override]
        return [("a",), 5, ("b", 1, 2)]


class BadInt(int):
    """An int whose text raises."""

    def __str__(self) -> str:
        raise Boom("str")

    def __repr__(self) -> str:  # for hypothesis's reports
        return f"BadInt({int.__repr__(self)})"


class StrSub(str):
    pass


def deep_dict(depth: int) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for _ in range(depth):
        d = {"k": d}
    return d


def deep_list(depth: int) -> list[Any]:
    d: list[Any] = []
    for _ in range(depth):
        d = [d]
    return d


def huge_dict(n: int) -> dict[str, int]:
    return {f"k{i}": i for i in range(n)}


SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ANY_CHAR = st.one_of(st.characters(exclude_categories=()), SURROGATE, st.just("\x00"))
WEIRD_TEXT = st.text(ANY_CHAR, max_size=24)
LONG_TEXT = st.one_of(
    st.integers(250, 300).map(lambda n: "u" * n),
    st.integers(1, 100_000).map(lambda n: "x" * n),
    st.tuples(ANY_CHAR, st.integers(1, 3000)).map(lambda t: t[0] * t[1]),
)
TEXT = st.one_of(WEIRD_TEXT, LONG_TEXT, st.just(""), st.builds(StrSub, WEIRD_TEXT))
INTS = st.one_of(
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.sampled_from(
        [0, -1, 1, 2**31, MAX_COUNTER, 2**32, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64]
    ),
    st.sampled_from([5000, -5000]).map(lambda e: 10 ** abs(e) * (1 if e > 0 else -1)),
    st.integers(-5, 2**64 + 5).map(BadInt),
)
FLOATS = st.one_of(st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e308]))
UUIDS = st.uuids().map(str)


def _v7(ms: int, rest: int) -> str:
    n = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rest & (2**12 - 1)) << 64 | 0b10 << 62 | (rest >> 12) & (2**62 - 1)
    return str(uuid.UUID(int=n))


ID_TEXT = st.one_of(
    UUIDS,
    UUIDS.map(str.upper),
    st.tuples(st.integers(0, 2**48 - 1), st.integers(0, 2**74 - 1)).map(lambda t: _v7(*t)),
    st.tuples(st.integers(EPOCH_MS - 10**9, EPOCH_MS + 10**9), st.integers(0, 2**74 - 1)).map(lambda t: _v7(*t)),
    st.sampled_from(
        ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "not-a-uuid", "", " "]
    ),
    st.tuples(UUIDS, st.integers(0, 35), ANY_CHAR).map(lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]),
    st.tuples(UUIDS, WEIRD_TEXT).map(lambda t: t[0] + t[1]),
    UUIDS.map(lambda s: s.replace("-", "")),
    UUIDS.map(lambda s: "{" + s + "}"),
)
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT)
CONTAINERS = st.one_of(
    st.integers(1, 10_000).map(deep_dict),
    st.integers(1, 10_000).map(deep_list),
    st.integers(0, 20_000).map(huge_dict),
    st.lists(SCALARS, max_size=4),
    st.lists(SCALARS, max_size=4).map(tuple),
    st.frozensets(st.integers(), max_size=3),
    st.dictionaries(WEIRD_TEXT, SCALARS, max_size=4),
    st.dictionaries(INTS, SCALARS, max_size=3),
)
OBJECTS = st.one_of(
    st.builds(object),
    st.builds(Evil),
    st.builds(EvilMapping),
    st.builds(LyingMapping),
    st.binary(max_size=40),
    st.binary(max_size=40).map(bytearray),
    st.uuids(),
    st.datetimes(),
    st.datetimes(timezones=st.just(timezone.utc)),
    st.timedeltas(),
    st.complex_numbers(),
    st.sampled_from([sojourn.Kind.VIEW, sojourn.Outcome.STARTED, sojourn.EndReason.IDLE, ..., NotImplemented, print]),
    st.builds(sojourn.MockClock),
)
JUNK = st.one_of(SCALARS, ID_TEXT, CONTAINERS, OBJECTS)

ATTR_VALUES = st.one_of(
    st.none(), st.booleans(), INTS, FLOATS, WEIRD_TEXT, st.integers(0, 5000).map(lambda n: "v" * n), CONTAINERS, OBJECTS
)
ATTR_KEYS = st.one_of(WEIRD_TEXT, st.just(""), st.integers(1, 5000).map(lambda n: "k" * n), st.builds(StrSub, WEIRD_TEXT))
ATTRS = st.one_of(
    st.dictionaries(ATTR_KEYS, ATTR_VALUES, max_size=6),
    st.dictionaries(st.sampled_from(["a", "b", "c", "plan", "n"]), st.one_of(st.none(), st.booleans(), st.integers(-9, 9), st.floats(-1e6, 1e6), WEIRD_TEXT), max_size=4),
    st.dictionaries(st.one_of(INTS, st.none(), st.binary(max_size=3)), SCALARS, min_size=1, max_size=3),
    st.integers(1, 10_000).map(deep_dict),
    st.integers(0, 20_000).map(huge_dict),
    JUNK,
)
USERS = st.one_of(st.sampled_from(["u1", "u2", "ünï", "u" * 256]), st.none(), TEXT, JUNK)
KINDS = st.one_of(st.sampled_from(["view", "event", sojourn.Kind.VIEW, sojourn.Kind.EVENT]), st.sampled_from(["View", "EVENT", "view\x00", ""]), JUNK)
COUNTERS = st.one_of(st.none(), st.integers(0, 50), st.integers(0, 2**33), INTS, JUNK)


# --- Checks --------------------------------------------------------------------


def is_text(value: object) -> bool:
    """A str that the core takes as text: valid Unicode."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def valid_user(user: object) -> bool:
    return is_text(user) and 0 < len(str(user).encode()) <= 256


ID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def canon(value: object) -> Optional[str]:
    """The session id that `value` names, or None when it is no valid id."""
    if isinstance(value, uuid.UUID):
        text = str(value)
    elif isinstance(value, str) and is_text(value) and ID_RE.fullmatch(value):
        text = value.lower()
    else:
        return None
    n = uuid.UUID(text).int
    # An RFC 9562 UUID: versions 1 to 8, variant 10 (core/src/id.rs); the
    # nil and max UUIDs are neither.
    if not 1 <= (n >> 76) & 0xF <= 8 or (n >> 62) & 0b11 != 0b10:
        return None
    return text


def attr_ok(key: object, value: object) -> bool:
    if not (is_text(key) and key):
        return False
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return is_text(value)


def valid_attrs(attrs: object) -> bool:
    """Attributes whose every key and value the core takes (the size apart)."""
    return type(attrs) is dict and all(attr_ok(k, v) for k, v in attrs.items())


def attrs_size(attrs: Mapping[str, Any]) -> tuple[int, int]:
    """The compact JSON size of `attrs` as Python writes it, and how far
    the core's may differ (floats are written differently)."""
    text = json.dumps(dict(attrs), separators=(",", ":"), ensure_ascii=False)
    floats = sum(isinstance(v, float) for v in attrs.values())
    return len(text.encode()), 8 * floats + 8


def fits(attrs: Mapping[str, Any], limit: int = 4096) -> Optional[bool]:
    """Whether the core takes `attrs` under `limit` bytes: None when too close to tell."""
    size, slack = attrs_size(attrs)
    if size + slack <= limit:
        return True
    if size - slack > limit:
        return False
    return None


def counter(value: object) -> Optional[int]:
    """A counter hint as the core takes it (cut down to `max_counter_hint`),
    or None if it is refused."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        return None
    return min(int(value), MAX_COUNTER)


def sign(sid: str) -> str:
    mac = hmac.new(SECRET, sid.encode(), hashlib.sha256).digest()
    return sid + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


ALLOWED: tuple[type[BaseException], ...] = (SojournError, TypeError, Boom)


@contextlib.contextmanager
def no_unraisable() -> Iterator[None]:
    """Fails if the block sends anything to `sys.unraisablehook`."""
    seen: list[Any] = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append((u.exc_type, u.exc_value, u.err_msg))
    try:
        yield
    finally:
        sys.unraisablehook = old
    assert not seen, f"unraisable exceptions: {seen}"


def state(tracker: sojourn.Tracker) -> tuple[Any, ...]:
    sessions = sorted((s.to_dict() for s in tracker.sessions()), key=lambda d: d["id"])
    return sessions, tracker.stats().to_dict()


def attempt(tracker: Optional[sojourn.Tracker], call: Callable[[], Any]) -> tuple[Any, Optional[BaseException]]:
    """Calls `call`: its result, or the error it raised, which must be one
    of ours (or the caller's own); after an error, `tracker` is as it was."""
    before = state(tracker) if tracker is not None else None
    with no_unraisable():
        try:
            return call(), None
        except BaseException as e:  # noqa: BLE001 (PanicException is a BaseException)
            if not isinstance(e, ALLOWED) or isinstance(e, (RecursionError, SystemError)):
                raise AssertionError(f"{type(e).__module__}.{type(e).__name__} raised: {e!r}"[:2000]) from e
            if isinstance(e, ValueError):
                assert isinstance(e, SojournError), f"a bare ValueError: {e!r}"
            if isinstance(e, SojournError):
                assert e.code == type(e).code and str(e), repr(e)
            error = e
    if tracker is not None:
        assert state(tracker) == before, f"the failed call changed the tracker ({error!r})"
    return None, error


def check_session(session: object, *, signed: Optional[bool], tracker: Optional[sojourn.Tracker] = None) -> sojourn.Session:
    assert isinstance(session, sojourn.Session), type(session)
    assert str(uuid.UUID(session.id)) == session.id
    if signed is None:  # signed with a key of the test's own
        assert session.token.startswith(session.id)
    else:
        assert session.token == (sign(session.id) if signed else session.id)
    assert session.user_id is None or valid_user(session.user_id)
    for n in (session.view_sequence, session.event_sequence, session.session_index, session.revivals):
        assert type(n) is int and 0 <= n <= MAX_COUNTER
    assert session.sequence == session.view_sequence + session.event_sequence
    assert session.session_index >= 1
    assert session.previous_id is None or str(uuid.UUID(session.previous_id)) == session.previous_id
    assert session.started_at <= session.last_seen < session.expires_at
    assert all(t.tzinfo is not None for t in (session.started_at, session.last_seen, session.expires_at))
    assert valid_attrs(session.attrs)
    assert json.loads(session.to_json())["id"] == session.id
    if tracker is not None:
        assert tracker.peek(session.id) == session, "a session handed out is live, as handed out"
    return session


def check_tick(tick: object) -> sojourn.Tick:
    assert isinstance(tick, sojourn.Tick), type(tick)
    assert 0 <= tick.view_sequence <= MAX_COUNTER and 0 <= tick.event_sequence <= MAX_COUNTER
    assert tick.sequence == tick.view_sequence + tick.event_sequence and tick.sequence >= 1
    return tick


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """SojournWarnings (an unsigned tracker's) are not this file's subject."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sojourn.SojournWarning)
        yield


FOLDER = Path(tempfile.mkdtemp(prefix="sojourn-generated-"))
(FOLDER / "garbage.snap").write_bytes(os.urandom(100))
(FOLDER / "empty.snap").write_bytes(b"")
os.mkfifo(FOLDER / "fifo")
(FOLDER / "a-folder").mkdir(exist_ok=True)


def _in_folder(name: str) -> str:
    name = name.replace("/", "_")
    return str(FOLDER / ("n" + name))


#: Paths to load from or save to: never outside `FOLDER` when written to
#: (the tests may run as root), and files that are no snapshot to read.
WRITABLE_PATHS = st.one_of(
    WEIRD_TEXT.map(_in_folder),
    st.sampled_from(
        [
            str(FOLDER / "s.snap"),
            FOLDER / "p.snap",
            str(FOLDER / "no" / "such" / "folder" / "s.snap"),
            str(FOLDER / "a-folder"),
            str(FOLDER / "garbage.snap"),
            str(FOLDER / "x\x00y"),
            str(FOLDER / ("y" * 300)),
            str(FOLDER) + "/" + "z/" * 3000,
            "",
        ]
    ),
)
READABLE_PATHS = st.one_of(
    WRITABLE_PATHS,
    st.sampled_from(
        [str(FOLDER / "empty.snap"), str(FOLDER / "fifo"), "/dev/zero", "/dev/urandom", "/dev/null", "/proc/self/status", "/"]
    ),
)
PATHS = st.one_of(WRITABLE_PATHS, JUNK.filter(lambda v: not isinstance(v, (str, os.PathLike))))
LOAD_PATHS = st.one_of(READABLE_PATHS, JUNK.filter(lambda v: not isinstance(v, (str, os.PathLike))))


# --- Single calls --------------------------------------------------------------


def new_tracker(signed: bool, clock: Optional[sojourn.MockClock] = None, **options: Any) -> sojourn.Tracker:
    keys: dict[str, Any] = {"secret": SECRET} if signed else {"unsigned_tokens": True}
    return sojourn.Tracker(
        clock=clock or sojourn.MockClock(EPOCH), sweep_interval=0, max_counter_hint=MAX_COUNTER, **keys, **options
    )


def some_sessions(tracker: sojourn.Tracker) -> list[sojourn.Session]:
    a = tracker.start(user_id="u1", attrs={"plan": "pro"})
    b = tracker.start()
    full = tracker.revive(str(uuid.uuid4()), user_id="u2", view_sequence=MAX_COUNTER)
    gone = tracker.start(user_id="u1")
    tracker.end(gone.id)
    return [a, b, full, gone]


def ids_of(data: st.DataObject, sessions: list[sojourn.Session]) -> Any:
    known = [s.id for s in sessions]
    return data.draw(
        st.one_of(
            st.sampled_from(known),
            st.sampled_from(known).map(str.upper),
            st.sampled_from(known).map(uuid.UUID),
            st.sampled_from([s.token for s in sessions]),
            ID_TEXT,
            JUNK,
        ),
        label="id",
    )


def hint_kwargs(data: st.DataObject) -> dict[str, Any]:
    names = data.draw(st.sets(st.sampled_from(["user_id", "attrs", "view_sequence", "event_sequence"])), label="hints")
    strategies = {"user_id": USERS, "attrs": ATTRS, "view_sequence": COUNTERS, "event_sequence": COUNTERS}
    return {name: data.draw(strategies[name], label=name) for name in sorted(names)}


METHODS = [
    "start", "get", "peek", "exists", "track", "track_many", "identify", "set_attrs", "revive", "resume",
    "end", "sessions", "count", "end_user", "forget_user", "reassign_user", "token", "save", "len", "stats",
    "sweep", "end_all", "extra_args",
]  # fmt: skip


@given(data=st.data(), signed=st.booleans(), method=st.sampled_from(METHODS))
@budget(500)
def test_every_call_with_arbitrary_values(data: st.DataObject, signed: bool, method: str) -> None:
    with quiet():
        tracker = new_tracker(signed)
    try:
        sessions = some_sessions(tracker)
        call = arbitrary_call(data, tracker, sessions, method)
        before = state(tracker)
        result, error = attempt(tracker, call)
        note(f"result {result!r}, error {error!r}")
        if error is None:
            check_result(tracker, method, result, signed, before)
        assert tracker.track(tracker.start().id, "view").view_sequence == 1, "the tracker goes on"
    finally:
        tracker.close()


def arbitrary_call(data: st.DataObject, t: sojourn.Tracker, sessions: list[sojourn.Session], method: str) -> Callable[[], Any]:
    draw = data.draw
    if method == "start":
        kwargs = {k: v for k, v in hint_kwargs(data).items() if k in ("user_id", "attrs")}
        return lambda: t.start(**kwargs)
    if method in ("get", "peek", "exists", "end", "token"):
        sid = ids_of(data, sessions)
        return lambda: getattr(t, method)(sid)
    if method == "track":
        sid, kind = ids_of(data, sessions), draw(KINDS, label="kind")
        return lambda: t.track(sid, kind)
    if method == "track_many":
        ids = draw(
            st.one_of(
                st.lists(st.builds(lambda: ids_of(data, sessions)), max_size=20),
                st.integers(0, 100_000).map(lambda n: [sessions[0].id] * n),
                st.integers(0, 1000).map(lambda n: [sessions[2].id] * n),
                st.builds(lambda: (x for x in [sessions[0].id, Evil()])),
                JUNK,
            ),
            label="ids",
        )
        kind = draw(KINDS, label="kind")
        return lambda: t.track_many(ids, kind)
    if method == "identify":
        sid, user = ids_of(data, sessions), draw(USERS, label="user")
        return lambda: t.identify(sid, user)
    if method == "set_attrs":
        sid, attrs = ids_of(data, sessions), draw(ATTRS, label="attrs")
        return lambda: t.set_attrs(sid, attrs)
    if method == "revive":
        sid, kwargs = ids_of(data, sessions), hint_kwargs(data)
        return lambda: t.revive(sid, **kwargs)
    if method == "resume":
        token = draw(st.one_of(st.none(), st.builds(lambda: ids_of(data, sessions)), TEXT), label="token")
        kwargs = hint_kwargs(data)
        return lambda: t.resume(token, **kwargs)
    if method in ("sessions", "count"):
        user = draw(USERS, label="user")
        return lambda: getattr(t, method)(user)
    if method in ("end_user", "forget_user"):
        user = draw(USERS, label="user")
        return lambda: getattr(t, method)(user)
    if method == "reassign_user":
        old, new = draw(USERS, label="old"), draw(USERS, label="new")
        return lambda: t.reassign_user(old, new)
    if method == "save":
        path = draw(PATHS, label="path")
        return lambda: t.save(path)
    if method == "len":
        return lambda: len(t)
    if method in ("stats", "sweep", "end_all"):
        return getattr(t, method)
    # Any method with arguments it does not take.
    name = draw(st.sampled_from([m for m in METHODS if m not in ("len", "extra_args")]))
    args = draw(st.lists(JUNK, min_size=3, max_size=5))
    kwargs = draw(st.dictionaries(st.sampled_from(["x", "id", "kind", "user", "attrs", "path"]), JUNK, min_size=1, max_size=2))
    return lambda: getattr(t, name)(*args, **kwargs)


def check_result(tracker: sojourn.Tracker, method: str, result: Any, signed: bool, before: tuple[Any, ...]) -> None:
    if method in ("start", "identify", "set_attrs", "revive"):
        check_session(result, signed=signed, tracker=tracker)
    elif method in ("get", "peek"):
        if result is not None:
            check_session(result, signed=signed, tracker=tracker)
    elif method == "resume":
        session, outcome = result
        check_session(session, signed=signed, tracker=tracker)
        assert isinstance(outcome, Outcome)
    elif method == "track":
        check_tick(result)
    elif method == "track_many":
        assert isinstance(result, list)
        for item in result:
            assert item is None or isinstance(item, InvalidArgument) or check_tick(item)
    elif method in ("sessions",):
        assert isinstance(result, list)
        for s in result:
            check_session(s, signed=signed)
    elif method in ("count", "len", "end_user", "forget_user", "reassign_user", "sweep", "end_all"):
        assert type(result) is int and result >= 0
    elif method == "exists":
        assert type(result) is bool
    elif method == "end":
        assert result is None or isinstance(result, sojourn.SessionEnd)
        if result is not None:
            assert result.reason is sojourn.EndReason.ENDED and tracker.peek(result.session.id) is None
    elif method == "token":
        assert isinstance(result, str) and (result == sign(result.split(".")[0]) if signed else canon(result) == result)
        assert state(tracker) == before, "token changes nothing"
    elif method == "save":
        assert isinstance(result, sojourn.SnapshotCounts) and result.live == tracker.count()
    elif method == "stats":
        assert isinstance(result, sojourn.Stats) and result.live == tracker.count()


@given(data=st.data())
@budget(200)
def test_constructor_options_with_arbitrary_values(data: st.DataObject) -> None:
    names = [n for n in sojourn.DEFAULTS if not n.startswith("redis") and n != "key_prefix"]
    plausible: dict[str, Any] = {
        "secret": st.one_of(st.just(SECRET), st.binary(max_size=40), TEXT),
        "secrets": st.one_of(st.lists(st.one_of(st.just(SECRET), st.binary(max_size=20), TEXT), max_size=3), JUNK),
        "clock": st.one_of(st.builds(sojourn.MockClock), JUNK),
        "on_end": st.one_of(st.just(lambda end: None), JUNK),
        "load": LOAD_PATHS,
        "snapshot": LOAD_PATHS.filter(lambda p: not isinstance(p, str) or p.startswith(str(FOLDER))),
        "snapshot_key": st.one_of(st.binary(min_size=30, max_size=34), JUNK),
        "unsigned_tokens": st.one_of(st.booleans(), JUNK),
    }
    chosen = data.draw(st.sets(st.sampled_from(names + ["fault_switch", "bogus"]), max_size=5), label="options")
    options = {
        name: data.draw(
            plausible.get(name, st.one_of(st.integers(0, 10**6), st.floats(0, 10**6), st.timedeltas(), JUNK)), label=name
        )
        for name in sorted(chosen)
    }
    options.setdefault("sweep_interval", data.draw(st.sampled_from([0, 0, 1]), label="sweep_interval"))
    use_load = data.draw(st.booleans(), label="Tracker.load")
    with quiet():
        if use_load:
            path = data.draw(LOAD_PATHS, label="path")
            made, error = attempt(None, lambda: sojourn.Tracker.load(path, **options))
        else:
            made, error = attempt(None, lambda: sojourn.Tracker(**options))
        if error is None:
            try:
                assert isinstance(made, sojourn.Tracker)
                s = made.start()
                check_session(s, signed=None, tracker=made)
                assert made.track(s.id, "event").event_sequence == 1
            finally:
                attempt(None, made.close)


@given(now=st.one_of(st.none(), st.datetimes(timezones=st.just(timezone.utc)), JUNK), moves=st.lists(st.tuples(st.booleans(), st.one_of(JUNK, st.datetimes(timezones=st.just(timezone.utc)), st.timedeltas(), INTS, FLOATS)), max_size=5))
@budget(200)
def test_mock_clock_with_arbitrary_values(now: Any, moves: list[tuple[bool, Any]]) -> None:
    clock, error = attempt(None, lambda: sojourn.MockClock(now))
    if error is not None:
        return
    for is_set, value in moves:
        before = clock.now()
        assert before.tzinfo is not None and datetime(1970, 1, 1, tzinfo=timezone.utc) <= before <= sojourn.LIMITS["max_clock"]
        _, error = attempt(None, (lambda: clock.set(value)) if is_set else (lambda: clock.advance(value)))
        if error is not None:
            assert clock.now() == before, "a refused move leaves the clock"
        elif not is_set:
            assert clock.now() >= before


# --- A state machine with a model of the live sessions --------------------------

IDLE_MS = 60_000
LIFETIME_MS = 600_000


class Live:
    def __init__(self, session: sojourn.Session) -> None:
        self.id = session.id
        self.token = session.token
        self.view = session.view_sequence
        self.event = session.event_sequence
        self.user = session.user_id
        self.attrs = dict(session.attrs)
        self.started = int(session.started_at.timestamp() * 1000)
        self.last = int(session.last_seen.timestamp() * 1000)

    def expires(self) -> int:
        return min(self.last + IDLE_MS, self.started + LIFETIME_MS)


class TrackerMachine(RuleBasedStateMachine):
    """One tracker on a mock clock, driven with good and bad input, and a
    model of its live sessions: which are live, their counters, user and
    attributes, checked against the tracker after each step."""

    def __init__(self) -> None:
        super().__init__()
        self.tracker: Optional[sojourn.Tracker] = None
        self.model: dict[str, Live] = {}
        self.departed: list[sojourn.Session] = []
        self.now = EPOCH_MS

    @initialize(signed=st.booleans())
    def make(self, signed: bool) -> None:
        self.signed = signed
        self.clock = sojourn.MockClock(EPOCH)
        with quiet():
            self.tracker = new_tracker(
                signed, self.clock, idle_timeout=IDLE_MS / 1000, max_lifetime=LIFETIME_MS / 1000,
                revive_window=120, max_sessions=1000,
            )  # fmt: skip

    def teardown(self) -> None:
        if self.tracker is not None:
            self.tracker.close()

    # Helpers.

    def call(self, f: Callable[[], Any]) -> tuple[Any, Optional[BaseException]]:
        assert self.tracker is not None
        return attempt(self.tracker, f)

    def session(self, s: Any) -> sojourn.Session:
        return check_session(s, signed=self.signed, tracker=self.tracker)

    def touch(self, sid: str) -> None:
        self.model[sid].last = self.now

    def an_id(self, data: st.DataObject) -> Any:
        live = sorted(self.model)
        gone = [s.id for s in self.departed]
        choices = [ID_TEXT, JUNK]
        if live:
            choices += [st.sampled_from(live)] * 4 + [st.sampled_from(live).map(str.upper), st.sampled_from(live).map(uuid.UUID)]
        if gone:
            choices.append(st.sampled_from(gone))
        return data.draw(st.one_of(choices), label="id")

    def a_user(self, data: st.DataObject) -> Any:
        users = sorted({m.user for m in self.model.values() if m.user})
        return data.draw(st.one_of([st.sampled_from(users)] * 3 + [USERS] if users else [USERS]), label="user")

    def a_kind(self, data: st.DataObject) -> Any:
        return data.draw(st.one_of([st.sampled_from(["view", "event"])] * 4 + [KINDS]), label="kind")

    def expect_error(self, error: Optional[BaseException], *classes: type[BaseException]) -> None:
        assert error is not None and isinstance(error, classes), f"expected {classes}, got {error!r}"

    # Rules.

    @rule(ms=st.one_of(st.integers(0, 90_000), st.sampled_from([IDLE_MS - 1, IDLE_MS, 1])))
    def advance(self, ms: int) -> None:
        self.clock.advance(timedelta(milliseconds=ms))
        self.now += ms
        for sid, live in list(self.model.items()):
            if self.now >= live.expires():
                del self.model[sid]

    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        user = data.draw(st.one_of(st.sampled_from(["u1", "u2", "u3", None]), USERS), label="user")
        attrs = data.draw(st.one_of(st.none(), ATTRS), label="attrs")
        ok = (user is None or valid_user(user)) and (attrs is None or valid_attrs(attrs) and fits(attrs))
        bad = user is not None and not valid_user(user) or attrs is not None and (not valid_attrs(attrs) or fits(attrs) is False)
        assert self.tracker is not None
        s, error = self.call(lambda: self.tracker.start(user_id=user, attrs=attrs))  # type: ignore[union-attr]
        if ok:
            assert error is None, error
        if bad:
            assert error is not None
        if error is None:
            s = self.session(s)
            assert (s.view_sequence, s.event_sequence, s.session_index, s.user_id) == (0, 0, 1, user)
            assert s.attrs == (attrs or {})
            self.model[s.id] = Live(s)

    @rule(data=st.data())
    def track(self, data: st.DataObject) -> None:
        sid, kind = self.an_id(data), self.a_kind(data)
        key = canon(sid)
        t, error = self.call(lambda: self.tracker.track(sid, kind))  # type: ignore[union-attr]
        if key is None or kind not in ("view", "event"):
            assert error is not None, "a bad id or kind is refused"
            return
        if key not in self.model:
            self.expect_error(error, SessionNotFound)
            return
        live = self.model[key]
        field = "view" if kind == "view" else "event"
        if getattr(live, field) == MAX_COUNTER:
            self.expect_error(error, InvalidArgument)
            return
        assert error is None, error
        setattr(live, field, getattr(live, field) + 1)
        self.touch(key)
        assert (t.view_sequence, t.event_sequence) == (live.view, live.event)

    @rule(data=st.data())
    def track_many(self, data: st.DataObject) -> None:
        ids = data.draw(st.lists(st.builds(lambda: self.an_id(data)), max_size=12), label="ids")
        kind = self.a_kind(data)
        ticks, error = self.call(lambda: self.tracker.track_many(ids, kind))  # type: ignore[union-attr]
        keys = [canon(i) for i in ids]
        if None in keys or kind not in ("view", "event"):
            assert error is not None, "a bad id or kind fails the whole batch"
            return
        assert error is None, error
        assert isinstance(ticks, list) and len(ticks) == len(ids)
        field = "view" if kind == "view" else "event"
        for key, got in zip(keys, ticks):
            live = self.model.get(key)  # type: ignore[arg-type]
            if live is None:
                assert got is None
            elif getattr(live, field) == MAX_COUNTER:
                assert isinstance(got, InvalidArgument), got
                self.touch(live.id)
            else:
                setattr(live, field, getattr(live, field) + 1)
                self.touch(live.id)
                assert isinstance(got, sojourn.Tick) and (got.view_sequence, got.event_sequence) == (live.view, live.event)

    @rule(data=st.data())
    def identify(self, data: st.DataObject) -> None:
        sid, user = self.an_id(data), data.draw(st.one_of(st.sampled_from(["u1", "u2", "u3"]), USERS), label="user")
        key = canon(sid)
        s, error = self.call(lambda: self.tracker.identify(sid, user))  # type: ignore[union-attr]
        if key is None or not valid_user(user):
            assert error is not None
            return
        if key not in self.model:
            self.expect_error(error, SessionNotFound)
            return
        assert error is None, error
        self.model[key].user = user
        self.touch(key)
        assert self.session(s).user_id == user

    @rule(data=st.data())
    def set_attrs(self, data: st.DataObject) -> None:
        sid, attrs = self.an_id(data), data.draw(ATTRS, label="attrs")
        key = canon(sid)
        s, error = self.call(lambda: self.tracker.set_attrs(sid, attrs))  # type: ignore[union-attr]
        if key is None or not valid_attrs(attrs):
            assert error is not None
            return
        if key not in self.model:
            self.expect_error(error, SessionNotFound, InvalidArgument)
            return
        merged = {**self.model[key].attrs, **attrs}
        room = fits(merged)
        if room is False:
            self.expect_error(error, InvalidArgument)
        if room is True:
            assert error is None, error
        if error is None:
            self.model[key].attrs = merged
            self.touch(key)
            assert self.session(s).attrs == merged

    def hints(self, data: st.DataObject) -> dict[str, Any]:
        kwargs = hint_kwargs(data)
        if data.draw(st.booleans(), label="plain hints"):
            kwargs = {
                "view_sequence": data.draw(st.one_of(st.integers(0, 40), st.sampled_from([MAX_COUNTER, 2**64 - 1]))),
                "event_sequence": data.draw(st.integers(0, 40)),
                "user_id": data.draw(st.sampled_from(["u1", "u4", None])),
            }
        return kwargs

    @staticmethod
    def hints_ok(kwargs: dict[str, Any]) -> Optional[bool]:
        """Whether the hints are valid (None: their attrs too close to the bound to tell)."""
        user, attrs = kwargs.get("user_id"), kwargs.get("attrs")
        if user is not None and not valid_user(user):
            return False
        if any(counter(kwargs.get(k)) is None for k in ("view_sequence", "event_sequence")):
            return False
        if attrs is not None:
            if not valid_attrs(attrs):
                return False
            return fits(attrs)
        return True

    @rule(data=st.data())
    def revive(self, data: st.DataObject) -> None:
        sid, kwargs = self.an_id(data), self.hints(data)
        key, ok = canon(sid), self.hints_ok(kwargs)
        before = self.tracker.stats()  # type: ignore[union-attr]
        s, error = self.call(lambda: self.tracker.revive(sid, **kwargs))  # type: ignore[union-attr]
        if key is None or ok is False:
            assert error is not None
            return
        live = self.model.get(key)
        if live is not None:
            merged = {**live.attrs, **(kwargs.get("attrs") or {})}
            if fits(merged) is False:
                self.expect_error(error, InvalidArgument)
                return
            if fits(merged) and ok:
                assert error is None, error
            if error is None:
                s = self.session(s)
                live.view = max(live.view, counter(kwargs.get("view_sequence")) or 0)
                live.event = max(live.event, counter(kwargs.get("event_sequence")) or 0)
                live.user = kwargs.get("user_id") or live.user
                live.attrs = merged
                self.touch(key)
                assert (s.id, s.view_sequence, s.event_sequence, s.user_id, s.attrs) == (
                    key, live.view, live.event, live.user, live.attrs,
                )  # fmt: skip
                assert self.tracker.stats().revived == before.revived  # type: ignore[union-attr]
            return
        if error is not None:
            self.expect_error(error, SessionNotRevivable, InvalidArgument)
            return
        s = self.session(s)
        assert s.id == key and s.revivals >= 1
        assert s.view_sequence >= (counter(kwargs.get("view_sequence")) or 0)
        assert self.tracker.stats().revived == before.revived + 1  # type: ignore[union-attr]
        self.model[key] = Live(s)

    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        tokens = [m.token for m in self.model.values()] + [s.token for s in self.departed]
        choices = [st.none(), st.just(""), ID_TEXT, TEXT, JUNK]
        if tokens:
            choices += [st.sampled_from(tokens)] * 4 + [st.sampled_from(tokens).map(lambda t: t + "=")]
        token = data.draw(st.one_of(choices), label="token")
        kwargs = self.hints(data)
        ok = self.hints_ok(kwargs)
        before = self.tracker.stats()  # type: ignore[union-attr]
        result, error = self.call(lambda: self.tracker.resume(token, **kwargs))  # type: ignore[union-attr]
        if token is not None and not isinstance(token, str) or ok is False:
            assert error is not None, "a token of the wrong type, or bad hints, are refused"
            return
        if ok:
            assert error is None, error
        if error is not None:
            return
        s, outcome = result
        s = self.session(s)
        after = self.tracker.stats()  # type: ignore[union-attr]
        if self.signed:
            key = token.split(".")[0] if isinstance(token, str) and token.count(".") == 1 else None
            parses = key is not None and canon(key) == key and token == sign(key)
        else:
            key = canon(token)
            parses = key is not None
        rejected = isinstance(token, str) and token != "" and not parses
        assert after.rejected == before.rejected + rejected
        if parses and key in self.model:
            live = self.model[key]
            assert outcome is Outcome.EXISTING and s.id == key
            assert after.resumed == before.resumed + 1
            live.user = kwargs.get("user_id") or live.user
            self.touch(key)
            assert (s.view_sequence, s.event_sequence, s.user_id, s.attrs) == (live.view, live.event, live.user, live.attrs)
            return
        assert outcome in (Outcome.STARTED, Outcome.REVIVED)
        if outcome is Outcome.REVIVED:
            assert parses and s.id == key and after.revived == before.revived + 1
        else:
            assert s.id != key and (s.view_sequence, s.event_sequence) == (0, 0)
            assert after.started == before.started + 1
            if not parses:
                assert s.previous_id is None and s.session_index == 1
        self.model[s.id] = Live(s)

    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        sid = self.an_id(data)
        key = canon(sid)
        how = data.draw(st.sampled_from(["get", "peek", "exists"]))
        result, error = self.call(lambda: getattr(self.tracker, how)(sid))
        if key is None:
            assert error is not None
            return
        assert error is None, error
        if how == "exists":
            assert result is (key in self.model)
        elif key not in self.model:
            assert result is None
        else:
            live = self.session(result)
            assert (live.view_sequence, live.event_sequence) == (self.model[key].view, self.model[key].event)
            if how == "get":
                self.touch(key)

    @rule(data=st.data())
    def end(self, data: st.DataObject) -> None:
        sid = self.an_id(data)
        key = canon(sid)
        end, error = self.call(lambda: self.tracker.end(sid))  # type: ignore[union-attr]
        if key is None:
            assert error is not None
            return
        assert error is None, error
        live = self.model.pop(key, None)
        if live is None:
            assert end is None
            return
        assert isinstance(end, sojourn.SessionEnd) and end.reason is sojourn.EndReason.ENDED and not end.revivable
        assert (end.session.id, end.session.view_sequence, end.session.event_sequence) == (key, live.view, live.event)
        assert end.session.user_id == live.user and end.session.attrs == live.attrs
        self.departed.append(end.session)

    @rule(data=st.data(), forget=st.booleans())
    def end_user(self, data: st.DataObject, forget: bool) -> None:
        user = self.a_user(data)
        n, error = self.call(lambda: (self.tracker.forget_user if forget else self.tracker.end_user)(user))  # type: ignore[union-attr]
        # A user no session can have (empty, over 256 bytes) is looked up
        # all the same, and has none; only what is no text is refused.
        if not is_text(user):
            assert error is not None
            return
        assert error is None, error
        theirs = [sid for sid, m in self.model.items() if m.user == user]
        assert n == len(theirs) if not forget else n >= len(theirs)
        for sid in theirs:
            del self.model[sid]

    @rule(data=st.data())
    def reassign_user(self, data: st.DataObject) -> None:
        old, new = self.a_user(data), self.a_user(data)
        n, error = self.call(lambda: self.tracker.reassign_user(old, new))  # type: ignore[union-attr]
        if not (valid_user(old) and valid_user(new)):
            assert error is not None
            return
        assert error is None, error
        theirs = [m for m in self.model.values() if m.user == old]
        assert n == (0 if old == new else len(theirs))
        for m in theirs:
            m.user = new

    @rule(data=st.data())
    def count(self, data: st.DataObject) -> None:
        user = data.draw(st.one_of(st.none(), st.just("u1")), label="user") if data.draw(st.booleans()) else self.a_user(data)
        n, error = self.call(lambda: self.tracker.count(user))  # type: ignore[union-attr]
        sessions, error2 = self.call(lambda: self.tracker.sessions(user))  # type: ignore[union-attr]
        if user is not None and not is_text(user):
            assert error is not None and error2 is not None
            return
        assert error is None and error2 is None, (error, error2)
        expected = sorted(sid for sid, m in self.model.items() if user is None or m.user == user)
        assert n == len(expected) and sorted(s.id for s in sessions) == expected

    @rule()
    def sweep(self) -> None:
        assert self.tracker is not None
        n, error = self.call(self.tracker.sweep)
        assert error is None and n >= 0

    @precondition(lambda self: len(self.model) > 0)
    @rule(data=st.data())
    def save_and_load(self, data: st.DataObject) -> None:
        assert self.tracker is not None
        path = FOLDER / f"machine-{os.getpid()}.snap"
        counts, error = self.call(lambda: self.tracker.save(path))  # type: ignore[union-attr]
        assert error is None, error
        assert counts.live == len(self.model)
        keys = {"secret": SECRET} if self.signed else {"unsigned_tokens": True}
        with sojourn.Tracker.load(path, clock=self.clock, sweep_interval=0, idle_timeout=IDLE_MS / 1000,
                                  max_lifetime=LIFETIME_MS / 1000, max_counter_hint=MAX_COUNTER, **keys) as back:  # fmt: skip
            assert state(back)[0] == state(self.tracker)[0]

    @invariant()
    def matches_the_model(self) -> None:
        if self.tracker is None:
            return
        sessions = {s.id: s for s in self.tracker.sessions()}
        assert sorted(sessions) == sorted(self.model), "the live sessions are the model's"
        for sid, live in self.model.items():
            s = sessions[sid]
            assert (s.view_sequence, s.event_sequence, s.user_id, s.attrs) == (live.view, live.event, live.user, live.attrs)
            assert int(s.last_seen.timestamp() * 1000) == live.last
        assert self.tracker.stats().live == len(self.model) == len(self.tracker)


TrackerMachine.TestCase.settings = budget(40, stateful_step_count=40)
test_tracker_machine = TrackerMachine.TestCase


# --- What the generators found: plain regression tests --------------------------


def test_a_huge_int_is_refused_with_a_message_and_nothing_unraisable() -> None:
    """An int past what ``str()`` writes (4,300 digits) in a counter, an
    option or an attribute: ``InvalidArgument`` naming its size, where the
    message used to be ``<unprintable int object>`` and ``str()``'s
    ``ValueError`` went to ``sys.unraisablehook``."""
    with quiet():
        tracker = new_tracker(False)
    sid = tracker.start().id
    calls: list[Callable[[], Any]] = [
        lambda: tracker.revive(sid, view_sequence=10**5000),
        lambda: tracker.resume(sid, event_sequence=-(10**5000)),
        lambda: tracker.start(attrs={"a": 10**5000}),
        lambda: sojourn.Tracker(unsigned_tokens=True, idle_timeout=10**5000),
        lambda: tracker.revive(sid, view_sequence=BadInt(2**64)),
    ]
    for call in calls:
        with no_unraisable(), pytest.raises(InvalidArgument) as caught:
            call()
        assert "unprintable" not in str(caught.value) and "integer of" in str(caught.value), caught.value
    assert tracker.peek(sid).view_sequence == 0  # type: ignore[union-attr]
    tracker.close()


def test_a_mapping_whose_items_are_no_pairs_is_a_type_error() -> None:
    """``items()`` of the caller's mapping giving what is no (key, value)
    pair is the wrong type of attrs, not unpacking's bare ``ValueError``."""
    with quiet():
        tracker = new_tracker(False)
    with pytest.raises(TypeError, match="not a \\(key, value\\) pair"):
        tracker.start(attrs=LyingMapping())
    assert len(tracker) == 0
    tracker.close()


def test_loading_what_is_no_regular_file_fails_at_once() -> None:
    """``/dev/zero`` was read without end (all memory, then a crash) and a
    FIFO's open waited for ever for a writer: both are refused before they
    are read. In a child with a memory limit and a timeout, so that a
    regression fails the test rather than the machine."""
    done = run_python(
        f"""
        import resource, sojourn
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        for path in ("/dev/zero", {str(FOLDER / "fifo")!r}, "/dev/null"):
            for options in ({{"load": path}}, {{"snapshot": path}}):
                try:
                    sojourn.Tracker(unsigned_tokens=True, sweep_interval=0, **options)
                except sojourn.SnapshotError as e:
                    assert "not a regular file" in str(e), e
                else:
                    raise AssertionError(options)
        print("refused")
        """,
        timeout=30,
    )
    assert done.stdout.strip() == "refused", done.stderr


def test_a_length_that_lies_asks_for_no_room_at_once() -> None:
    """``track_many`` made room for what ``__len__`` said before reading:
    2 ** 62 panicked (capacity overflow), and a length that fits an int
    could ask the allocator for more than the machine has (an abort)."""
    with quiet():
        tracker = new_tracker(False)
    s = tracker.start()

    class Liar:
        def __init__(self, length: int) -> None:
            self.length = length

        def __len__(self) -> int:
            return self.length

        def __iter__(self) -> Iterator[str]:
            return iter([s.id, s.id])

    for length in (2**62, 2**40, 2**31, 0):
        ticks = tracker.track_many(Liar(length), "view")
        assert [t.view_sequence for t in ticks if t is not None][-1] >= 2
    tracker.close()
