"""Replays every ``tests/scenarios/*.json`` through the Python API, with a
``MockClock`` and no background driver, as ``core/tests/scenarios.rs`` does
through the Rust API, on every store: the memory store, a real Redis and a
real three-master Redis Cluster (``scripts/with-redis``), each tracker
under a key prefix of its own, so that a restart starts from nothing as on
the memory store. Snapshot files (``save``, ``truncate``, and ``load`` in a
``restart``) are in a folder of each run's own: on Redis a save exports the
tracker's sessions, and a load imports them under the new tracker's
prefix. The format is in ``tests/scenarios/README.md``.

Each result is turned into the JSON shape of the scenarios through the
Python attributes (not through ``to_json``), and every session, end, tick
and stats is also checked to give the same JSON through ``to_json``, so the
Python view and the core's serialisation cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

import sojourn
from support import EPOCH, store_options

SCENARIOS = Path(__file__).resolve().parents[2] / "tests" / "scenarios"

CONFIG_KEYS = {
    "idle_timeout_ms": "idle_timeout",
    "max_lifetime_ms": "max_lifetime",
    "revive_window_ms": "revive_window",
    "retention_ms": "retention",
    "max_sessions": "max_sessions",
    "max_dormant": "max_dormant",
    "max_attrs_bytes": "max_attrs_bytes",
    "max_counter_hint": "max_counter_hint",
    "secrets": "secrets",
    "unsigned_tokens": "unsigned_tokens",
    "snapshot_key": "snapshot_key",
}
SESSION_FIELDS = (
    "id",
    "token",
    "user_id",
    "view_sequence",
    "event_sequence",
    "sequence",
    "session_index",
    "previous_id",
    "started_at",
    "last_seen",
    "expires_at",
    "revivals",
    "attrs",
)


def iso(t: datetime) -> str:
    assert t.tzinfo is timezone.utc, f"{t!r} is not an aware UTC datetime"
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def shown(value: Any) -> Any:
    """A result as the scenarios write it, read through Python attributes."""
    if isinstance(value, sojourn.Session):
        out = {}
        for name in SESSION_FIELDS:
            field = getattr(value, name)
            out[name] = iso(field) if isinstance(field, datetime) else field
        return checked(value, out)
    if isinstance(value, sojourn.SessionEnd):
        assert isinstance(value.reason, sojourn.EndReason)
        assert isinstance(value.duration, timedelta)
        out = dict(shown(value.session))
        out.update(
            reason=value.reason.value,
            ended_at=iso(value.ended_at),
            duration_ms=value.duration // timedelta(milliseconds=1),
            revivable=value.revivable,
        )
        return checked(value, out)
    if isinstance(value, sojourn.SojournError):
        # An item of track_many that failed on its own.
        return {"error": value.code}
    if isinstance(value, sojourn.Tick):
        out = {
            "view_sequence": value.view_sequence,
            "event_sequence": value.event_sequence,
            "sequence": value.sequence,
        }
        return checked(value, out)
    if isinstance(value, sojourn.Stats):
        names = (
            "live",
            "dormant",
            "started",
            "revived",
            "resumed",
            "rejected",
            "hints_clamped",
            "attrs_dropped",
            "ends_dropped",
            "ends_pending",
            "views",
            "events",
            "loaded",
        )
        out = {name: getattr(value, name) for name in names}
        e = value.ended
        out["ended"] = {"idle": e.idle, "lifetime": e.lifetime, "ended": e.ended, "evicted": e.evicted}
        return checked(value, out)
    if isinstance(value, tuple):
        session, outcome = value
        assert isinstance(outcome, sojourn.Outcome)
        return {"session": shown(session), "outcome": outcome.value}
    if isinstance(value, list):
        return [shown(v) for v in value]
    assert value is None or isinstance(value, (bool, int)), repr(value)
    return value


def checked(value: Any, out: dict[str, Any]) -> dict[str, Any]:
    assert json.loads(value.to_json()) == out, f"to_json disagrees with the attributes of {value!r}"
    return out


def matches(expected: Any, actual: Any) -> bool:
    """Partial matching, as the scenario README describes."""
    if isinstance(expected, dict):
        if len(expected) == 1 and "not" in expected:
            return not matches(expected["not"], actual)
        if len(expected) == 1 and "in_order" in expected:
            items = expected["in_order"]
            return (
                isinstance(actual, list)
                and len(items) == len(actual)
                and all(matches(e, a) for e, a in zip(items, actual))
            )
        if not isinstance(actual, dict):
            return False
        return all(
            expected[k] == actual.get(k) if k == "attrs" else matches(v, actual.get(k))
            for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and assign(expected, actual, [False] * len(actual))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float)) and float(expected) == float(actual)
    return bool(expected == actual)


def assign(expected: list[Any], actual: list[Any], used: list[bool]) -> bool:
    """Whether each expected item matches a distinct actual item."""
    if not expected:
        return True
    first, rest = expected[0], expected[1:]
    for i, item in enumerate(actual):
        if not used[i] and matches(first, item):
            used[i] = True
            if assign(rest, actual, used):
                return True
            used[i] = False
    return False


class Run:
    def __init__(self, scenario: dict[str, Any], folder: Path, store: str = "memory") -> None:
        self.store = store
        #: Where this run's snapshot files are.
        self.folder = folder
        self.base_config: dict[str, Any] = scenario.get("config", {})
        self.clock = sojourn.MockClock(EPOCH)
        self.ends: list[sojourn.SessionEnd] = []
        self.tracker = self.build(self.base_config)
        self.names: dict[str, tuple[str, str]] = {}

    def build(self, config: dict[str, Any], load: Optional[str] = None) -> sojourn.Tracker:
        """A tracker with `config`, loading the snapshot file `load` of
        this run (through ``Tracker.load``) if one is named."""
        # Unsigned on purpose, unless the scenario says otherwise.
        options: dict[str, Any] = {} if "secrets" in config else {"unsigned_tokens": True}
        for key, value in config.items():
            assert key in CONFIG_KEYS, f"unknown config key {key}"
            if key == "snapshot_key":
                value = bytes.fromhex(value)
            elif key.endswith("_ms"):
                value = timedelta(milliseconds=value)
            options[CONFIG_KEYS[key]] = value
        options.update(store_options(self.store, "scenario"))
        options.update(clock=self.clock, sweep_interval=0, on_end=self.ends.append)
        if load is not None:
            return sojourn.Tracker.load(self.folder / load, **options)
        return sojourn.Tracker(**options)

    def fill(self, value: Any) -> Any:
        """Replaces ``{name}`` and ``{name.token}`` in every string."""
        if isinstance(value, str):
            return re.sub(r"\{([^{}]*)\}", self.name, value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def name(self, m: re.Match[str]) -> str:
        inner = m.group(1)
        name, token = (inner[: -len(".token")], True) if inner.endswith(".token") else (inner, False)
        if name not in self.names:
            return m.group(0)
        return self.names[name][1 if token else 0]

    def call(self, op: str, args: dict[str, Any]) -> Any:
        t = self.tracker
        hints = {k: args[k] for k in ("user_id", "attrs", "view_sequence", "event_sequence") if k in args}
        ops: dict[str, Callable[[], Any]] = {
            "start": lambda: t.start(user_id=args.get("user_id"), attrs=args.get("attrs")),
            "get": lambda: t.get(args["id"]),
            "peek": lambda: t.peek(args["id"]),
            "exists": lambda: t.exists(args["id"]),
            "track": lambda: t.track(args["id"], args["kind"]),
            "track_many": lambda: t.track_many(args["ids"], args["kind"]),
            "identify": lambda: t.identify(args["id"], args["user_id"]),
            "set_attrs": lambda: t.set_attrs(args["id"], args["attrs"]),
            "revive": lambda: t.revive(args["id"], **hints),
            "resume": lambda: t.resume(args.get("token"), **hints),
            "end": lambda: t.end(args["id"]),
            "sessions": lambda: t.sessions(args.get("user_id")),
            "count": lambda: t.count(args.get("user_id")),
            "len": lambda: len(t),
            "end_user": lambda: t.end_user(args["user_id"]),
            "forget_user": lambda: t.forget_user(args["user_id"]),
            "end_all": t.end_all,
            "reassign_user": lambda: t.reassign_user(args["old"], args["new"]),
            "stats": t.stats,
            "sweep": t.sweep,
        }
        assert op in ops, f"unknown op {op}"
        return ops[op]()

    def save(self, step: dict[str, Any]) -> None:
        """``{ "save": NAME }``: saves to this run's file NAME, and checks
        the counts it wrote."""
        try:
            counts = self.tracker.save(self.folder / step["save"])
        except sojourn.SojournError as e:
            assert "error" in step, f"save: unexpected error {e.code} ({e})"
            assert e.code == step["error"], f"save: expected {step['error']}, got {e.code} ({e})"
            return
        assert "error" not in step, f"save: expected {step['error']}, got {counts!r}"
        assert isinstance(counts, sojourn.SnapshotCounts)
        got = {"live": counts.live, "dormant": counts.dormant}
        if "expect" in step:
            assert matches(step["expect"], got), f"save: expected {step['expect']}\n got {got}"

    def step(self, step: dict[str, Any]) -> None:
        if "advance_ms" in step:
            self.clock.advance(timedelta(milliseconds=step["advance_ms"]))
            return
        if "ends" in step:
            got = [shown(e) for e in self.ends]
            self.ends.clear()
            expected = self.fill(step["ends"])
            assert matches(expected, got), f"ends: expected {expected}\n got {got}"
            return
        if "save" in step:
            self.save(step)
            return
        if "truncate" in step:
            # A copy that stopped half way.
            os.truncate(self.folder / step["truncate"], step["bytes"])
            return
        if "restart" in step:
            code: Optional[str] = step.get("error")
            config = {**self.base_config, **step["restart"]}
            if "down_ms" in step:
                # The process went away: it closes (delivering the ends due
                # then), time passes, another starts.
                assert code is None, "restart: down_ms leaves no tracker to keep on error"
                self.tracker.close()
                self.clock.advance(timedelta(milliseconds=step["down_ms"]))
                self.tracker = self.build(config, step.get("load"))
                return
            try:
                tracker = self.build(config, step.get("load"))
            except sojourn.SojournError as e:
                assert e.code == code, f"restart: unexpected error {e.code} ({e})"
                return
            assert code is None, f"restart: expected error {code}, got a tracker"
            self.tracker.close()
            self.tracker = tracker
            return
        op, args = step["op"], self.fill(step.get("args", {}))
        try:
            value = shown(self.call(op, args))
        except sojourn.SojournError as e:
            assert "error" in step, f"{op} {args}: unexpected error {e.code} ({e})"
            assert e.code == step["error"], f"{op} {args}: expected {step['error']}, got {e.code} ({e})"
            return
        assert "error" not in step, f"{op} {args}: expected {step['error']}, got {value}"
        if "as" in step:
            session = value["session"] if op == "resume" else value
            self.names[step["as"]] = (session["id"], session["token"])
        if "expect" in step:
            expected = self.fill(step["expect"])
            assert matches(expected, value), f"{op} {args}: expected {expected}\n got {value}"


def scenario_files() -> list[Path]:
    return sorted(SCENARIOS.glob("*.json"))


def test_every_scenario_is_found() -> None:
    assert len(scenario_files()) >= 30, f"only {len(scenario_files())} scenarios in {SCENARIOS}"


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.stem)
@pytest.mark.parametrize("store", ["memory", "redis", "cluster"])
def test_scenario(store: str, path: Path, tmp_path: Path) -> None:
    scenario = json.loads(path.read_text())
    run = Run(scenario, tmp_path, store)
    assert run.tracker.store_is_remote is (store != "memory")
    try:
        for i, step in enumerate(scenario["steps"]):
            try:
                run.step(step)
            except AssertionError as e:
                raise AssertionError(f"{scenario['name']} step {i}: {e}") from None
    finally:
        run.tracker.close()


def test_the_matcher_can_fail() -> None:
    assert matches({"a": 1}, {"a": 1, "b": 2})
    assert not matches({"a": 2}, {"a": 1})
    assert not matches({"attrs": {"x": 1}}, {"attrs": {"x": 1, "y": 2}})
    assert matches([{"id": "b"}, {"id": "a"}], [{"id": "a"}, {"id": "b"}])
    assert not matches([{"id": "a"}, {"id": "a"}], [{"id": "a"}, {"id": "b"}])
    assert matches({"id": {"not": "a"}}, {"id": "b"})
    assert matches({"in_order": [1, None]}, [1, None])
    assert not matches({"in_order": [None, 1]}, [1, None])
    assert not matches({"in_order": [1]}, [1, None])
    assert not matches({"in_order": [1]}, 1)
    assert not matches(None, {"id": "b"})
    assert not matches(True, 1) and not matches(0, False)
    assert matches(1, 1.0)


def test_a_wrong_expectation_fails_the_run(tmp_path: Path) -> None:
    run = Run({"steps": []}, tmp_path)
    run.step({"op": "start", "args": {}, "as": "a"})
    with pytest.raises(AssertionError, match="expected"):
        run.step({"op": "peek", "args": {"id": "{a}"}, "expect": {"view_sequence": 1}})
    with pytest.raises(AssertionError, match="expected SESSION_NOT_FOUND"):
        run.step({"op": "peek", "args": {"id": "{a}"}, "error": "SESSION_NOT_FOUND"})
    with pytest.raises(AssertionError, match="unexpected error"):
        run.step({"op": "track", "args": {"id": "{a}", "kind": "click"}})
    run.tracker.close()


def test_a_wrong_snapshot_expectation_fails_the_run(tmp_path: Path) -> None:
    run = Run({"steps": []}, tmp_path)
    run.step({"op": "start", "args": {}, "as": "a"})
    with pytest.raises(AssertionError, match="save: expected"):
        run.step({"save": "s1", "expect": {"live": 2, "dormant": 0}})
    run.step({"save": "s1", "expect": {"live": 1, "dormant": 0}})
    assert (tmp_path / "s1").is_file(), "the runner's folder holds the file"
    with pytest.raises(AssertionError, match="expected error SNAPSHOT_ERROR"):
        run.step({"restart": {}, "load": "s1", "error": "SNAPSHOT_ERROR"})
    run.step({"truncate": "s1", "bytes": 10})
    with pytest.raises(AssertionError, match="unexpected error SNAPSHOT_ERROR"):
        run.step({"restart": {}, "load": "s1"})
    with pytest.raises(AssertionError, match="down_ms leaves no tracker"):
        run.step({"restart": {}, "load": "s1", "down_ms": 1, "error": "SNAPSHOT_ERROR"})
    with pytest.raises(AssertionError, match="save: unexpected error SNAPSHOT_ERROR"):
        run.step({"save": "no-such-folder/s1"})
    run.step({"op": "exists", "args": {"id": "{a}"}, "expect": True})
    run.tracker.close()
