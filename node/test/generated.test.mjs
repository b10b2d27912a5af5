// Generated bad input (issue #14, "prove the promises"): every public call
// of the Node `Tracker` (its constructor and `load`, `MockClock`, hints,
// attrs, `trackMany`, `save`/`saveSync`) with arbitrary values from
// fast-check: every JavaScript type, huge, negative and non-finite numbers,
// BigInts, Symbols, strings with NUL and lone surrogates, sparse arrays,
// `__proto__` keys, objects with getters that throw, Proxies (revoked, or
// whose traps throw or answer differently each time), deep and huge
// objects. Each call returns a valid result (its invariants checked) or
// throws an `Error` whose `code` is a documented one (or the caller's own
// value, thrown by the caller's getter or trap); never a crash or a hang,
// and an error changes nothing (the sessions and stats before and after
// are compared). (The model of live sessions checked after each step is
// in the Python suite, python/tests/test_generated.py; not here yet.)
//
// Budgets. By default (`make test`) the file takes well under a minute on
// two loaded cores. For a long run (`make stress`), multiply every
// property's runs with SOJOURN_GENERATED_RUNS (an integer, default 1):
//
//   cd node && SOJOURN_GENERATED_RUNS=50 node --test test/generated.test.mjs
//
// A failure prints the counterexample, its seed and path
// (`fc.assert`'s report); SOJOURN_GENERATED_SEED replays a seed.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect, types } from 'node:util'
import { createHmac } from 'node:crypto'
import { describe, test } from 'node:test'

import fc from 'fast-check'
import { MockClock, Tracker, testing } from 'sojourn'

const RUNS = Math.max(1, Number.parseInt(process.env.SOJOURN_GENERATED_RUNS ?? '1', 10) || 1)
const SEED = process.env.SOJOURN_GENERATED_SEED
const budget = (runs) => ({ numRuns: runs * RUNS, includeErrorInReport: true, ...(SEED ? { seed: Number(SEED) } : {}) })

/** Every code the package documents (sojourn.d.ts `ErrorCode`). */
const CODES = new Set([
  'SESSION_NOT_FOUND',
  'INVALID_SESSION_ID',
  'SESSION_NOT_REVIVABLE',
  'INVALID_ARGUMENT',
  'STORE_ERROR',
  'SNAPSHOT_ERROR',
])
const SECRET = 'a secret of sixteen bytes or more'
const MAX_COUNTER = 2 ** 32 - 1
const EPOCH = Date.parse('2026-01-01T00:00:00Z')
const FOLDER = mkdtempSync(join(tmpdir(), 'sojourn-generated-'))
writeFileSync(join(FOLDER, 'garbage.snap'), Buffer.from('not a snapshot at all, just bytes'))
mkdirSync(join(FOLDER, 'a-folder'))

// --- Values -----------------------------------------------------------------

/** What the caller's own getters and traps throw: it may pass through a call. */
class Mine extends Error {}
const MINE_SYMBOL = Symbol('thrown by the caller')

