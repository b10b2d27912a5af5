// Where the time of Sojourn's hot calls goes in Node: each call taken
// apart into the addon's internal method alone (`_get`, `_trackView`…,
// what crosses Node-API and runs the core), the wrapper's JavaScript alone
// (the objects and Dates `node/sojourn.js` builds from what the internal
// method gave), and the whole call; with a bare Node-API call and
// node:crypto's HMAC, and the Map peer's calls (peers.mjs), beside them.
// Prints one JSON line of ns per call.
//
//     node bench/node/micro.mjs [--rounds R] [--groups read,js,...] [--reps K] [--batch B]
//
// The variants of a group share one process and one tracker (100,000 live
// sessions, started first) and are timed in turns: K turns (default 15)
// of B calls each (default 10,000), the order rotated every turn, each
// batch on its own seeded random sessions, every argument made before the
// clock. A variant's figure in a process is its fastest batch (the first
// turn, the warm-up, left out); the figure printed is the median of that
// over R processes (default 3). On a shared, noisy machine the variants
// of one group thus see the same spells, and their differences hold
// where their absolute times do not. Every loop keeps its last result, so
// that no allocation can be optimized away. The JavaScript-only variants
// run copies of sojourn.js's `tick` and `session` on a real session's
// numbers.

import { execFileSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { MapTracker, SignedMapTracker } from './peers.mjs'
import { random, uuid4 } from './seeded.mjs'

const require = createRequire(import.meta.url)
// The package measured: node/ of this tree, or the copy of it at
// $SOJOURN_NODE (to hold one build while node/ is rebuilt, or to compare two).
const PACKAGE = process.env.SOJOURN_NODE ?? '../../node'
const SECRET = 'bench-secret-0123456789abcdefghij'
const SESSIONS = 100_000
const USERS = 10_000

// Copies of node/sojourn.js's builders (same slots, same fields).
function tick(n) {
  return { viewSequence: n[0], eventSequence: n[1], sequence: n[2] }
}

function session(c, n) {
  if (typeof c === 'string') {
    return {
      id: c,
      token: c,
      userId: null,
      viewSequence: n[0],
      eventSequence: n[1],
      sequence: n[2],
      sessionIndex: n[3],
      previousId: null,
      startedAt: new Date(n[5]),
      lastSeen: new Date(n[6]),
      expiresAt: new Date(n[7]),
      revivals: n[4],
      attrs: {},
    }
  }
  return {
    id: c[0],
    token: c[1],
    userId: c[2],
    viewSequence: n[0],
    eventSequence: n[1],
    sequence: n[2],
    sessionIndex: n[3],
    previousId: c.length > 3 ? c[3] : null,
    startedAt: new Date(n[5]),
    lastSeen: new Date(n[6]),
    expiresAt: new Date(n[7]),
    revivals: n[4],
    attrs: c.length > 4 ? c[4] : {},
  }
}

/** `session` with the three timestamps as numbers: what the Dates cost. */
function sessionNoDates(c, n) {
  return {
    id: c,
    token: c,
    userId: null,
    viewSequence: n[0],
    eventSequence: n[1],
    sequence: n[2],
    sessionIndex: n[3],
    previousId: null,
    startedAt: n[5],
    lastSeen: n[6],
    expiresAt: n[7],
    revivals: n[4],
    attrs: {},
  }
}

/**
 * A session whose Dates are made when read (getters on the prototype): what
 * building them lazily would save. (Not the same API: JSON.stringify and
 * spreading see no getter on a prototype.)
 */
class LazySession {
  constructor(c, n) {
    this.id = c
    this.token = c
    this.userId = null
    this.viewSequence = n[0]
    this.eventSequence = n[1]
    this.sequence = n[2]
    this.sessionIndex = n[3]
    this.previousId = null
    this.startedAtMs = n[5]
    this.lastSeenMs = n[6]
    this.expiresAtMs = n[7]
    this.revivals = n[4]
    this.attrs = {}
  }

  get startedAt() {
    return new Date(this.startedAtMs)
  }

  get lastSeen() {
    return new Date(this.lastSeenMs)
  }

  get expiresAt() {
    return new Date(this.expiresAtMs)
  }
}

/** `session` with `attrs: null`: what the empty object costs. */
function sessionNoAttrs(c, n) {
  return {
    id: c,
    token: c,
    userId: null,
    viewSequence: n[0],
    eventSequence: n[1],
    sequence: n[2],
    sessionIndex: n[3],
    previousId: null,
    startedAt: new Date(n[5]),
    lastSeen: new Date(n[6]),
    expiresAt: new Date(n[7]),
    revivals: n[4],
    attrs: null,
  }
}

/** sojourn.js's `fieldwise` (whether hints can go a field an argument). */
function fieldwise(hints) {
  if (hints === undefined) return true
  if (hints === null || typeof hints !== 'object' || Array.isArray(hints)) return false
  const { userId, viewSequence, eventSequence, attrs } = hints
  return (
    attrs == null &&
    (userId == null || typeof userId === 'string') &&
    (viewSequence == null || typeof viewSequence === 'number') &&
    (eventSequence == null || typeof eventSequence === 'number')
  )
}

/** `{ session, outcome }` around a prebuilt session: what resume's extra object costs. */
const OUTCOMES = ['existing', 'revived', 'started']
function resumed(s, n) {
  return { session: s, outcome: OUTCOMES[n[8]] }
}

// The variants: each takes the group's context `x` and its batch of
// arguments `a` (ids, or unknown ids), `b` (user ids: random, or with
// `same`, each session's own), `h` (hints), `tk` (the sessions' tokens).
const V = {
  napi_call: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.clock.advance(0); return r },
  exists: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.exists(a[i]); return r },
  track_bare: (x, a) => { const f = x.p._trackView; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i]); return r },
  track: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.track(a[i], 'view'); return r },
  get_bare: (x, a) => { const f = x.p._get; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i]); return r },
  get: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.get(a[i]); return r },
  // The wrapper's work written out here (a copy of `session`, on a shared
  // buffer of the same numbers): and without the Dates, and without the
  // Dates nor `attrs: {}`, to price them where they run.
  get_manual: (x, a) => { const f = x.p._get; const n = x.ns; let r; for (let i = 0; i < a.length; i++) { const c = f.call(x.t, a[i]); r = c === null ? null : session(c, n) } return r },
  get_manual_no_dates: (x, a) => { const f = x.p._get; const n = x.ns; let r; for (let i = 0; i < a.length; i++) { const c = f.call(x.t, a[i]); r = c === null ? null : sessionNoDates(c, n) } return r },
  get_manual_lazy_dates: (x, a) => { const f = x.p._get; const n = x.ns; let r; for (let i = 0; i < a.length; i++) { const c = f.call(x.t, a[i]); r = c === null ? null : new LazySession(c, n) } return r },
  peek_bare: (x, a) => { const f = x.p._peek; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i]); return r },
  peek: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.peek(a[i]); return r },
  resume_bare: (x, a) => { const f = x.resumeH; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i]); return r },
  resume: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.resume(a[i]); return r },
  // revive of a live id: the core finds it and returns it; with hints, the
  // difference is what reading the hints object through Node-API costs.
  revive_live_bare: (x, a) => { const f = x.reviveH; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i]); return r },
  revive_live_hints_bare: (x, a, b, h) => { const f = x.reviveH; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i], h[i].userId, h[i].viewSequence, h[i].eventSequence); return r },
  // The hints as one object, read by napi a property at a time (`_revive`).
  revive_live_hints_object: (x, a, b, h) => { const f = x.p._revive; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i], h[i]); return r },
  // sojourn.js's check that hints can go a field an argument, alone (a copy).
  fieldwise_js: (x, a, b, h) => { let r; for (let i = 0; i < a.length; i++) r = fieldwise(h[i]); return r },
  identify_bare: (x, a, b) => { const f = x.p._identify; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i], b[i]); return r },
  identify: (x, a, b) => { let r; for (let i = 0; i < a.length; i++) r = x.t.identify(a[i], b[i]); return r },
  get_user_bare: (x, a) => { const f = x.p._get; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i]); return r },
  get_user: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.get(a[i]); return r },
  get_signed_bare: (x, a) => { const f = x.p._get; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i]); return r },
  get_signed: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.get(a[i]); return r },
  resume_signed_bare: (x, a, b, h, tk) => { const f = x.resumeH; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, tk[i]); return r },
  resume_signed: (x, a, b, h, tk) => { let r; for (let i = 0; i < a.length; i++) r = x.t.resume(tk[i]); return r },
  // One HMAC-SHA256 of an id in node:crypto: what the peer pays to check a token.
  hmac_node: (x, a) => { const k = x.key; let r; for (let i = 0; i < a.length; i++) r = createHmac('sha256', k).update(a[i]).digest(); return r },
  revive_unknown_bare: (x, a) => { const f = x.reviveH; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i]); return r },
  revive_unknown: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.revive(a[i]); return r },
  revive_hints_bare: (x, a, b, h) => { const f = x.reviveH; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i], h[i].userId, h[i].viewSequence, h[i].eventSequence); return r },
  revive_hints: (x, a, b, h) => { let r; for (let i = 0; i < a.length; i++) r = x.t.revive(a[i], h[i]); return r },
  resume_revived_bare: (x, a, b, h) => { const f = x.resumeH; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t, a[i], h[i].userId, h[i].viewSequence, h[i].eventSequence); return r },
  resume_revived: (x, a, b, h) => { let r; for (let i = 0; i < a.length; i++) r = x.t.resume(a[i], h[i]); return r },
  map_track: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.m.track(a[i], true); return r },
  map_get: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.m.get(a[i]); return r },
  map_peek: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.m.peek(a[i]); return r },
  map_identify: (x, a, b) => { let r; for (let i = 0; i < a.length; i++) r = x.m.identify(a[i], b[i]); return r },
  map_resume: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.m.resume(a[i]); return r },
  map_resume_signed: (x, a, b, h, tk) => { let r; for (let i = 0; i < a.length; i++) r = x.m.resume(tk[i]); return r },
  map_revive_unknown: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.m.revive(a[i]); return r },
  map_revive_hints: (x, a, b, h) => { let r; for (let i = 0; i < a.length; i++) r = x.m.revive(a[i], h[i]); return r },
  map_resume_revived: (x, a, b, h) => { let r; for (let i = 0; i < a.length; i++) r = x.m.resume(a[i], h[i]); return r },
  map_start: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.m.start(); return r },
  start_bare: (x, a) => { const f = x.p._start; let r; for (let i = 0; i < a.length; i++) r = f.call(x.t); return r },
  start: (x, a) => { let r; for (let i = 0; i < a.length; i++) r = x.t.start(); return r },
  tick_js: (x, a) => { const n = x.n; let r; for (let i = 0; i < a.length; i++) r = tick(n); return r },
  session_js: (x, a) => { const n = x.n; let r; for (let i = 0; i < a.length; i++) r = session(a[i], n); return r },
  session_js_no_dates: (x, a) => { const n = x.n; let r; for (let i = 0; i < a.length; i++) r = sessionNoDates(a[i], n); return r },
  session_js_no_attrs: (x, a) => { const n = x.n; let r; for (let i = 0; i < a.length; i++) r = sessionNoAttrs(a[i], n); return r },
  session_js_user: (x, a, b) => { const n = x.n; const c = [null, null, null]; let r; for (let i = 0; i < a.length; i++) { c[0] = c[1] = a[i]; c[2] = b[i]; r = session(c, n) } return r },
  dates3: (x, a) => { const n = x.n; let r; for (let i = 0; i < a.length; i++) r = [new Date(n[5]), new Date(n[6]), new Date(n[7])]; return r },
  numbers3: (x, a) => { const n = x.n; let r; for (let i = 0; i < a.length; i++) r = [n[5], n[6], n[7]]; return r },
  resumed_js: (x, a) => { const n = x.n; const s = x.s; let r; for (let i = 0; i < a.length; i++) r = resumed(s, n); return r },
}

