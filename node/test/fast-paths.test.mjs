// The package's hot operations (track, trackMany, get, peek, start,
// identify, setAttrs, revive, resume) are built in sojourn.js from the
// addon's internal methods; their results must be exactly what the addon's
// public methods return for the same state, and their errors the same.
// Here every one is compared with the public method: on two trackers with
// identical histories (ids chosen by the test), and, for sessions with
// random ids, on one tracker at one instant.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { MockClock, Tracker } from 'sojourn'
import { flush } from './support/scenario.mjs'

const START = Date.parse('2026-01-01T00:00:00Z')
const MINUTE = 60_000
const SECRET = 'a secret of at least sixteen bytes'

/** The addon's own class and methods, under the package's. */
const Addon = Object.getPrototypeOf(Tracker)
const addon = Addon.prototype

/** What the addon's public method `name` returns. */
const slow = (tracker, name, ...args) => addon[name].call(tracker, ...args)

/** A UUIDv7 made at `ms`, its random bits from `n`. */
function v7(ms, n) {
  const time = ms.toString(16).padStart(12, '0')
  const rand = n.toString(16).padStart(15, '0')
  return `${time.slice(0, 8)}-${time.slice(8)}-7${rand.slice(0, 3)}-8${rand.slice(3, 6)}-${rand.slice(6)}000`
}
const UNKNOWN = '6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f'

/** `fast` is `expected`: equal, with the same prototypes, Dates, key order and JSON. */
function same(fast, expected, what = '') {
  assert.deepStrictEqual(fast, expected, what)
  assert.equal(JSON.stringify(fast), JSON.stringify(expected), `${what}: JSON`)
  keyOrder(fast, expected, what)
}

function keyOrder(fast, expected, what) {
  if (fast === null || typeof fast !== 'object' || fast instanceof Date) return
  assert.deepEqual(Object.keys(fast), Object.keys(expected), `${what}: key order`)
  for (const key of Object.keys(fast)) keyOrder(fast[key], expected[key], `${what}.${key}`)
}

/** What `f` throws: its class, code and message; or that it returned. */
function outcome(f) {
  try {
    f()
    return 'returned'
  } catch (error) {
    return { name: error.constructor.name, code: error.code, message: error.message }
  }
}

/**
 * Two trackers with clocks at the same time: `step` runs one operation on
 * both, through the package on the first and the addon's public method on
 * the second, and checks that the results are the same.
 */
function pair(options = {}) {
  const sides = [0, 1].map(() => {
    const clock = new MockClock(START)
    return { clock, tracker: new Tracker({ clock, sweepInterval: 0, ...options }) }
  })
  const [fast, reference] = sides.map((s) => s.tracker)
  return {
    fast,
    reference,
    step(name, ...args) {
      const got = fast[name](...args)
      const expected = slow(reference, name, ...args)
      same(got, expected, `${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`)
      return got
    },
    advance(ms) {
      for (const s of sides) s.clock.advance(ms)
    },
    close() {
      for (const s of sides) s.tracker.close()
    },
  }
}

