// What a Node user would write instead of Sojourn: a session object kept in
// a Map with lazy expiry (`MapTracker`, `SignedMapTracker`), or in
// lru-cache with a sliding `ttl` (`LruTracker`). They keep the same fields
// (id, user, both counters, start, last activity) and are lean: each
// operation does the work Sojourn's does and no more, returns what its
// caller needs, and allocates nothing Sojourn's does not. Per operation:
//
// - `start()`: a `randomUUID()`, one `Session`, one insert; returns it.
// - `track(id, view)`: a lookup (expired: deleted, null), one counter up,
//   `lastSeen` set; returns the session itself, whose counters the caller
//   reads (Sojourn allocates a tick; this allocates nothing).
// - `get(id)`: a lookup, `lastSeen` set; returns the session (Sojourn
//   returns a snapshot with three Dates; this, its own mutable object).
// - `peek(id)`: a lookup, nothing set; returns the session.
// - `identify(id, userId)`: a lookup, `userId` and `lastSeen` set; returns
//   the session (no index of users' sessions, which Sojourn keeps).
// - `revive(id, hints)`: a lookup; if the id is not live, a `Session` under
//   that id with the hints as its counters (no clamp to a maximum, no
//   memory of departed sessions), inserted; returns the session.
// - `resume(token, hints)`: with `MapTracker` and `LruTracker` the token is
//   the id: a lookup, touched (`existing`), else `revive` (`revived`);
//   no token: `start` (`started`). Returns `{ session, outcome }`, as
//   Sojourn does. `SignedMapTracker`'s tokens are `id.signature` (an
//   HMAC-SHA256 of the id, base64url, as Sojourn's): `resume` splits the
//   token, computes the HMAC with `createHmac`, compares with
//   `timingSafeEqual`, then goes on as above with the id; a bad token
//   starts a session. `token(id)` signs, for the caller to hand out.
//
// Nothing expires in the benchmarks (all within the idle timeout), so the
// expiry checks are taken but never true.

import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import { LRUCache } from 'lru-cache'

const IDLE_MS = 30 * 60 * 1000

class Session {
  constructor(id, now, viewSequence, eventSequence) {
    this.id = id
    this.userId = null
    this.viewSequence = viewSequence
    this.eventSequence = eventSequence
    this.startedAt = now
    this.lastSeen = now
  }

  track(view, now) {
    if (view) this.viewSequence++
    else this.eventSequence++
    this.lastSeen = now
    return this
  }
}

/** A new session under `id`, its counters the hints (0 without). */
function revived(id, now, hints) {
  return hints === undefined
    ? new Session(id, now, 0, 0)
    : new Session(id, now, hints.viewSequence ?? 0, hints.eventSequence ?? 0)
}

export class MapTracker {
  sessions = new Map()

  live(id, now) {
    const s = this.sessions.get(id)
    if (s !== undefined && now - s.lastSeen > IDLE_MS) {
      this.sessions.delete(id)
      return undefined
    }
    return s
  }

  start() {
    const s = new Session(randomUUID(), Date.now(), 0, 0)
    this.sessions.set(s.id, s)
    return s
  }

  track(id, view) {
    const now = Date.now()
    return this.live(id, now)?.track(view, now) ?? null
  }

  get(id) {
    const now = Date.now()
    const s = this.live(id, now)
    if (s === undefined) return null
    s.lastSeen = now
    return s
  }

  peek(id) {
    return this.live(id, Date.now()) ?? null
  }

  identify(id, userId) {
    const now = Date.now()
    const s = this.live(id, now)
    if (s === undefined) return null
    s.userId = userId
    s.lastSeen = now
    return s
  }

  revive(id, hints) {
    const now = Date.now()
    let s = this.live(id, now)
    if (s === undefined) {
      s = revived(id, now, hints)
      this.sessions.set(id, s)
    }
    return s
  }

  /** `resume` with `id` taken from a token (checked, if signed). */
  resumeId(id, hints) {
    const now = Date.now()
    let s = this.live(id, now)
    if (s !== undefined) {
      s.lastSeen = now
      return { session: s, outcome: 'existing' }
    }
    s = revived(id, now, hints)
    this.sessions.set(id, s)
    return { session: s, outcome: 'revived' }
  }

  resume(token, hints) {
    if (token == null) return { session: this.start(), outcome: 'started' }
    return this.resumeId(token, hints)
  }
}

/** `MapTracker` with signed tokens (`id.signature`), as a user would sign them. */
export class SignedMapTracker extends MapTracker {
  #secret

  constructor(secret) {
    super()
    this.#secret = Buffer.from(secret)
  }

  token(id) {
    return `${id}.${createHmac('sha256', this.#secret).update(id).digest('base64url')}`
  }

  resume(token, hints) {
    const dot = token == null ? -1 : token.indexOf('.')
    if (dot >= 0) {
      const id = token.slice(0, dot)
      const given = Buffer.from(token.slice(dot + 1), 'base64url')
      const mac = createHmac('sha256', this.#secret).update(id).digest()
      if (given.length === mac.length && timingSafeEqual(given, mac)) return this.resumeId(id, hints)
    }
    return { session: this.start(), outcome: 'started' }
  }
}

export class LruTracker {
  cache = new LRUCache({ max: 1_000_000, ttl: IDLE_MS, updateAgeOnGet: true })

  start() {
    const s = new Session(randomUUID(), Date.now(), 0, 0)
    this.cache.set(s.id, s)
    return s
  }

  track(id, view) {
    return this.cache.get(id)?.track(view, Date.now()) ?? null
  }

  get(id) {
    const s = this.cache.get(id)
    if (s === undefined) return null
    s.lastSeen = Date.now()
    return s
  }

  peek(id) {
    return this.cache.peek(id) ?? null
  }

  identify(id, userId) {
    const s = this.cache.get(id)
    if (s === undefined) return null
    s.userId = userId
    s.lastSeen = Date.now()
    return s
  }

  revive(id, hints) {
    let s = this.cache.get(id)
    if (s === undefined) {
      s = revived(id, Date.now(), hints)
      this.cache.set(id, s)
    }
    return s
  }

  resume(token, hints) {
    if (token == null) return { session: this.start(), outcome: 'started' }
    let s = this.cache.get(token)
    if (s !== undefined) {
      s.lastSeen = Date.now()
      return { session: s, outcome: 'existing' }
    }
    s = revived(token, Date.now(), hints)
    this.cache.set(token, s)
    return { session: s, outcome: 'revived' }
  }
}