function deep(depth) {
  let d = {}
  for (let i = 0; i < depth; i++) d = { k: d }
  return d
}
function deepArray(depth) {
  let d = []
  for (let i = 0; i < depth; i++) d = [d]
  return d
}
function huge(n) {
  const o = {}
  for (let i = 0; i < n; i++) o[`k${i}`] = i
  return o
}
function throwingGetter(thrown) {
  return Object.defineProperty({ a: 1 }, 'b', {
    enumerable: true,
    get() {
      throw thrown
    },
  })
}
/** A Proxy whose every property read answers something else. */
function fickle(values) {
  let n = 0
  return new Proxy(
    {},
    {
      get: (_, key) => (key === 'then' ? undefined : values[n++ % values.length]),
      has: () => true,
      ownKeys: () => ['userId', 'attrs', 'viewSequence', 'eventSequence', 'a'],
      getOwnPropertyDescriptor: () => ({ value: values[n++ % values.length], enumerable: true, configurable: true }),
    },
  )
}
function trapsThrow() {
  const boom = () => {
    throw new Mine('trap')
  }
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom })
}
function revoked() {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/**
 * A value made when the call is made: fast-check inspects the values it
 * generates (`cloneMethod in value`), which a Proxy's traps or a getter
 * would answer, or throw from.
 */
class Lazy {
  constructor(name, make) {
    this.name = name
    this.make = make
  }
  [fc.toStringMethod]() {
    return this.name
  }
}
const lazy = (name, make) => fc.constant(new Lazy(name, make))
/** `v` with its Lazy values made: at the top, in arrays and in plain objects, two levels down. */
function real(v, depth = 0) {
  if (v instanceof Lazy) return v.make()
  if (depth > 2 || v === null || typeof v !== 'object') return v
  if (Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype) {
    const out = new Array(v.length)
    for (const k of Object.keys(v)) out[k] = real(v[k], depth + 1)
    return out
  }
  if (Object.getPrototypeOf(v) === Object.prototype) {
    const out = {}
    for (const k of Object.keys(v)) {
      Object.defineProperty(out, k, { value: real(v[k], depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return v
}

const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
const anyChar = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), surrogate, fc.constant('\0'))
const weirdText = fc.string({ unit: anyChar, maxLength: 24 })
const longText = fc.oneof(
  fc.integer({ min: 250, max: 300 }).map((n) => 'u'.repeat(n)),
  fc.integer({ min: 1, max: 100_000 }).map((n) => 'x'.repeat(n)),
  fc.tuple(anyChar, fc.integer({ min: 1, max: 3000 })).map(([c, n]) => c.repeat(n)),
)
const text = fc.oneof(weirdText, longText, fc.constant(''))
const numbers = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, -1, 1.5, NaN, Infinity, -Infinity, MAX_COUNTER, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, 5e-324, Number.MAX_SAFE_INTEGER),
)
const uuids = fc.uuid()
function v7(ms, rest) {
  const hex = (n, width) => n.toString(16).padStart(width, '0')
  const r = BigInt(rest)
  const t = hex(ms, 12)
  return `${t.slice(0, 8)}-${t.slice(8)}-7${hex(Number(r & 0xfffn), 3)}-${hex(Number(0x8000n | ((r >> 12n) & 0x3fffn)), 4)}-${hex(Number((r >> 26n) & 0xffffffffffffn), 12)}`
}
const idText = fc.oneof(
  uuids,
  uuids.map((s) => s.toUpperCase()),
  fc.tuple(fc.integer({ min: EPOCH - 1e9, max: EPOCH + 1e9 }), fc.bigInt({ min: 0n, max: 2n ** 74n - 1n })).map(([ms, r]) => v7(ms, r)),
  fc.tuple(fc.integer({ min: 0, max: 2 ** 47 }), fc.bigInt({ min: 0n, max: 2n ** 74n - 1n })).map(([ms, r]) => v7(ms, r)),
  fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'not-a-uuid', '', ' '),
  fc.tuple(uuids, fc.nat(35), anyChar).map(([s, i, c]) => s.slice(0, i) + c + s.slice(i + 1)),
  fc.tuple(uuids, weirdText).map(([s, t]) => s + t),
  uuids.map((s) => s.replaceAll('-', '')),
  uuids.map((s) => `{${s}}`),
)
const special = fc.oneof(
  lazy('a getter that throws an Error', () => throwingGetter(new Mine('getter'))),
  lazy('a getter that throws a Symbol', () => throwingGetter(MINE_SYMBOL)),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(undefined), fc.bigInt(), fc.double())).map((values) => new Lazy(`fickle(${fc.stringify(values)})`, () => fickle(values))),
  lazy('a Proxy whose traps throw', trapsThrow),
  lazy('a revoked Proxy', revoked),
  fc.integer({ min: 1, max: 100_000 }).map((n) => new Lazy(`deep(${n})`, () => deep(n))),
  fc.integer({ min: 1, max: 100_000 }).map((n) => new Lazy(`deepArray(${n})`, () => deepArray(n))),
  fc.integer({ min: 0, max: 20_000 }).map((n) => new Lazy(`huge(${n})`, () => huge(n))),
  lazy('{"__proto__": 1, "a": "x"}', () => JSON.parse('{"__proto__": 1, "a": "x"}')),
  lazy('{"__proto__": null}', () => JSON.parse('{"__proto__": null}')),
  lazy('Object.create(null)', () => Object.create(null)),
  lazy('an object with a Symbol key', () => ({ [Symbol('s')]: 1, a: 2 })),
  lazy('an object with an inherited key', () => Object.assign(Object.create({ inherited: 1 }), { own: 2 })),
  lazy('a Map', () => new Map([['a', 1]])),
  lazy('an invalid Date', () => new Date(NaN)),
  lazy('a MockClock', () => new MockClock(EPOCH)),
  lazy('a FaultSwitch', () => new testing.FaultSwitch()),
  lazy('Buffer.alloc(32)', () => Buffer.alloc(32)),
  lazy('new Uint8Array(31)', () => new Uint8Array(31)),
  lazy('new Float64Array(4)', () => new Float64Array(4)),
  lazy('a function', () => () => 'a function'),
  lazy("new String('view')", () => new String('view')),
  lazy('an array with a userId', () => Object.assign([1, 2], { userId: 'u1' })),
)
const junk = fc.oneof(
  { depthSize: 'small' },
  fc.anything({
    maxDepth: 3,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
    withUnicodeString: true,
  }),
  numbers,
  fc.bigInt(),
  fc.string().map((s) => Symbol(s)),
  text,
  idText,
  special,
)