for (const [config, options] of [
  ['unsigned tokens', { unsignedTokens: true }],
  ['signed tokens', { secret: SECRET }],
]) {
  describe(`the same results as the addon's methods, ${config}`, () => {
    test('ticks, batches and sessions with and without user and attributes', () => {
      const p = pair({ idleTimeout: 30 * MINUTE, reviveWindow: 60 * MINUTE, ...options })
      const [a, b, c, d] = [1, 2, 3, 4].map((n) => v7(START, n))
      const plain = p.step('revive', a)
      assert.equal(plain.userId, null)
      p.step('revive', b, { userId: 'u1', attrs: { page: '/', n: 1, x: 1.5, ok: true, none: null }, viewSequence: 3 })
      p.step('revive', b, { eventSequence: 2 }) // live: its counters go on
      p.step('revive', c, { attrs: { only: 'attrs' } })
      for (const kind of ['view', 'event']) {
        for (const id of [a, b, c]) p.step('track', id, kind)
      }
      p.step('trackMany', [a, b, a, UNKNOWN, c, a], 'view')
      p.step('trackMany', [b, UNKNOWN], 'event')
      p.step('trackMany', [], 'view')
      const e = v7(START, 5)
      p.step('revive', e)
      p.step('trackMany', [e, UNKNOWN, e], 'event') // no views: a tick of 0 views is not a miss
      p.advance(1000)
      for (const id of [a, b, c, UNKNOWN]) {
        p.step('peek', id)
        p.step('get', id)
      }
      p.step('get', a.toUpperCase()) // the id comes back in its canonical form
      p.step('identify', a, 'u2')
      p.step('identify', a, 'ünïcödé 用户 🙂')
      p.step('setAttrs', a, { k: 'v', n: 2 })
      p.step('setAttrs', a, { n: null })
      p.step('setAttrs', c, {})
      p.step('resume', p.fast.token(a))
      p.step('resume', p.fast.token(b), { userId: 'u3', attrs: { again: true } })
      p.step('resume', p.fast.token(d), { viewSequence: 7, eventSequence: 1 }) // never seen: revived
      p.step('resume', p.fast.token(d), { userId: 'u4' })
      p.step('revive', a)
      // Idled out, within the revive window: revived with its counters.
      p.advance(40 * MINUTE)
      p.step('get', a)
      p.step('revive', a, { attrs: { back: 1 } })
      p.step('resume', p.fast.token(b))
      p.step('peek', b)
      p.close()
    })

    test('sessions with random ids, a previous id or a user, at one instant', () => {
      const clock = new MockClock(START)
      const t = new Tracker({ clock, sweepInterval: 0, ...options })
      const sessions = []
      const started = (s) => {
        // A new session is what `peek` finds right after.
        same(s, slow(t, 'peek', s.id), 'start')
        sessions.push(s)
        return s
      }
      started(t.start())
      started(t.start({ userId: 'u1' }))
      started(t.start({ attrs: { entry_page: '/pricing' } }))
      const ended = t.start({ userId: 'u2', attrs: { a: 1 } })
      same(ended, slow(t, 'peek', ended.id), 'start')
      t.end(ended.id)
      clock.advance(MINUTE)
      for (const [token, expected] of [
        [ended.token, 'started'], // ended: a new session, linked to it
        [undefined, 'started'],
        ['garbage', 'started'],
      ]) {
        const resumed = t.resume(token, { attrs: { via: 'resume' } })
        assert.equal(resumed.outcome, expected)
        assert.equal(slow(t, 'resume', resumed.session.token).outcome, 'existing')
        started(resumed.session)
      }
      const linked = sessions.find((s) => s.previousId !== null)
      assert.equal(linked.previousId, ended.id)
      assert.equal(linked.userId, 'u2')
      clock.advance(MINUTE)
      // Each call touches the session at the same instant: the second,
      // through the addon, finds what the first left.
      for (const { id, token } of sessions) {
        same(t.get(id), slow(t, 'get', id), 'get')
        same(t.peek(id), slow(t, 'peek', id), 'peek')
        same(t.revive(id), slow(t, 'revive', id), 'revive')
        same(t.resume(token), slow(t, 'resume', token), 'resume')
        same(t.setAttrs(id, {}), slow(t, 'setAttrs', id, {}), 'setAttrs')
        same(t.identify(id, 'u9'), slow(t, 'identify', id, 'u9'), 'identify')
      }
      t.close()
    })
  })
}

