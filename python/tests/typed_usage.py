"""Typed code using the package, checked by `mypy --strict` in
`make python-test` (so the stubs serve typed users) and run by
`test_typed_usage.py` (so it is right at run time too)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional, Union

import sojourn
from sojourn import AsyncTracker, EndReason, Kind, Outcome, SessionEnd, Tick, Tracker


class Analytics:
    def __init__(self, clock: Optional[sojourn.MockClock] = None) -> None:
        self.ended: list[SessionEnd] = []
        self.tracker = Tracker(
            idle_timeout=timedelta(minutes=30),
            max_lifetime=24 * 3600,
            revive_window=1800.0,
            max_sessions=10_000,
            secrets=["first key, sixteen bytes+", b"older key, sixteen bytes"],
            sweep_interval=0,
            on_end=self.ended.append,
            clock=clock,
        )

    def request(self, token: Optional[str], page: str) -> tuple[str, Tick]:
        session, outcome = self.tracker.resume(token, attrs={"entry_page": page})
        if outcome is Outcome.STARTED:
            self.tracker.set_attrs(session.id, {"new": True, "score": 1.5, "ref": None})
        return session.token, self.tracker.track(session.id, Kind.VIEW)


def main() -> None:
    clock = sojourn.MockClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    app = Analytics(clock)
    token, tick = app.request(None, "/")
    token, tick = app.request(token, "/docs")
    assert tick.sequence == 2
    sid: str = token.split(".")[0]
    assert app.tracker.track(uuid.UUID(sid), "event").event_sequence == 1
    ticks: list[Union[Tick, None, sojourn.SojournError]] = app.tracker.track_many(
        [sid, uuid.UUID(sid), str(uuid.uuid4())], Kind.EVENT
    )
    assert [t.event_sequence if isinstance(t, Tick) else t for t in ticks] == [2, 3, None]
    session = app.tracker.peek(sid)
    assert session is not None
    started: datetime = session.started_at
    attrs: dict[str, sojourn.AttrValue] = session.attrs
    assert started.tzinfo is not None and attrs["new"] is True
    clock.advance(timedelta(hours=1))
    assert app.tracker.sweep() == 1
    end: SessionEnd = app.ended[0]
    assert end.reason is EndReason.IDLE and end.duration == timedelta(0)
    stats: sojourn.Stats = app.tracker.stats()
    assert stats.ended.idle == 1 and len(app.tracker) == 0
    try:
        app.tracker.revive(sid, view_sequence=-1)
    except sojourn.InvalidArgument as e:
        assert e.argument == "view_sequence"
    forgotten: int = app.tracker.forget_user("nobody")
    assert forgotten == 0
    with app.tracker as tracker:
        n: int = tracker.end_all()
        assert n == 0
    dropped: int = tracker.close()
    assert dropped == 0


def snapshots(folder: Path) -> None:
    """A deploy: save, load, the tracker's own file, a bad file."""
    key: bytes = bytes.fromhex("ab" * 32)
    own = Tracker(
        unsigned_tokens=True,
        sweep_interval=0,
        snapshot=str(folder / "own.snap"),
        snapshot_interval=timedelta(seconds=30),
        snapshot_key=key,
    )
    session = own.start(user_id="ann")
    counts: sojourn.SnapshotCounts = own.save(folder / "copy.snap")
    assert (counts.live, counts.dormant) == (1, 0) and counts == own.save(folder / "again.snap")
    own.close()
    loaded: Tracker = Tracker.load(folder / "copy.snap", unsigned_tokens=True, snapshot_key=key, sweep_interval=0)
    assert loaded.peek(session.id) is not None and loaded.stats().loaded == 1
    loaded.close()
    try:
        Tracker(unsigned_tokens=True, load=folder / "copy.snap")
    except sojourn.SnapshotError as e:
        where: str = e.path
        assert where.endswith("copy.snap") and e.code == "SNAPSHOT_ERROR" and e.problem


