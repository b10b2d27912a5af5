"""The API that the web middlewares put on each page request
(``request.state.sojourn``, ``environ["sojourn"]``, ``flask.g.sojourn``,
``request.sojourn``): the request's session, how it was found, and
``track`` and ``identify`` on it. The middlewares themselves are in
:mod:`sojourn.asgi`, :mod:`sojourn.wsgi` and :mod:`sojourn.django`, which
import their framework only when used; the rules they follow are the
core's, through :class:`sojourn.Web`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Union

from sojourn import Kind, Outcome
from sojourn._native import Session, Tick, Tracker, Visit

if TYPE_CHECKING:
    from sojourn._async import AsyncTracker

_KindLike = Union[Kind, Literal["view", "event"]]

__all__ = ["AsyncRequestSession", "RequestSession"]


class _Visited:
    """What both kinds of request session hold: the visit and its parts."""

    __slots__ = ("_visit",)

    def __init__(self, visit: Visit) -> None:
        self._visit = visit

    @property
    def visit(self) -> Visit:
        """What the middleware got from :meth:`sojourn.Web.visit`."""
        return self._visit

    @property
    def session(self) -> Session:
        """The session, as of the request's start."""
        return self._visit.session

    @property
    def outcome(self) -> Outcome:
        """How the session was found."""
        return self._visit.outcome

    def __repr__(self) -> str:
        return f"<sojourn.{type(self).__name__} {self._visit.session.id} {self._visit.outcome.value}>"


class RequestSession(_Visited):
    """The session of a page request, with a :class:`sojourn.Tracker`.

    - ``session``: the :class:`sojourn.Session` as of the request's start
      (a snapshot: ``track`` and ``identify`` return what they changed).
    - ``outcome``: how it was found, a :class:`sojourn.Outcome`
      (``started``, ``existing`` or ``revived``).
    - ``visit``: the :class:`sojourn.Visit` the middleware got, with the
      view it counted (``visit.tick``, when ``track_views``) and the
      ``Set-Cookie`` it sends.
    - ``track(kind)``: counts a ``"view"`` or an ``"event"`` now; returns
      the :class:`sojourn.Tick`.
    - ``identify(user_id)``: sets the session's user; returns the session.
    """

    __slots__ = ("_tracker",)

    def __init__(self, tracker: Tracker, visit: Visit) -> None:
        super().__init__(visit)
        self._tracker = tracker

    @property
    def tracker(self) -> Tracker:
        """The tracker the session is in."""
        return self._tracker

    def track(self, kind: _KindLike) -> Tick:
        """Counts a ``"view"`` or an ``"event"`` on the session now."""
        return self._tracker.track(self._visit.session.id, kind)

    def identify(self, user_id: str) -> Session:
        """Sets the session's user; returns the session."""
        return self._tracker.identify(self._visit.session.id, user_id)


class AsyncRequestSession(_Visited):
    """The session of a page request, with a :class:`sojourn.AsyncTracker`:
    as :class:`RequestSession`, with ``track`` and ``identify``
    coroutines (``await request.state.sojourn.track("event")``)."""

    __slots__ = ("_tracker",)

    def __init__(self, tracker: AsyncTracker, visit: Visit) -> None:
        super().__init__(visit)
        self._tracker = tracker

    @property
    def tracker(self) -> AsyncTracker:
        """The tracker the session is in."""
        return self._tracker

    async def track(self, kind: _KindLike) -> Tick:
        """Counts a ``"view"`` or an ``"event"`` on the session now."""
        return await self._tracker.track(self._visit.session.id, kind)

    async def identify(self, user_id: str) -> Session:
        """Sets the session's user; returns the session."""
        return await self._tracker.identify(self._visit.session.id, user_id)


# Shown as the package's, where they are exported.
RequestSession.__module__ = AsyncRequestSession.__module__ = "sojourn"
