"""Shared fixtures: a tracker on a mock clock with no background driver,
and the list of ends it delivered; for the web tests, real servers and a
TLS certificate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import sojourn
from support import EPOCH
from web_apps import Servers, Tls


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


# The web tests' servers and certificate (web_apps.py).


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Real servers on loopback ports, stopped as the test ends."""
    running = Servers()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1, made by openssl."""
    return Tls(tmp_path_factory.mktemp("tls"))
