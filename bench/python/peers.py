"""What a Python user would write instead of Sojourn: a session object with
slots, kept in a plain dict with lazy expiry, or in cachetools.TTLCache
(re-set on every touch, for sliding expiry). Each keeps the same fields and
does the same work per operation."""

import time
import uuid

IDLE = 30 * 60.0


class Session:
    __slots__ = ("id", "user_id", "view_sequence", "event_sequence", "started_at", "last_seen")

    def __init__(self, id, now):
        self.id = id
        self.user_id = None
        self.view_sequence = 0
        self.event_sequence = 0
        self.started_at = now
        self.last_seen = now


class DictTracker:
    def __init__(self):
        self.sessions = {}

    def _live(self, id, now):
        s = self.sessions.get(id)
        if s is not None and now - s.last_seen > IDLE:
            del self.sessions[id]
            return None
        return s

    def start(self):
        s = Session(str(uuid.uuid4()), time.time())
        self.sessions[s.id] = s
        return s

    def track(self, id, view):
        now = time.time()
        s = self._live(id, now)
        if s is None:
            return None
        if view:
            s.view_sequence += 1
        else:
            s.event_sequence += 1
        s.last_seen = now
        return (s.view_sequence, s.event_sequence, s.view_sequence + s.event_sequence)

    def get(self, id):
        now = time.time()
        s = self._live(id, now)
        if s is not None:
            s.last_seen = now
        return s

    def identify(self, id, user_id):
        now = time.time()
        s = self._live(id, now)
        if s is not None:
            s.user_id = user_id
            s.last_seen = now
        return s

    def revive(self, id):
        s = self.sessions.get(id)
        if s is None:
            s = self.sessions[id] = Session(id, time.time())
        return s


class TTLCacheTracker:
    def __init__(self):
        from cachetools import TTLCache

        self.cache = TTLCache(maxsize=1_000_000, ttl=IDLE)

    def start(self):
        s = Session(str(uuid.uuid4()), time.time())
        self.cache[s.id] = s
        return s

    def track(self, id, view):
        s = self.cache.get(id)
        if s is None:
            return None
        if view:
            s.view_sequence += 1
        else:
            s.event_sequence += 1
        s.last_seen = time.time()
        self.cache[id] = s  # re-set: the TTL slides
        return (s.view_sequence, s.event_sequence, s.view_sequence + s.event_sequence)

    def get(self, id):
        s = self.cache.get(id)
        if s is not None:
            s.last_seen = time.time()
            self.cache[id] = s
        return s

    def identify(self, id, user_id):
        s = self.cache.get(id)
        if s is not None:
            s.user_id = user_id
            s.last_seen = time.time()
            self.cache[id] = s
        return s

    def revive(self, id):
        s = self.cache.get(id)
        if s is None:
            s = self.cache[id] = Session(id, time.time())
        return s
