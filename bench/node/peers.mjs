// What a Node user would write instead of Sojourn: a session object kept in
// a Map with lazy expiry, or in lru-cache with a sliding `ttl`. Each keeps
// the same fields and does the same work per operation.

import { randomUUID } from 'node:crypto'
import { LRUCache } from 'lru-cache'

const IDLE_MS = 30 * 60 * 1000

class Session {
  constructor(id, now) {
    this.id = id
    this.userId = null
    this.viewSequence = 0
    this.eventSequence = 0
    this.startedAt = now
    this.lastSeen = now
  }

  track(view, now) {
    if (view) this.viewSequence++
    else this.eventSequence++
    this.lastSeen = now
    return { viewSequence: this.viewSequence, eventSequence: this.eventSequence, sequence: this.viewSequence + this.eventSequence }
  }
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
    const s = new Session(randomUUID(), Date.now())
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
    if (s !== undefined) s.lastSeen = now
    return s ?? null
  }

  identify(id, userId) {
    const now = Date.now()
    const s = this.live(id, now)
    if (s !== undefined) {
      s.userId = userId
      s.lastSeen = now
    }
    return s ?? null
  }

  revive(id) {
    let s = this.sessions.get(id)
    if (s === undefined) {
      s = new Session(id, Date.now())
      this.sessions.set(id, s)
    }
    return s
  }
}

export class LruTracker {
  cache = new LRUCache({ max: 1_000_000, ttl: IDLE_MS, updateAgeOnGet: true })

  start() {
    const s = new Session(randomUUID(), Date.now())
    this.cache.set(s.id, s)
    return s
  }

  track(id, view) {
    return this.cache.get(id)?.track(view, Date.now()) ?? null
  }

  get(id) {
    const s = this.cache.get(id)
    if (s !== undefined) s.lastSeen = Date.now()
    return s ?? null
  }

  identify(id, userId) {
    const s = this.cache.get(id)
    if (s !== undefined) {
      s.userId = userId
      s.lastSeen = Date.now()
    }
    return s ?? null
  }

  revive(id) {
    let s = this.cache.get(id)
    if (s === undefined) {
      s = new Session(id, Date.now())
      this.cache.set(id, s)
    }
    return s
  }
}
