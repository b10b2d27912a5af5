"""What a Python user would write instead of Sojourn: a session object with
slots, kept in a plain dict with lazy expiry, or in cachetools.TTLCache
(re-set on every touch, for sliding expiry). Each keeps the same fields and
does the same work per operation as Sojourn, and no more; each hands back
its own session object (allocating nothing per call but what a new session
needs), where Sojourn returns a snapshot or a tick:

- `track`: the session if live (expired ones are dropped), a counter
  raised, `last_seen` set; returns the session, whose counters are the tick.
- `get`: the live session, touched. `peek`: the live session, untouched.
- `identify`: the live session's user set, touched.
- `start`: a session under a new uuid4.
- `revive(id, view_sequence=, event_sequence=)`: the live session touched,
  or a new one under the given id with the client's counters.
- `resume(token, ...)`: the token checked (`SignedDictTracker`: its
  HMAC-SHA256, as `hmac.compare_digest`), then as `revive`.
"""

import base64
import hashlib
import hmac
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
        return s

    def get(self, id):
        now = time.time()
        s = self._live(id, now)
        if s is not None:
            s.last_seen = now
        return s

    def peek(self, id):
        return self._live(id, time.time())

    def identify(self, id, user_id):
        now = time.time()
        s = self._live(id, now)
        if s is not None:
            s.user_id = user_id
            s.last_seen = now
        return s

    def revive(self, id, view_sequence=0, event_sequence=0):
        now = time.time()
        s = self._live(id, now)
        if s is None:
            s = self.sessions[id] = Session(id, now)
            s.view_sequence = view_sequence
            s.event_sequence = event_sequence
        else:
            s.last_seen = now
        return s

    def resume(self, token, view_sequence=0, event_sequence=0):
        return self.revive(token, view_sequence, event_sequence)


class SignedDictTracker(DictTracker):
    """`DictTracker` whose clients hold `id.signature` (HMAC-SHA256, base64url)."""

    def __init__(self, secret):
        super().__init__()
        self.key = secret

    def token(self, id):
        mac = hmac.new(self.key, id.encode(), hashlib.sha256).digest()
        return id + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def resume(self, token, view_sequence=0, event_sequence=0):
        id, _, signature = token.partition(".")
        if not hmac.compare_digest(self.token(id), token):
            return self.revive(str(uuid.uuid4()))
        return self.revive(id, view_sequence, event_sequence)


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
        return s

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

    def revive(self, id, view_sequence=0, event_sequence=0):
        s = self.cache.get(id)
        if s is None:
            s = Session(id, time.time())
            s.view_sequence = view_sequence
            s.event_sequence = event_sequence
        else:
            s.last_seen = time.time()
        self.cache[id] = s
        return s