const attrValues = fc.oneof(
  fc.constantFrom(null, undefined, true, false),
  numbers,
  weirdText,
  fc.integer({ min: 0, max: 5000 }).map((n) => 'v'.repeat(n)),
  junk,
)
const attrKeys = fc.oneof(weirdText, fc.constant(''), fc.integer({ min: 1, max: 5000 }).map((n) => 'k'.repeat(n)), fc.constantFrom('__proto__', 'constructor', 'toString'))
const dictOf = (keys, values, maxKeys) =>
  fc.array(fc.tuple(keys, values), { maxLength: maxKeys }).map((entries) => {
    const o = {}
    for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
    return o
  })
const attrs = fc.oneof(
  dictOf(attrKeys, attrValues, 6),
  dictOf(fc.constantFrom('a', 'b', 'c', 'plan', 'n', '__proto__'), fc.oneof(fc.constantFrom(null, true, false), fc.integer({ min: -9, max: 9 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), weirdText), 4),
  junk,
)
const users = fc.oneof(fc.constantFrom('u1', 'u2', 'ünï', 'u'.repeat(256)), fc.constant(undefined), fc.constant(null), text, junk)
const kinds = fc.oneof(fc.constantFrom('view', 'event'), fc.constantFrom('View', 'EVENT', 'view\0', ''), junk)
const counters = fc.oneof(fc.constant(undefined), fc.nat(50), fc.integer({ min: 0, max: 2 ** 33 }), numbers, junk)
const hints = fc.oneof(
  fc.constant(undefined),
  fc.record({ userId: users, attrs, viewSequence: counters, eventSequence: counters }, { requiredKeys: [] }),
  junk,
)
const writablePaths = fc.oneof(
  weirdText.map((s) => join(FOLDER, `n${s.replaceAll('/', '_')}`)),
  fc.constantFrom(
    join(FOLDER, 's.snap'),
    join(FOLDER, 'no', 'such', 'folder', 's.snap'),
    join(FOLDER, 'a-folder'),
    join(FOLDER, 'garbage.snap'),
    join(FOLDER, 'x\0y'),
    join(FOLDER, 'y'.repeat(300)),
    FOLDER + '/z'.repeat(3000),
    '',
  ),
)
const readablePaths = fc.oneof(writablePaths, fc.constantFrom('/dev/zero', '/dev/null', '/proc/self/status', '/'))
const notString = junk.filter((v) => typeof v !== 'string')

// --- Checks -------------------------------------------------------------------

function isText(v) {
  return typeof v === 'string' && v.isWellFormed()
}
function validUser(v) {
  return isText(v) && v.length > 0 && Buffer.byteLength(v) <= 256
}
const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** The session id `v` names, or null when it is no valid id (core/src/id.rs). */
function canon(v) {
  if (!isText(v) || !ID_RE.test(v)) return null
  const id = v.toLowerCase()
  const version = Number.parseInt(id[14], 16)
  const variant = Number.parseInt(id[19], 16) >> 2
  return version >= 1 && version <= 8 && variant === 0b10 ? id : null
}
function sign(id) {
  return `${id}.${createHmac('sha256', SECRET).update(id).digest('base64url')}`
}

function describeValue(v) {
  // Not fc.stringify: it walks an array's every index (a sparse one may be
  // 2 ** 31 long), and reads getters and Proxy traps.
  if (types.isProxy(v)) return 'a Proxy'
  if (v instanceof Lazy) return v.name
  return inspect(v, { depth: 3, maxArrayLength: 20, maxStringLength: 200, breakLength: Infinity, showProxy: true })
}

function state(t) {
  const sessions = t.sessions().map((s) => JSON.stringify(s))
  sessions.sort()
  return JSON.stringify([sessions, t.stats()])
}

/**
 * Calls `call`: `{ result }`, or `{ error }` when it threw, which must be
 * a documented error (or the caller's own); after an error, `t` is as it
 * was.
 */
function attempt(t, call) {
  const before = t ? state(t) : null
  try {
    return { result: call() }
  } catch (error) {
    // The caller's own: what its getters and traps throw, and the engine's
    // TypeError for any use of a revoked Proxy.
    const own = error instanceof Mine || error === MINE_SYMBOL || (error instanceof TypeError && /proxy that has been revoked/.test(error.message))
    if (!own) {
      assert.ok(error instanceof Error, `a thrown non-Error: ${describeValue(error)}`)
      assert.ok(CODES.has(error.code), `an undocumented code ${error.code}: ${error.stack}`)
      assert.ok(typeof error.message === 'string' && error.message.length > 0)
    }
    if (t) assert.equal(state(t), before, `the failed call changed the tracker (${error?.code}: ${error?.message})`)
    return { error }
  }
}

function checkSession(s, signed, t) {
  assert.equal(typeof s, 'object')
  assert.equal(canon(s.id), s.id)
  if (signed === null) assert.ok(s.token === s.id || s.token.startsWith(`${s.id}.`))
  else assert.equal(s.token, signed ? sign(s.id) : s.id)
  assert.ok(s.userId === null || validUser(s.userId))
  for (const n of [s.viewSequence, s.eventSequence, s.sessionIndex, s.revivals]) {
    assert.ok(Number.isInteger(n) && n >= 0 && n <= MAX_COUNTER, `counter ${n}`)
  }
  assert.equal(s.sequence, s.viewSequence + s.eventSequence)
  assert.ok(s.sessionIndex >= 1)
  assert.ok(s.previousId === null || canon(s.previousId) === s.previousId)
  assert.ok(s.startedAt <= s.lastSeen && s.lastSeen < s.expiresAt)
  for (const [k, v] of Object.entries(s.attrs)) {
    assert.ok(isText(k) && k.length > 0)
    assert.ok(v === null || ['string', 'boolean'].includes(typeof v) || Number.isFinite(v), `attr ${k}`)
  }
  assert.equal(Object.getPrototypeOf(s.attrs), Object.prototype, 'attrs are a plain object')
  if (t) assert.deepEqual(t.peek(s.id), s, 'a session handed out is live, as handed out')
  return s
}
function checkTick(tick) {
  assert.ok(Number.isInteger(tick.viewSequence) && Number.isInteger(tick.eventSequence))
  assert.equal(tick.sequence, tick.viewSequence + tick.eventSequence)
  assert.ok(tick.sequence >= 1 && tick.viewSequence <= MAX_COUNTER && tick.eventSequence <= MAX_COUNTER)
  return tick
}

function newTracker(signed, clock = new MockClock(EPOCH), options = {}) {
  return new Tracker({
    sweepInterval: 0,
    maxCounterHint: MAX_COUNTER,
    clock,
    ...(signed ? { secret: SECRET } : { unsignedTokens: true }),
    ...options,
  })
}

function someSessions(t) {
  const a = t.start({ userId: 'u1', attrs: { plan: 'pro' } })
  const b = t.start()
  const full = t.revive(crypto.randomUUID(), { userId: 'u2', viewSequence: MAX_COUNTER })
  const gone = t.start({ userId: 'u1' })
  t.end(gone.id)
  return [a, b, full, gone]
}

const ids = (sessions) =>
  fc.oneof(
    fc.constantFrom(...sessions.map((s) => s.id)),
    fc.constantFrom(...sessions.map((s) => s.id.toUpperCase())),
    fc.constantFrom(...sessions.map((s) => s.token)),
    idText,
    junk,
  )

// --- Single calls -----------------------------------------------------------------

const METHODS = [
  'start', 'get', 'peek', 'exists', 'track', 'trackMany', 'identify', 'setAttrs', 'revive', 'resume', 'end',
  'sessions', 'count', 'endUser', 'forgetUser', 'reassignUser', 'token', 'saveSync', 'size', 'stats', 'sweep',
  'endAll', 'extraArgs',
]

function arbitraryCall(method, sessions) {
  const id = ids(sessions)
  const live = sessions[0].id
  switch (method) {
    case 'start':
      return fc.oneof(fc.record({ userId: users, attrs }, { requiredKeys: [] }), junk).map((o) => [o])
    case 'get':
    case 'peek':
    case 'exists':
    case 'end':
    case 'token':
      return id.map((i) => [i])
    case 'track':
      return fc.tuple(id, kinds)
    case 'trackMany':
      return fc.tuple(
        fc.oneof(
          fc.array(id, { maxLength: 20 }),
          fc.sparseArray(id, { maxLength: 10 }),
          fc.integer({ min: 0, max: 100_000 }).map((n) => new Array(n).fill(live)),
          fc.integer({ min: 0, max: 1000 }).map((n) => new Array(n).fill(sessions[2].id)),
          lazy('an array whose element getter throws', () => Object.defineProperty([live], 1, { get: () => { throw new Mine('element') }, enumerable: true })),
          lazy('a Proxy of an array that says its length is 2 ** 32 - 1', () => new Proxy([live, live], { get: (a, k) => (k === 'length' ? 2 ** 32 - 1 : a[k]) })),
          lazy('an array-like object', () => ({ length: 2, 0: live, 1: live })),
          junk,
        ),
        kinds,
      )
    case 'identify':
      return fc.tuple(id, users)
    case 'setAttrs':
      return fc.tuple(id, attrs)
    case 'revive':
      return fc.tuple(id, hints)
    case 'resume':
      return fc.tuple(fc.oneof(fc.constant(undefined), fc.constant(null), id, text), hints)
    case 'sessions':
    case 'count':
    case 'endUser':
    case 'forgetUser':
      return users.map((u) => [u])
    case 'reassignUser':
      return fc.tuple(users, users)
    case 'saveSync':
      return fc.oneof(writablePaths, notString).map((p) => [p])
    default:
      return fc.array(junk, { maxLength: 3 })
  }
}

function checkResult(t, method, result, signed, before) {
  switch (method) {
    case 'start':
    case 'identify':
    case 'setAttrs':
    case 'revive':
      checkSession(result, signed, t)
      break
    case 'get':
    case 'peek':
      if (result !== null) checkSession(result, signed, t)
      break
    case 'resume':
      checkSession(result.session, signed, t)
      assert.ok(['existing', 'revived', 'started'].includes(result.outcome))
      break
    case 'track':
      checkTick(result)
      break
    case 'trackMany':
      assert.ok(Array.isArray(result))
      for (const item of result) {
        if (item === null) continue
        if (item instanceof Error) assert.equal(item.code, 'INVALID_ARGUMENT')
        else checkTick(item)
      }
      break
    case 'sessions':
      assert.ok(Array.isArray(result))
      for (const s of result) checkSession(s, signed)
      break
    case 'count':
    case 'size':
    case 'endUser':
    case 'forgetUser':
    case 'reassignUser':
    case 'sweep':
    case 'endAll':
      assert.ok(Number.isInteger(result) && result >= 0, `${method} gave ${result}`)
      break
    case 'exists':
      assert.equal(typeof result, 'boolean')
      break
    case 'end':
      if (result !== null) {
        assert.equal(result.reason, 'ended')
        assert.equal(t.peek(result.session.id), null)
      }
      break
    case 'token':
      assert.equal(typeof result, 'string')
      assert.equal(result, signed ? sign(result.split('.')[0]) : canon(result))
      assert.equal(state(t), before, 'token changes nothing')
      break
    case 'saveSync':
      assert.equal(result.live, t.count())
      break
    case 'stats':
      assert.equal(result.live, t.count())
      break
  }
}

describe('generated bad input', () => {
  test('every call with arbitrary values: a valid result, or a documented error that changes nothing', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.constantFrom(...METHODS), fc.gen(), fc.context(), (signed, method, g, ctx) => {
        const t = newTracker(signed)
        try {
          const sessions = someSessions(t)
          const drawn = g(() => arbitraryCall(method, sessions))
          const args = real(drawn)
          ctx.log(`${method}(${drawn.map(describeValue).join(', ')})`)
          const before = state(t)
          const call =
            method === 'size'
              ? () => t.size
              : method === 'extraArgs'
                ? () => t[METHODS[args.length % 17]](...args, ...args, ...args)
                : () => t[method](...args)
          const { result, error } = attempt(t, call)
          if (error === undefined) checkResult(t, method, result, signed, before)
          assert.equal(t.track(t.start().id, 'view').viewSequence, 1, 'the tracker goes on')
        } finally {
          t.close()
        }
      }),
      budget(2000),
    )
  })

  test('the constructor and Tracker.load with arbitrary options', () => {
    const plausible = {
      secret: fc.oneof(fc.constant(SECRET), text),
      secrets: fc.oneof(fc.array(fc.oneof(fc.constant(SECRET), text), { maxLength: 3 }), junk),
      clock: fc.oneof(lazy('a MockClock', () => new MockClock(EPOCH)), junk),
      onEnd: fc.oneof(lazy('a function', () => () => {}), junk),
      load: fc.oneof(readablePaths, notString),
      snapshot: fc.oneof(writablePaths, notString),
      snapshotKey: fc.oneof(fc.uint8Array({ minLength: 30, maxLength: 34 }), junk),
      unsignedTokens: fc.oneof(fc.boolean(), junk),
      faultSwitch: fc.oneof(lazy('a FaultSwitch', () => new testing.FaultSwitch()), junk),
    }
    const names = [
      'idleTimeout', 'maxLifetime', 'reviveWindow', 'retention', 'maxSessions', 'maxDormant', 'maxCounterHint',
      'maxPendingEnds', 'closeTimeout', 'maxAttrsBytes', 'snapshotInterval', 'bogus', ...Object.keys(plausible),
    ]
    const options = fc.dictionary(
      fc.constantFrom(...names),
      fc.oneof(fc.nat(1e7), fc.double({ min: 0, max: 1e7 }), numbers, junk),
      { maxKeys: 5 },
    )
    fc.assert(
      fc.property(options, fc.gen(), fc.boolean(), (drawn, g, viaLoad) => {
        for (const name of Object.keys(drawn)) if (name in plausible) drawn[name] = g(() => plausible[name])
        const given = real({ sweepInterval: 0, ...drawn })
        const path = viaLoad ? real(g(() => fc.oneof(readablePaths, notString))) : undefined
        const { result: t } = attempt(null, () => (viaLoad ? Tracker.load(path, given) : new Tracker(given)))
        if (t === undefined) return
        try {
          assert.ok(t instanceof Tracker)
          const s = checkSession(t.start(), null, t)
          assert.equal(t.track(s.id, 'event').eventSequence, 1)
        } finally {
          attempt(null, () => t.close())
        }
      }),
      budget(1000),
    )
  })

  test('MockClock with arbitrary times and moves: a refused move leaves the clock', () => {
    const times = fc.oneof(fc.integer({ min: 0, max: 2 ** 48 }), fc.date(), numbers, junk)
    fc.assert(
      fc.property(times, fc.array(fc.tuple(fc.boolean(), times), { maxLength: 5 }), (now, moves) => {
        const { result: clock } = attempt(null, () => new MockClock(real(now)))
        if (clock === undefined) return
        for (const [isSet, value] of moves) {
          const before = clock.now().getTime()
          assert.ok(before >= 0 && before < Date.UTC(9900, 0, 1))
          const { error } = attempt(null, () => (isSet ? clock.set(real(value)) : clock.advance(real(value))))
          if (error !== undefined) assert.equal(clock.now().getTime(), before, 'a refused move leaves the clock')
          else if (!isSet) assert.ok(clock.now().getTime() >= before)
        }
      }),
      budget(1000),
    )
  })
})