// The groups: what their tracker is, what their arguments are, and their variants.
const GROUPS = {
  read: { args: 'live', variants: ['napi_call', 'exists', 'track_bare', 'track', 'get_bare', 'get', 'get_manual', 'get_manual_no_dates', 'get_manual_lazy_dates', 'peek_bare', 'peek', 'resume_bare', 'resume', 'revive_live_bare', 'revive_live_hints_bare', 'revive_live_hints_object'] },
  js: { args: 'live', variants: ['tick_js', 'session_js', 'session_js_no_dates', 'session_js_no_attrs', 'session_js_user', 'dates3', 'numbers3', 'resumed_js', 'fieldwise_js'] },
  identify: { args: 'live', users: true, variants: ['identify_bare', 'identify', 'get_user_bare', 'get_user'] },
  // identify with the user the session has already: nothing moves in the user index.
  identify_same: { args: 'live', users: true, same: true, variants: ['identify_bare', 'get_user_bare'], as: { identify_bare: 'identify_same_bare', get_user_bare: 'get_user_bare_2' } },
  signed: { args: 'live', signed: true, variants: ['get_signed_bare', 'get_signed', 'resume_signed_bare', 'resume_signed', 'hmac_node'] },
  // The Map peer (peers.mjs), alone in its process, measured the same way.
  map: { args: 'live', peer: 'map', variants: ['map_track', 'map_get', 'map_peek', 'map_identify', 'map_resume'] },
  map_signed: { args: 'live', peer: 'signed', variants: ['map_resume_signed'] },
  map_create: { args: 'unknown', peer: 'map', variants: ['map_revive_unknown', 'map_revive_hints', 'map_resume_revived', 'map_start'] },
  create: { args: 'unknown', variants: ['revive_unknown_bare', 'revive_unknown', 'revive_hints_bare', 'revive_hints', 'resume_revived_bare', 'resume_revived', 'start_bare', 'start'] },
}