test('each outcome of resume, as the addon names it', () => {
  const p = pair({ unsignedTokens: true, idleTimeout: MINUTE, reviveWindow: 10 * MINUTE })
  const id = v7(START, 9)
  assert.equal(p.step('resume', id).outcome, 'revived')
  assert.equal(p.step('resume', id).outcome, 'existing')
  const started = p.fast.resume('not a token')
  assert.equal(started.outcome, slow(p.reference, 'resume', 'not a token').outcome)
  assert.equal(started.outcome, 'started')
  p.close()
})

describe('the same errors as the addon', () => {
  const t = new Tracker({ sweepInterval: 0, clock: new MockClock(START), secret: SECRET, maxCounterHint: 2 ** 32 - 1 })
  const s = t.start()
  const full = t.revive(UNKNOWN, { viewSequence: 2 ** 32 - 1 }).id
  const ids = ['', 'nope', UNKNOWN, UNKNOWN.toUpperCase(), `${s.id}x`, 42, null, undefined, {}, [], Symbol('s'), 1n]
  const kinds = ['view', 'event', 'click', 'View', '', undefined, null, 1, new String('view')]

  test('for each operation, argument and kind', () => {
    const calls = [
      ...ids.flatMap((id) => kinds.map((kind) => ['track', id, kind])),
      ...kinds.map((kind) => ['track', s.id, kind]),
      ...kinds.map((kind) => ['track', full, kind]), // a counter at its maximum
      ...ids.flatMap((id) => [['get', id], ['peek', id], ['revive', id], ['setAttrs', id, {}], ['identify', id, 'u']]),
      ...[undefined, null, '', 'x'.repeat(300), 5].map((user) => ['identify', s.id, user]),
      ...[42, 'x', [1], { a: {} }, { a: NaN }, { '': 1 }, null].map((attrs) => ['setAttrs', s.id, attrs]),
      ...[42, 'x', { userId: 5 }, { attrs: 5 }, { attrs: { a: [] } }].map((o) => ['start', o]),
      ...[
        42,
        { viewSequence: -1 },
        { eventSequence: 1.5 },
        { viewSequence: 2 ** 32 },
        { viewSequence: NaN },
        { eventSequence: Infinity },
        { userId: '' },
        { userId: 'u\ud800' },
        { userId: 'x'.repeat(300), viewSequence: 1 },
        { userId: 5 },
        { viewSequence: '3' },
      ].flatMap((hints) => [
        ['revive', UNKNOWN, hints],
        ['resume', undefined, hints],
      ]),
      ...[42, {}, [], Symbol('s'), '\ud800'].map((token) => ['resume', token]),
      ...['u\ud800', 'u\udc00x'].flatMap((user) => [['identify', s.id, user], ['start', { userId: user }]]),
      ...[{ '\ud800': 1 }, { a: '\udfff' }].flatMap((attrs) => [['setAttrs', s.id, attrs], ['start', { attrs }]]),
      ...[42, null, s.id, {}, [s.id, 42], [s.id, 'nope'], [s.id, full], [s.id, `${s.id}x`]].flatMap((list) =>
        kinds.map((kind) => ['trackMany', list, kind]),
      ),
    ]
    for (const [name, ...args] of calls) {
      const what = `${name}(${args.map(String).join(', ')})`
      const fast = outcome(() => t[name](...args))
      if (fast === 'returned') continue
      assert.deepEqual(fast, outcome(() => slow(t, name, ...args)), what)
    }
  })

  test('a refused call changes nothing', () => {
    const before = [t.stats(), slow(t, 'peek', s.id), slow(t, 'peek', full)]
    assert.throws(() => t.track(full, 'view'), { code: 'INVALID_ARGUMENT', message: /maximum/ })
    const [tick, error] = t.trackMany([s.id, full], 'view')
    assert.equal(tick.viewSequence, before[1].viewSequence + 1)
    assert.ok(error instanceof Error)
    assert.equal(error.code, 'INVALID_ARGUMENT')
    assert.match(error.message, /maximum/)
    assert.throws(() => t.track(s.id, 'click'), { code: 'INVALID_ARGUMENT' })
    assert.throws(() => t.trackMany([s.id, 'nope'], 'view'), { code: 'INVALID_SESSION_ID' })
    const [stats, ...sessions] = before
    assert.deepEqual([t.stats(), slow(t, 'peek', full)], [{ ...stats, views: stats.views + 1 }, sessions[1]])
    assert.equal(slow(t, 'peek', s.id).viewSequence, sessions[0].viewSequence + 1, 'the batch tracked its other item')
  })

  test('an item with an error: the same Error, returned in its place', () => {
    const other = t.start().id
    const gone = v7(START, 99)
    const fast = t.trackMany([other, full, other, gone, full], 'view')
    assert.equal(fast[0].sequence + 1, fast[2].sequence)
    // The addon's public method, one later: the same but for the counters.
    const reference = slow(t, 'trackMany', [other, full, other, gone, full], 'view')
    for (const i of [1, 3, 4]) same(fast[i], reference[i], `item ${i}`)
    assert.equal(fast[3], null)
    assert.deepEqual(Object.keys(fast[1]), ['code'])
    assert.equal(Object.getPrototypeOf(fast[1]), Error.prototype)
    assert.notEqual(fast[1], fast[4], 'an Error for each item')
  })
})

