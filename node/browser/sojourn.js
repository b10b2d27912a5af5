// Sojourn's browser client: one session per visitor across tabs, its views
// and events sent to the collect endpoint of Sojourn's middleware. A plain
// ES module with no dependencies. The protocol: docs/web.md.

const HIDDEN = 'hidden'

/**
 * Tracks this visitor's session: call `view()` and `event()`; batches go
 * to the collect endpoint with `fetch` (keepalive), and with
 * `navigator.sendBeacon` when the page is hidden. The token and counters
 * live in `localStorage` (shared by the site's tabs) and the counters in a
 * cookie too (`sojourn_hints`), so that a server that forgot the session
 * brings it back with them.
 */
export class Sojourn {
  constructor (options = {}) {
    const o = this.options = {
      endpoint: '/sojourn/collect',
      storageKey: 'sojourn',
      hintsCookie: 'sojourn_hints',
      flushInterval: 1000,
      maxQueue: 100,
      pageView: true,
      ...options
    }
    this.queue = []
    this.listeners = new Set()
    this.timer = null
    this.sending = null
    if (typeof window !== 'undefined') {
      // Another tab's answer is ours too.
      window.addEventListener('storage', (e) => {
        if (e.key === o.storageKey) this.emit()
      })
      const hide = () => this.flush({ beacon: true })
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === HIDDEN) hide()
      })
      window.addEventListener('pagehide', hide)
    }
    if (o.pageView) this.view()
  }

  /** The session as the server last gave it, or null before the first answer. */
  get session () {
    try {
      return JSON.parse(localStorage.getItem(this.options.storageKey)) || null
    } catch {
      return null
    }
  }

  /** Counts a view (a page, a screen). */
  view () {
    return this.push('view')
  }

  /** Counts an event (a click, a signup). */
  event (name) {
    return this.push('event', name)
  }

  /** Calls `listener(session)` whenever the session changes, in any tab; returns a function that stops it. */
  subscribe (listener) {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  push (kind, name) {
    const item = name === undefined ? { kind } : { kind, name: String(name) }
    this.queue.push(item)
    // Bounded: when the server is unreachable the oldest go first.
    if (this.queue.length > this.options.maxQueue) this.queue.shift()
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.sending ? this.options.flushInterval : 0)
    }
  }

  /** Sends what is queued now; resolves to the session once the server answered (or null). */
  async flush ({ beacon = false } = {}) {
    clearTimeout(this.timer)
    this.timer = null
    if (this.sending && !beacon) return this.sending
    const items = this.queue.splice(0, this.queue.length)
    const held = this.session || {}
    if (!items.length && !beacon) return held
    const body = JSON.stringify({
      token: held.token,
      view_sequence: held.view_sequence || 0,
      event_sequence: held.event_sequence || 0,
      items
    })
    const url = this.options.endpoint
    if (beacon && navigator.sendBeacon) {
      if (items.length) navigator.sendBeacon(url, new Blob([body], { type: 'application/json' }))
      return held
    }
    const headers = { 'content-type': 'application/json' }
    if (held.token) headers['sojourn-token'] = held.token
    this.sending = fetch(url, { method: 'POST', body, headers, keepalive: true, credentials: 'same-origin' })
      .then((r) => r.ok ? r.json() : Promise.reject(r.status))
      .then((answer) => this.keep(answer.session))
      .catch((status) => {
        // Unreachable, or the server failed: put them back for the next
        // try, in order. Refused (4xx): they would be again; drop them.
        if (!(status >= 400 && status < 500)) {
          this.queue.unshift(...items.slice(0, this.options.maxQueue - this.queue.length))
        }
        return null
      })
      .finally(() => {
        this.sending = null
        if (this.queue.length && !this.timer) {
          this.timer = setTimeout(() => this.flush(), this.options.flushInterval)
        }
      })
    return this.sending
  }

  keep (s) {
    const session = {
      id: s.id,
      token: s.token,
      view_sequence: s.view_sequence,
      event_sequence: s.event_sequence,
      session_index: s.session_index,
      previous_id: s.previous_id
    }
    localStorage.setItem(this.options.storageKey, JSON.stringify(session))
    document.cookie = `${this.options.hintsCookie}=${session.view_sequence}.${session.event_sequence}; path=/; max-age=31536000; SameSite=Lax`
    this.emit()
    return session
  }

  emit () {
    const s = this.session
    for (const listener of this.listeners) listener(s)
  }
}