/** One process: each variant's fastest batch, ns per call. */
function child(group, reps, batch, seed) {
  const g = GROUPS[group]
  const next = random(seed)
  const { Tracker } = require(`${PACKAGE}/sojourn.js`)
  const native = require(`${PACKAGE}/index.js`)
  // Enough room that the create group never evicts.
  const t = g.peer
    ? new Tracker({ unsignedTokens: true, sweepInterval: 0 })
    : new Tracker(g.signed ? { secret: SECRET, maxSessions: 5_000_000 } : { unsignedTokens: true, maxSessions: 5_000_000 })
  const m = g.peer === 'signed' ? new SignedMapTracker(SECRET) : g.peer ? new MapTracker() : null
  const ids = new Array(SESSIONS)
  const tokenOf = new Map()
  for (let i = 0; i < SESSIONS; i++) {
    if (m !== null) {
      const s = m.start()
      ids[i] = s.id
      tokenOf.set(s.id, g.peer === 'signed' ? m.token(s.id) : s.id)
      continue
    }
    const s = t.start()
    ids[i] = s.id
    tokenOf.set(s.id, s.token)
  }
  const users = Array.from({ length: USERS }, (_, i) => `user-${i}`)
  const userOf = new Map()
  if (g.users) {
    for (let i = 0; i < SESSIONS; i++) {
      t.identify(ids[i], users[i % USERS])
      userOf.set(ids[i], users[i % USERS])
    }
  }
  const n = new Float64Array(9)
  const s = m === null ? t.peek(ids[0]) : t.peek(t.start().id)
  n.set([s.viewSequence, s.eventSequence, s.sequence, s.sessionIndex, s.revivals, +s.startedAt, +s.lastSeen, +s.expiresAt, 0])
  const p = native.Tracker.prototype
  const ns = new Float64Array(new SharedArrayBuffer(9 * 8))
  ns.set(n)
  // The internal calls the wrapper makes for revive and resume: a field an
  // argument where the build has them, else the hints object.
  const x = { t, m, p, ns, reviveH: p._reviveHinted ?? p._revive, resumeH: p._resumeHinted ?? p._resume, clock: new native.MockClock(Date.now()), n, s, tokenOf, userOf, key: Buffer.from(SECRET) }
  // Every batch's arguments, made now: a batch per (turn, variant).
  const k = g.variants.length
  const batches = []
  for (let j = 0; j < reps * k; j++) {
    const a = new Array(batch)
    const b = new Array(batch)
    const h = new Array(batch)
    const tk = new Array(batch)
    for (let i = 0; i < batch; i++) {
      a[i] = g.args === 'unknown' ? uuid4(next) : ids[next() % SESSIONS]
      b[i] = g.same ? userOf.get(a[i]) : users[next() % USERS]
      h[i] = { viewSequence: 1 + (next() % 30), eventSequence: next() % 61 }
      tk[i] = tokenOf.get(a[i])
    }
    batches.push([a, b, h, tk])
  }
  const best = Object.fromEntries(g.variants.map((v) => [v, Infinity]))
  for (let r = 0; r < reps; r++) {
    for (let j = 0; j < k; j++) {
      const v = g.variants[(j + r) % k]
      const [a, b, h, tk] = batches[r * k + j]
      const began = process.hrtime.bigint()
      V[v](x, a, b, h, tk)
      const ns = Number(process.hrtime.bigint() - began) / batch
      if (r > 0) best[v] = Math.min(best[v], ns)
    }
  }
  t.close()
  return Object.fromEntries(Object.entries(best).map(([v, ns]) => [g.as?.[v] ?? v, ns]))
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    groups: { type: 'string', default: Object.keys(GROUPS).join(',') },
    reps: { type: 'string', default: '15' },
    batch: { type: 'string', default: '10000' },
    child: { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
})
const reps = Number(values.reps)
const batch = Number(values.batch)

if (values.child) {
  console.log(JSON.stringify(child(values.child, reps, batch, Number(values.seed))))
} else {
  const groups = values.groups.split(',')
  for (const g of groups) if (!(g in GROUPS)) throw new Error(`unknown group ${g}`)
  const samples = {}
  const self = fileURLToPath(import.meta.url)
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const g of groups) {
      const args = [self, '--child', g, '--seed', String(1000 + r), '--reps', String(reps), '--batch', String(batch)]
      const best = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }))
      for (const [v, ns] of Object.entries(best)) (samples[v] ??= []).push(Math.round(ns * 10) / 10)
    }
  }
  const ns = Object.fromEntries(Object.entries(samples).map(([v, xs]) => [v, median(xs)]))
  console.log(JSON.stringify({ sessions: SESSIONS, reps, batch, rounds: Number(values.rounds), ns_per_call: ns, samples }))
}