describe('ids are read as before: anything but 36 ASCII characters of a UUID is refused', () => {
  const t = new Tracker({ sweepInterval: 0, clock: new MockClock(START), secret: SECRET })
  const id = t.start().id
  const last = id.at(-1)
  // Strings that a reader cutting them short, or reading only the low byte
  // of each character, would take for the id; the core counts UTF-8 bytes.
  const tooLong = {
    'one more character': `${id}0`,
    'a NUL after it': `${id}\0`,
    'a non-ASCII character after it': `${id}é`,
    'a three-byte character after it': `${id}€`,
    'an emoji after it': `${id}🙂`,
    'a character whose low byte is the last digit': id.slice(0, -1) + String.fromCharCode(0x100 | last.charCodeAt(0)),
    'a fullwidth digit': id.slice(0, -1) + String.fromCharCode(0xff10 + 1),
    'Latin-1 beyond ASCII': id.slice(0, -1) + '\u00b9',
    'a lone surrogate': id.slice(0, -1) + '\ud800',
    'the id twice': id + id,
    'spaces around it': ` ${id} `,
  }
  const malformed = {
    'a letter that is not hex': `${id.slice(0, -1)}g`,
    'a hyphen moved': `${id.slice(0, 7)}-${id[7]}${id.slice(9)}`,
  }
  const cases = [
    ...Object.entries(tooLong).map(([what, text]) => [what, text, /expected 36 characters/]),
    ...Object.entries(malformed).map(([what, text]) => [what, text, /not a hexadecimal digit|hyphenated/]),
  ]

  for (const [what, text, reason] of cases) {
    test(what, () => {
      for (const call of [
        () => t.track(text, 'view'),
        () => t.get(text),
        () => t.peek(text),
        () => t.exists(text),
        () => t.identify(text, 'u'),
        () => t.setAttrs(text, {}),
        () => t.revive(text),
        () => t.end(text),
        () => t.token(text),
        () => t.trackMany([id, text], 'view'),
      ]) {
        assert.throws(call, (error) => {
          assert.equal(error.code, 'INVALID_SESSION_ID')
          assert.match(error.message, reason)
          assert.ok(error.message.includes(text.slice(0, 30)), error.message)
          return true
        })
      }
    })
  }

  test('nothing was tracked or touched by them', () => {
    const s = t.peek(id)
    assert.equal(s.sequence, 0)
    assert.equal(t.size, 1)
  })

  test('the same id, however the string is made, in any case', () => {
    const twoByte = `€${id}`.slice(1) // a slice of a two-byte string
    const made = [id.slice(0, 10) + id.slice(10), [...id].join(''), twoByte, id.toUpperCase(), `x${id}`.substring(1)]
    for (const [i, text] of made.entries()) {
      assert.equal(t.track(text, 'view').viewSequence, i + 1)
      assert.equal(t.get(text).id, id, 'the canonical id comes back')
      assert.deepEqual(t.trackMany([text, id], 'event').map((tick) => tick.eventSequence), [2 * i + 1, 2 * i + 2])
    }
  })
})

