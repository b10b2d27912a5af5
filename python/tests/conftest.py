"""Shared fixtures: a tracker on a mock clock with no background driver,
and the list of ends it delivered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import sojourn
from support import EPOCH


@pytest.fixture
def clock() -> sojourn.MockClock:
    return sojourn.MockClock(EPOCH)


@pytest.fixture
def ends() -> list[sojourn.SessionEnd]:
    return []


@pytest.fixture
def tracker(clock: sojourn.MockClock, ends: list[sojourn.SessionEnd]) -> Iterator[sojourn.Tracker]:
    with sojourn.Tracker(unsigned_tokens=True, clock=clock, sweep_interval=0, on_end=ends.append) as t:
        yield t
