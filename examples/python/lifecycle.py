"""A visit's whole lifecycle on the embedded memory store, narrated, from
Python, then a deploy that loses nothing (a snapshot). Run it with `make
demo`. The clock is a mock clock that the demo moves by hand, so half an
hour of idleness takes no time at all."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import sojourn
from sojourn import EndReason, Outcome, SessionEnd, Tracker

SECRET = "demo-secret-do-not-use-in-production"


def print_end(end: SessionEnd) -> None:
    s = end.session
    print(
        f"   on_end: {s.id} {end.reason} after {end.duration // timedelta(minutes=1)} min: "
        f"{s.view_sequence} views, {s.event_sequence} events, user {s.user_id or '-'}, "
        f"revivable {end.revivable}"
    )


def main() -> None:
    clock = sojourn.MockClock()
    week = timedelta(days=7)
    tracker = Tracker(
        clock=clock,
        idle_timeout=timedelta(minutes=30),
        # Sticky sessions: a client that comes back within a week keeps its
        # session and counters (the default window is the idle timeout).
        revive_window=week,
        retention=week,
        secret=SECRET,
        on_end=print_end,
        # No background driver: the demo delivers ends itself with sweep(),
        # so that they are printed in order.
        sweep_interval=0,
    )

    print("1. A visitor arrives holding no token.")
    entry = {"entry_page": "/pricing", "referrer": "https://news.example/", "utm_source": "newsletter"}
    session, outcome = tracker.resume(None, attrs=entry)
    print(f"   {outcome}: session {session.id} (index {session.session_index})")
    print(f"   the client keeps the signed token {session.token[:48]}…")

    print("2. It reads three pages and clicks once, then logs in.")
    for page in ("/pricing", "/docs", "/signup"):
        tick = tracker.track(session.id, "view")
        print(f"   view {page:<8} -> view #{tick.view_sequence}, sequence {tick.sequence}")
        clock.advance(60)
    tick = tracker.track(session.id, "event")
    print(f"   event click    -> event #{tick.event_sequence}, sequence {tick.sequence}")
    tracker.identify(session.id, "user-42")
    print("   identified as user-42")

    print("3. The tab sits idle for 45 minutes; the sweep reports the end:")
    clock.advance(timedelta(minutes=45))
    tracker.sweep()

    print("4. The visitor comes back the next day with its token.")
    clock.advance(timedelta(hours=20))
    back, outcome = tracker.resume(session.token)
    print(f"   {outcome}: same id {back.id == session.id}, revivals {back.revivals}, user {back.user_id}")
    tick = tracker.track(back.id, "view")
    print(f"   view /account -> view #{tick.view_sequence}, sequence {tick.sequence} (counting on)")

    print("5. A restart without a snapshot forgets everything; the client's token and counters bring it back.")
    restarted = Tracker(clock=clock, secret=SECRET, on_end=print_end, sweep_interval=0)
    again, outcome = restarted.resume(
        session.token, view_sequence=tick.view_sequence, event_sequence=tick.event_sequence
    )
    assert outcome is Outcome.REVIVED
    print(
        f"   {outcome}: same id {again.id == session.id}, "
        f"views {again.view_sequence}, events {again.event_sequence}"
    )

    print("6. A forged token starts a fresh session and is counted as rejected.")
    fresh, outcome = restarted.resume(f"{session.id}.forged-signature")
    print(f"   {outcome}: new id {fresh.id != session.id}")

    print("7. The user logs out everywhere:")
    restarted.identify(again.id, "user-42")
    ended = restarted.end_user("user-42")
    restarted.sweep()
    print(f"   {ended} session ended")

    stats = restarted.stats()
    print(
        f"8. After the restart: {stats.live} live, {stats.started} started, {stats.revived} revived, "
        f"{stats.rejected} rejected, {stats.ended.ended} ended."
    )
    tracker.close()
    restarted.close()

    with tempfile.TemporaryDirectory() as folder:
        deploy(clock, Path(folder) / "sessions.snap")


def deploy(clock: sojourn.MockClock, file: Path) -> None:
    """A restart that loses nothing: each process's tracker keeps its own
    snapshot, loaded when it is made and saved when it closes."""
    ends: list[SessionEnd] = []

    def process() -> Tracker:
        def on_end(end: SessionEnd) -> None:
            ends.append(end)
            print_end(end)

        return Tracker(clock=clock, secret=SECRET, snapshot=file, on_end=on_end, sweep_interval=0)

    print("9. A deploy: the tracker keeps a snapshot of its sessions (snapshot=...).")
    before = process()
    ann = before.start(user_id="ann", attrs={"plan": "pro"})
    before.track(ann.id, "view")
    idle = before.start()
    print(f"   ann's session {ann.id} (1 view), and {idle.id}, idle from now on")
    clock.advance(timedelta(minutes=10))
    before.track(ann.id, "view")
    before.close()
    print(f"   the process stops: close() saves the snapshot ({file.stat().st_size} bytes)")

    clock.advance(timedelta(minutes=25))
    print("10. 25 minutes later the new process loads it; the idle session ran out meanwhile:")
    after = process()
    after.sweep()
    print(
        f"   it ended at {ends[0].ended_at:%H:%M} UTC, its deadline, "
        f"not when the new process started ({clock.now():%H:%M} UTC)"
    )
    back, outcome = after.resume(ann.token)
    tick = after.track(back.id, "view")
    print(
        f"   ann comes back: {outcome}, user {back.user_id}, plan {back.attrs['plan']}, "
        f"view #{tick.view_sequence}; {after.stats().loaded} sessions loaded"
    )
    after.close()
    # `make test` runs this demo too: what it tells must be so.
    assert outcome is Outcome.EXISTING and (back.user_id, tick.view_sequence) == ("ann", 3)
    assert [(e.session.id, e.reason, e.ended_at) for e in ends] == [(idle.id, EndReason.IDLE, idle.expires_at)]


if __name__ == "__main__":
    main()
