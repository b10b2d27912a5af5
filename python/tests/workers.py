"""Worker processes for the tests (``multiprocessing`` with the spawn
start method imports its target from a module, by name)."""

from __future__ import annotations

import multiprocessing.synchronize
from typing import Any

import sojourn


def track_on_redis(
    index: int,
    options: dict[str, Any],
    rounds: int,
    start: multiprocessing.synchronize.Barrier,
    inbox: Any,
    stop: multiprocessing.synchronize.Event,
    out: Any,
) -> None:
    """One worker of ``test_four_processes_share_sessions_on_redis``: once
    every worker is up, takes the ids from ``inbox``, tracks every id once
    a round, sends its ticks, then reports every end its tracker delivers
    until told to stop, and closes its tracker."""

    def on_end(end: sojourn.SessionEnd) -> None:
        out.put(("end", index, end.session.id, end.reason.value, end.session.view_sequence))

    tracker = sojourn.Tracker(on_end=on_end, **options)
    start.wait(60)  # every worker is up
    ids: list[str] = inbox.get(timeout=60)
    start.wait(60)  # and has the ids
    ticks = []
    for _ in range(rounds):
        results = tracker.track_many(ids, "view")
        ticks.append([r.view_sequence if isinstance(r, sojourn.Tick) else repr(r) for r in results])
    out.put(("ticks", index, ticks))
    stop.wait(120)
    tracker.close()  # delivers what is pending: its ends come before "closed"
    out.put(("closed", index))