describe('calls on the wrong object, and the scratch buffer', () => {
  const clock = new MockClock(START)
  const t = new Tracker({ clock, sweepInterval: 0, secret: SECRET })
  const id = t.start().id
  const changed = {
    track: [id, 'view'],
    trackMany: [[id], 'view'],
    get: [id],
    peek: [id],
    start: [],
    identify: [id, 'u'],
    setAttrs: [id, {}],
    revive: [id],
    resume: [id],
    sweep: [],
    close: [],
  }
  const internal = Object.getOwnPropertyNames(addon).filter((name) => name.startsWith('_'))

  test('the addon has the internal methods the package uses', () => {
    assert.deepEqual(internal.sort(), [
      '_bindScratch',
      '_dropEnds',
      '_endsOptions',
      '_get',
      '_identify',
      '_peek',
      '_resume',
      '_resumeHinted',
      '_revive',
      '_reviveHinted',
      '_setAttrs',
      '_start',
      '_takeEnds',
      '_takeWarnings',
      '_trackEvent',
      '_trackMany',
      '_trackView',
    ])
  })

  test("the package's methods on another object throw a TypeError", () => {
    const raw = new Addon({ sweepInterval: 0, secret: SECRET }) // the addon's tracker, without the package's buffer
    for (const [name, args] of Object.entries(changed)) {
      for (const other of [{}, clock, raw, null, undefined, Object.create(Tracker.prototype)]) {
        assert.throws(() => Tracker.prototype[name].call(other, ...args), TypeError, name)
      }
    }
    raw.close()
  })

  test("the addon's internal methods on another object throw a TypeError", () => {
    for (const name of internal) {
      for (const other of [{}, clock, null, Object.create(Tracker.prototype)]) {
        assert.throws(() => addon[name].call(other, id), TypeError, name)
      }
    }
  })

  test('a tracker without a buffer refuses the internal methods and changes nothing', () => {
    const raw = new Addon({ sweepInterval: 0, clock, secret: SECRET })
    const s = raw.start()
    const before = raw.stats()
    // `_trackMany` and those of ends and warnings return what they have,
    // and need no buffer.
    const unbuffered = ['_bindScratch', '_trackMany', '_takeEnds', '_dropEnds', '_endsOptions', '_takeWarnings']
    for (const name of internal.filter((n) => !unbuffered.includes(n))) {
      const args = { _identify: [s.id, 'u'], _setAttrs: [s.id, { a: 1 }], _start: [] }[name] ?? [s.id]
      assert.throws(() => addon[name].call(raw, ...args), { code: 'INVALID_ARGUMENT', message: /no buffer/ }, name)
    }
    assert.deepEqual(raw.stats(), before)
    assert.deepEqual(raw.peek(s.id), s)
    raw.close()
  })

  test('a buffer is a Float64Array of 9 numbers over a SharedArrayBuffer, bound once', () => {
    const raw = new Addon({ sweepInterval: 0, secret: SECRET })
    const shared = (bytes) => new SharedArrayBuffer(bytes)
    for (const bad of [
      new Float64Array(9), // an ArrayBuffer could be detached or shrunk
      new Float64Array(new ArrayBuffer(72, { maxByteLength: 144 })),
      new Float64Array(shared(80)),
      new Float64Array(shared(64)),
      new Float32Array(shared(36)),
      new BigInt64Array(shared(72)),
      new DataView(shared(72)),
      shared(72),
      [0, 0, 0, 0, 0, 0, 0, 0, 0],
      42,
      undefined,
    ]) {
      assert.throws(() => raw._bindScratch(bad), { code: 'INVALID_ARGUMENT', message: /buffer/ })
    }
    const buffer = new Float64Array(shared(88), 8, 9)
    raw._bindScratch(buffer)
    assert.throws(() => raw._bindScratch(new Float64Array(shared(72))), { code: 'INVALID_ARGUMENT', message: /already/ })
    // What makes it safe to hold: shared memory cannot be detached.
    assert.throws(() => structuredClone(buffer.buffer, { transfer: [buffer.buffer] }))
    raw._trackView(raw.start().id)
    assert.deepEqual([...buffer.subarray(0, 3)], [1, 0, 1])
    raw.close()
  })

  test("a package tracker's buffer cannot be replaced", () => {
    assert.throws(() => addon._bindScratch.call(t, new Float64Array(new SharedArrayBuffer(72))), {
      code: 'INVALID_ARGUMENT',
      message: /already/,
    })
    assert.equal(t.track(id, 'view').sequence, 1)
  })
})