describe('what the generators found', () => {
  test('an attribute named __proto__ shows as an own key, and the attrs keep their prototype', () => {
    const t = newTracker(false)
    for (const given of [JSON.parse('{"__proto__": null, "a": 1}'), JSON.parse('{"__proto__": "x"}')]) {
      const s = t.start({ attrs: given })
      for (const seen of [s, t.peek(s.id), t.sessions().find((x) => x.id === s.id), t.setAttrs(s.id, { b: true })]) {
        assert.equal(Object.getPrototypeOf(seen.attrs), Object.prototype)
        assert.ok(Object.hasOwn(seen.attrs, '__proto__'), 'the key shows')
        assert.equal(JSON.parse(JSON.stringify(seen.attrs)).__proto__, given.__proto__)
      }
      const end = t.end(s.id)
      assert.ok(Object.hasOwn(end.session.attrs, '__proto__'))
    }
    t.close()
  })

  test('a snapshot that is no regular file is refused at once (/dev/zero was read without end)', () => {
    for (const path of ['/dev/zero', '/dev/null', FOLDER]) {
      for (const options of [{ load: path }, { snapshot: path }]) {
        assert.throws(() => newTracker(false, undefined, options), (e) => e.code === 'SNAPSHOT_ERROR' && /regular file|directory/.test(e.message))
      }
    }
  })
})

describe('what the generators found: lengths that lie', () => {
  test('trackMany of a sparse array or a Proxy that says 2 ** 32 - 1 asks for no room at once', () => {
    // The addon made room for the length an array says before reading it:
    // 2 ** 31 asked for 34 GB at once, and the allocator's failure aborted
    // the process.
    const t = newTracker(false)
    const s = t.start()
    const sparse = [s.id]
    sparse[2 ** 31] = s.id
    const proxy = new Proxy([s.id, s.id], { get: (a, k) => (k === 'length' ? 2 ** 32 - 1 : a[k]) })
    for (const ids of [sparse, proxy]) {
      assert.throws(() => t.trackMany(ids, 'view'), (e) => e.code === 'INVALID_ARGUMENT')
      assert.throws(() => t.trackMany(ids, 'event'), (e) => e.code === 'INVALID_ARGUMENT')
    }
    assert.equal(t.peek(s.id).viewSequence, 0)
    t.close()
  })
})