async def save_async(folder: Path) -> None:
    tracker = AsyncTracker.load(folder / "copy.snap", unsigned_tokens=True, snapshot_key=bytes.fromhex("ab" * 32))
    counts: sojourn.SnapshotCounts = await tracker.save(folder / "async.snap")
    assert counts.live == 1
    await tracker.close()


def shared(redis_url: Optional[str] = None, nodes: Optional[list[str]] = None) -> AsyncTracker:
    """An AsyncTracker for an ASGI app: on Redis when given, else in memory."""
    return AsyncTracker(
        secret="first key, sixteen bytes+",
        redis_url=redis_url,
        redis_cluster=nodes,
        key_prefix="typed-usage",
        store_timeout=timedelta(milliseconds=500),
        max_workers=8,
    )


async def handle(tracker: AsyncTracker, token: Optional[str]) -> tuple[str, int]:
    session, outcome = await tracker.resume(token, attrs={"entry_page": "/"})
    tick: Tick = await tracker.track(session.id, "view")
    remote: bool = tracker.store_is_remote
    assert remote is tracker.tracker.store_is_remote
    return session.token, tick.view_sequence


async def serve() -> None:
    async with shared(os.environ.get("SOJOURN_REDIS_URL")) as tracker:
        token, views = await handle(tracker, None)
        token, views = await handle(tracker, token)
        assert views == 2
        ended: Optional[SessionEnd] = await tracker.end(token.split(".")[0])
        assert ended is not None and await tracker.count() == 0


def web() -> None:
    """The web layer: sojourn.Web by hand, and the middlewares' API."""
    import sojourn.asgi
    import sojourn.wsgi

    tracker = Tracker(secret="first key, sixteen bytes+", sweep_interval=0)
    rules = sojourn.Web(same_site="strict", secure="auto", cookie_max_age=timedelta(days=7), collect_path=None)
    route: sojourn.Route = rules.route("GET", "/pricing", user_agent="Mozilla/5.0")
    assert route is sojourn.Route.PAGE
    visit: sojourn.Visit = rules.visit(tracker, "GET", "/pricing", https=True, cookie=None)
    assert visit.outcome is Outcome.STARTED and visit.set_cookie.endswith("; Secure")
    api = sojourn.RequestSession(tracker, visit)
    tick: Tick = api.track("event")
    assert tick.event_sequence == 1 and api.identify("ann").user_id == "ann"
    reply: sojourn.Reply = sojourn.Web().collect(tracker, "POST", "/sojourn/collect", b'{"items": []}')
    body: bytes = reply.body
    cookie: Optional[str] = reply.set_cookie
    assert reply.status == 200 and body.startswith(b"{") and cookie is not None
    most: int = sojourn.WEB_DEFAULTS["max_body_bytes"]
    assert most == rules.max_body_bytes
    client = sojourn.Web(client_path="/js/sojourn.js")
    assert client.route("GET", "/js/sojourn.js") is sojourn.Route.CLIENT
    assert sojourn.Web(client_path=None).options["client_path"] is None
    module: str = sojourn.BROWSER_CLIENT
    content_type: str = sojourn.BROWSER_CLIENT_TYPE
    assert "export class Sojourn" in module and content_type.startswith("text/javascript")

    async def app(scope: sojourn.asgi.Scope, receive: sojourn.asgi.Receive, send: sojourn.asgi.Send) -> None:
        pass

    asgi = sojourn.asgi.SojournMiddleware(app, tracker=AsyncTracker(unsigned_tokens=True, sweep_interval=0), track_views=True)
    assert isinstance(asgi.tracker, AsyncTracker)
    wsgi = sojourn.wsgi.SojournMiddleware(lambda environ, start_response: [b""], tracker=tracker)
    assert wsgi.web.cookie_name == "sojourn"
    tracker.close()


if __name__ == "__main__":
    main()
    web()
    asyncio.run(serve())
    with tempfile.TemporaryDirectory() as folder:
        snapshots(Path(folder))
        asyncio.run(save_async(Path(folder)))
