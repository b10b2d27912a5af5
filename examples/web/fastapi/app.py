"""Sojourn behind FastAPI, with the browser client on the page::

    python app.py [--port 8000] [--snapshot FILE] [--redis URL]

On the memory store by default; ``--snapshot FILE`` keeps the sessions
across restarts (saved when the server stops, loaded when it starts),
``--redis URL`` keeps them in Redis for every process. Open
http://127.0.0.1:8000/.
"""

from __future__ import annotations

import argparse
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Union

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

import sojourn
import sojourn.asgi

HERE = Path(__file__).resolve().parent
PAGE = (HERE.parent / "page.html").read_text()


def make_app(tracker: Union[sojourn.Tracker, sojourn.AsyncTracker]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # The server stops (a deploy's SIGTERM): the tracker saves its
        # snapshot and delivers the last ends.
        closed = tracker.close()
        if not isinstance(tracker, sojourn.Tracker):
            await closed

    app = FastAPI(lifespan=lifespan)
    # The session on every page, the collect endpoint (POST /sojourn/collect)
    # and the browser client (GET /sojourn/browser.js): one line.
    app.add_middleware(sojourn.asgi.SojournMiddleware, tracker=tracker)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    @app.get("/api/session")
    def session(request: Request) -> dict[str, Any]:
        """The server's own view of the visit, for the page (and its tests)."""
        visit = request.state.sojourn
        s = visit.session
        return {
            "outcome": visit.outcome.value,
            "session": {
                "id": str(s.id),
                "session_index": s.session_index,
                "view_sequence": s.view_sequence,
                "event_sequence": s.event_sequence,
            },
        }

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--snapshot")
    parser.add_argument("--redis")
    args = parser.parse_args()
    options: dict[str, Any] = {
        "secret": os.environ.get("SOJOURN_SECRET", "an example secret, at least sixteen bytes"),
        "on_end": lambda end: print(f"session {end.session.id} ended ({end.reason})", flush=True),
    }
    tracker: Union[sojourn.Tracker, sojourn.AsyncTracker]
    if args.redis:
        tracker = sojourn.AsyncTracker(redis_url=args.redis, **options)
    else:
        tracker = sojourn.Tracker(snapshot=args.snapshot, **options)
    print(f"listening on http://127.0.0.1:{args.port}/", flush=True)
    uvicorn.run(make_app(tracker), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