describe('session ends, built from what _takeEnds hands out', () => {
  test("are the addon's SessionEnd: the same fields, in the same order, for every reason", async () => {
    for (const options of [{ unsignedTokens: true }, { secret: SECRET }]) {
      const clock = new MockClock(START)
      const ends = []
      const t = new Tracker({ clock, sweepInterval: 0, maxSessions: 2, maxLifetime: 50 * MINUTE, onEnd: (e) => ends.push(e), ...options })
      // Ended, with everything a session can have: `end()` returns the
      // addon's own `SessionEnd` of it.
      const first = t.start({ userId: 'u1', attrs: { page: '/', n: 1.5, ok: false, none: null } })
      clock.advance(MINUTE)
      t.track(first.id, 'view')
      const returned = [t.end(first.id)]
      const linked = t.resume(first.token).session // a previous id and an index of 2
      assert.equal(linked.previousId, first.id)
      t.identify(linked.id, 'ünïcödé 🙂')
      t.setAttrs(linked.id, { k: 'v' })
      t.track(linked.id, 'event')
      returned.push(t.end(linked.id))
      // Evicted (revivable), idle, and lifetime.
      const a = t.start().id
      clock.advance(1000)
      t.start()
      clock.advance(MINUTE)
      const c = t.revive(v7(START, 7), { viewSequence: 3 }).id // evicts `a`
      clock.advance(29 * MINUTE) // the one started with `a` idles out
      t.track(c, 'view')
      clock.advance(25 * MINUTE) // `c`, started at START, reaches its 50 minutes
      t.sweep()
      await flush()
      assert.deepEqual(
        ends.map((e) => e.reason),
        ['ended', 'ended', 'evicted', 'idle', 'lifetime'],
      )
      ends.slice(0, 2).forEach((end, i) => same(end, returned[i], `ended ${i}`))
      for (const end of ends) {
        assert.deepEqual(Object.keys(end), Object.keys(returned[1]), end.reason)
        assert.deepEqual(Object.keys(end.session), Object.keys(returned[1].session), end.reason)
        assert.equal(Object.getPrototypeOf(end), Object.prototype)
      }
      const [evicted, idle, lifetime] = ends.slice(2)
      assert.equal(evicted.session.id, a)
      assert.deepEqual([evicted.revivable, idle.revivable, lifetime.revivable], [true, false, false])
      assert.equal(idle.endedAt.getTime(), idle.session.expiresAt.getTime())
      assert.equal(lifetime.endedAt.getTime(), START + 50 * MINUTE)
      assert.equal(lifetime.duration, lifetime.session.lastSeen - lifetime.session.startedAt)
      assert.deepEqual([lifetime.session.viewSequence, lifetime.session.sequence], [4, 4])
      t.close()
    }
  })
})
