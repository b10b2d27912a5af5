// Errors and their codes: every bad input is an `Error` with a stable
// `code`, never a crash, and changes nothing.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { MockClock, Tracker } from 'sojourn'
import { throwsCode } from './support/throws.mjs'
import { catchWarnings } from './support/warnings.mjs'

const UUID4 = '6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f'

const SECRET = 'a secret of at least sixteen bytes'
const tracker = (options = {}) =>
  new Tracker({ sweepInterval: 0, clock: new MockClock(Date.parse('2026-01-01T00:00:00Z')), secret: SECRET, ...options })

// Values of every JavaScript type but the one expected.
const NOT_STRINGS = [undefined, null, 42, true, {}, [], Symbol('s'), 1n, () => 'id', new Date(0)]
const NOT_OBJECTS = [42, 'x', true, Symbol('s'), 1n]
const NOT_COUNTS = [-1, 1.5, NaN, Infinity, -Infinity, '3', true, {}, 1n]

describe('the codes of the core', () => {
  test('SESSION_NOT_FOUND: tracking, identifying or setting attrs of a session that is not live', () => {
    const t = tracker()
    throwsCode(() => t.track(UUID4, 'view'), 'SESSION_NOT_FOUND', /is not live/)
    throwsCode(() => t.identify(UUID4, 'u1'), 'SESSION_NOT_FOUND')
    throwsCode(() => t.setAttrs(UUID4, { a: 1 }), 'SESSION_NOT_FOUND')
  })

  test('INVALID_SESSION_ID: a malformed id in every operation that takes one', () => {
    const t = tracker()
    for (const bad of ['', 'nope', '00000000-0000-0000-0000-000000000000', UUID4.replace(/-/g, ''), `{${UUID4}}`]) {
      for (const call of [
        () => t.get(bad),
        () => t.peek(bad),
        () => t.exists(bad),
        () => t.track(bad, 'view'),
        () => t.trackMany([bad], 'view'),
        () => t.identify(bad, 'u1'),
        () => t.setAttrs(bad, {}),
        () => t.revive(bad),
        () => t.end(bad),
        () => t.token(bad),
      ]) {
        throwsCode(call, 'INVALID_SESSION_ID', /invalid session id/)
      }
    }
  })

  test('SESSION_NOT_REVIVABLE: reviving a session that ended', () => {
    const t = tracker()
    const s = t.start()
    t.end(s.id)
    throwsCode(() => t.revive(s.id), 'SESSION_NOT_REVIVABLE', /cannot be revived/)
  })

  test('INVALID_ARGUMENT: values the core refuses', () => {
    const t = tracker()
    const s = t.start()
    throwsCode(() => t.track(s.id, 'click'), 'INVALID_ARGUMENT', /kind/)
    throwsCode(() => t.identify(s.id, ''), 'INVALID_ARGUMENT', /user_id/)
    throwsCode(() => t.setAttrs(s.id, { '': 1 }), 'INVALID_ARGUMENT', /attrs/)
    throwsCode(() => t.setAttrs(s.id, { a: NaN }), 'INVALID_ARGUMENT', /finite/)
    throwsCode(() => t.setAttrs(s.id, { a: 'x'.repeat(5000) }), 'INVALID_ARGUMENT', /over the limit/)
    throwsCode(() => new Tracker({ idleTimeout: 0 }), 'INVALID_ARGUMENT', /idle_timeout/)
    throwsCode(() => new Tracker({ secret: 'short' }), 'INVALID_ARGUMENT')
    throwsCode(() => new Tracker({ secret: SECRET, maxCounterHint: 2 ** 32 }), 'INVALID_ARGUMENT', /max_counter_hint/)
    throwsCode(() => new Tracker({ secret: SECRET, maxPendingEnds: 0 }), 'INVALID_ARGUMENT', /max_pending_ends/)
    throwsCode(() => new Tracker({ secret: SECRET, closeTimeout: 1e13 }), 'INVALID_ARGUMENT', /close_timeout/)
  })
})

describe('a wrong argument type is INVALID_ARGUMENT', () => {
  test('ids, kinds and user ids that are not strings', () => {
    const t = tracker()
    const s = t.start()
    for (const bad of NOT_STRINGS) {
      for (const call of [
        () => t.get(bad),
        () => t.peek(bad),
        () => t.exists(bad),
        () => t.track(bad, 'view'),
        () => t.track(s.id, bad),
        () => t.trackMany([s.id, bad], 'view'),
        () => t.trackMany([s.id], bad),
        () => t.identify(s.id, bad),
        () => t.setAttrs(bad, {}),
        () => t.revive(bad),
        () => t.end(bad),
        () => t.endUser(bad),
        () => t.reassignUser(bad, 'u1'),
        () => t.reassignUser('u1', bad),
        () => t.token(bad),
      ]) {
        throwsCode(call, 'INVALID_ARGUMENT')
      }
    }
  })

  test('optional strings: undefined and null are none, other types are refused', () => {
    const t = tracker()
    t.start({ userId: 'u1' })
    assert.equal(t.count(undefined), 1)
    assert.equal(t.count(null), 1)
    assert.equal(t.sessions(null).length, 1)
    assert.equal(t.resume(null).outcome, 'started')
    for (const bad of [42, true, {}, [], Symbol('s'), 1n]) {
      throwsCode(() => t.count(bad), 'INVALID_ARGUMENT', /userId/)
      throwsCode(() => t.sessions(bad), 'INVALID_ARGUMENT', /userId/)
      throwsCode(() => t.resume(bad), 'INVALID_ARGUMENT', /token/)
    }
  })

  test('options objects of the wrong type, or with fields of the wrong type', () => {
    const t = tracker()
    for (const bad of NOT_OBJECTS) {
      throwsCode(() => new Tracker(bad), 'INVALID_ARGUMENT', /options/)
      throwsCode(() => t.start(bad), 'INVALID_ARGUMENT', /options/)
      throwsCode(() => t.revive(UUID4, bad), 'INVALID_ARGUMENT', /hints/)
      throwsCode(() => t.resume(undefined, bad), 'INVALID_ARGUMENT', /hints/)
    }
    throwsCode(() => t.start({ userId: 5 }), 'INVALID_ARGUMENT', /userId/)
    throwsCode(() => t.resume(undefined, { userId: [] }), 'INVALID_ARGUMENT', /userId/)
    throwsCode(() => new Tracker({ secret: 42 }), 'INVALID_ARGUMENT', /secret/)
    throwsCode(() => new Tracker({ secrets: 'one' }), 'INVALID_ARGUMENT', /secrets/)
    throwsCode(() => new Tracker({ secrets: [1] }), 'INVALID_ARGUMENT', /secrets/)
    throwsCode(
      () => new Tracker({ secret: 'sixteen bytes or more', secrets: ['sixteen bytes or more'] }),
      'INVALID_ARGUMENT',
      /secret or secrets/,
    )
  })

  test('counter hints that are negative, fractional, not finite or not numbers', () => {
    const t = tracker()
    for (const bad of NOT_COUNTS) {
      for (const key of ['viewSequence', 'eventSequence']) {
        throwsCode(() => t.revive(UUID4, { [key]: bad }), 'INVALID_ARGUMENT', new RegExp(key))
        throwsCode(() => t.resume(UUID4, { [key]: bad }), 'INVALID_ARGUMENT', new RegExp(key))
      }
    }
    assert.equal(t.size, 0, 'nothing was revived')
    // Huge counts are the core's: cut down to maxCounterHint (100,000 by
    // default), never refused, and counted.
    for (const [i, huge] of [2 ** 32, 2 ** 53, 2 ** 64, 1e300].entries()) {
      const id = UUID4.slice(0, -1) + i
      assert.equal(t.revive(id, { viewSequence: huge, eventSequence: 3 }).viewSequence, 100_000)
      assert.equal(t.peek(id).eventSequence, 3)
    }
    assert.equal(t.stats().hintsClamped, 4)
    const wide = tracker({ maxCounterHint: 2 ** 32 - 1 })
    assert.equal(wide.revive(UUID4, { viewSequence: 2 ** 32 - 1 }).viewSequence, 2 ** 32 - 1)
    assert.equal(wide.stats().hintsClamped, 0)
  })

  test('tracker options: durations and sizes must be non-negative integers', () => {
    const keys = [
      'idleTimeout',
      'maxLifetime',
      'reviveWindow',
      'retention',
      'maxSessions',
      'maxDormant',
      'sweepInterval',
      'maxAttrsBytes',
      'maxCounterHint',
      'maxPendingEnds',
      'closeTimeout',
    ]
    for (const key of keys) {
      for (const bad of NOT_COUNTS) {
        throwsCode(() => new Tracker({ [key]: bad }), 'INVALID_ARGUMENT', new RegExp(key))
      }
    }
    for (const bad of [1, 'yes', null, {}]) {
      throwsCode(() => new Tracker({ unsignedTokens: bad }), 'INVALID_ARGUMENT', /unsignedTokens/)
    }
  })

  test('onEnd must be a function, clock a MockClock', () => {
    for (const bad of [42, 'f', {}, [], true]) {
      throwsCode(() => new Tracker({ onEnd: bad }), 'INVALID_ARGUMENT', /onEnd/)
    }
    for (const bad of [42, {}, Date, new Date(), tracker(), { inner: 1 }]) {
      throwsCode(() => new Tracker({ clock: bad }), 'INVALID_ARGUMENT', /clock/)
    }
  })

  test('attrs: a plain object of strings, numbers, booleans and null', () => {
    const t = tracker()
    const s = t.start({ attrs: { keep: 'me' } })
    const cyclic = {}
    cyclic.self = cyclic
    for (const bad of [
      42,
      'x',
      [1, 2],
      { nested: { a: 1 } },
      { list: [1] },
      { when: new Date() },
      { f: () => 1 },
      { s: Symbol('s') },
      { big: 1n },
      cyclic,
    ]) {
      throwsCode(() => t.setAttrs(s.id, bad), 'INVALID_ARGUMENT', /attrs/)
      throwsCode(() => t.start({ attrs: bad }), 'INVALID_ARGUMENT', /attrs/)
    }
    assert.deepEqual(t.peek(s.id).attrs, { keep: 'me' }, 'a refused call changed nothing')
    assert.equal(t.size, 1, 'no session was started by a refused call')
  })

  test('MockClock: a Date or whole milliseconds', () => {
    for (const bad of [undefined, 'now', 1.5, NaN, Infinity, 1e300, {}, new Date(NaN), new Date(8.64e15)]) {
      throwsCode(() => new MockClock(bad), 'INVALID_ARGUMENT', /now/)
    }
    const clock = new MockClock(0)
    for (const bad of [-1, 0.5, NaN, '1', undefined]) {
      throwsCode(() => clock.advance(bad), 'INVALID_ARGUMENT', /ms/)
    }
    throwsCode(() => clock.set('tomorrow'), 'INVALID_ARGUMENT', /now/)
    assert.equal(clock.now().getTime(), 0, 'a refused call changed nothing')
  })
  test('MockClock: from 1970 to year 9899, so that every time a tracker hands out is one every language holds', () => {
    const latest = Date.parse('9899-12-30T23:59:59.999Z')
    throwsCode(() => new MockClock(new Date('9999-12-31T00:00:00Z')), 'INVALID_ARGUMENT', /range/)
    throwsCode(() => new MockClock(-1), 'INVALID_ARGUMENT', /range/)
    const clock = new MockClock(latest)
    throwsCode(() => clock.advance(1), 'INVALID_ARGUMENT', /range/)
    throwsCode(() => clock.set(new Date('9950-01-01T00:00:00Z')), 'INVALID_ARGUMENT', /range/)
    assert.equal(clock.now().getTime(), latest, 'the clock stays')
    const century = 36_525 * 24 * 3600 * 1000
    throwsCode(() => tracker({ clock, idleTimeout: century + 1 }), 'INVALID_ARGUMENT', /idle_timeout/)
    const t = tracker({ clock, idleTimeout: century, maxLifetime: century })
    const s = t.start()
    assert.equal(s.startedAt.getTime(), latest)
    assert.equal(s.expiresAt.getTime(), latest + century)
    assert.equal(s.expiresAt.getUTCFullYear(), 9999)
  })
})

describe('tracker options that are refused, not ignored', () => {
  test('an unknown option, named in the error', () => {
    for (const [options, name] of [
      [{ secert: SECRET }, 'secert'],
      [{ secret: SECRET, idle_timeout: 60_000 }, 'idle_timeout'],
      [{ unsignedTokens: true, onend: () => {} }, 'onend'],
      [{ unsignedTokens: true, secret: undefined, 0: 1 }, '0'],
    ]) {
      throwsCode(() => new Tracker(options), 'INVALID_ARGUMENT', new RegExp(`unknown option "${name}"`))
    }
    // Inherited and symbol-keyed properties are not options given.
    const inherited = Object.create({ anything: 1 })
    inherited.unsignedTokens = true
    new Tracker(inherited).close()
    new Tracker({ unsignedTokens: true, [Symbol('x')]: 1 }).close()
  })

  test('an empty list of secrets, and unsigned tokens with a secret', () => {
    throwsCode(() => new Tracker({ secrets: [] }), 'INVALID_ARGUMENT', /secrets/)
    throwsCode(() => new Tracker({ secret: SECRET, unsignedTokens: true }), 'INVALID_ARGUMENT', /unsigned_tokens/)
    throwsCode(() => new Tracker({ secrets: [SECRET], unsignedTokens: true }), 'INVALID_ARGUMENT', /unsigned_tokens/)
  })
})

describe('unsigned tokens are a choice, or a warning', () => {
  test('a tracker without a secret warns once, at construction, unless it says unsignedTokens: true', async () => {
    const made = []
    const warnings = await catchWarnings(async () => {
      for (const options of [
        { sweepInterval: 0 },
        { sweepInterval: 0, unsignedTokens: true },
        { sweepInterval: 0, secret: SECRET },
        { sweepInterval: 0, secrets: [SECRET] },
        { sweepInterval: 0, unsignedTokens: false },
        undefined,
      ]) {
        const tracker = new Tracker(options)
        made.push(tracker)
      }
      // Refused: no tracker, no warning.
      throwsCode(() => new Tracker({ idleTimeout: 0 }), 'INVALID_ARGUMENT')
      await new Promise((resolve) => setImmediate(resolve))
    })
    assert.equal(warnings.length, 3, warnings.map((w) => w.message).join('\n'))
    for (const warning of warnings) {
      assert.equal(warning.name, 'SojournWarning')
      assert.equal(warning.code, 'SOJOURN_UNSIGNED_TOKENS')
      assert.match(warning.message, /no secret is set, so tokens are bare session ids: anyone who learns an id can resume/)
    }
    for (const tracker of made) tracker.close()
  })
})

describe('strings with a lone surrogate are refused, not turned into another string', () => {
  // napi reads strings as UTF-8, replacing each lone surrogate with
  // U+FFFD: these two would both be 'user-\ufffd'.
  const A = 'user-\ud800'
  const B = 'user-\udbff'
  const LONE = [A, B, '\udc00', 'x\ud83d', '\ude00x']

  test('user ids, in every operation that takes one', () => {
    const t = tracker()
    const s = t.start()
    const replaced = t.start({ userId: 'user-\ufffd' }) // the character itself is fine
    for (const user of LONE) {
      for (const call of [
        () => t.start({ userId: user }),
        () => t.identify(s.id, user),
        () => t.revive(UUID4, { userId: user }),
        () => t.resume(undefined, { userId: user }),
        () => t.sessions(user),
        () => t.count(user),
        () => t.endUser(user),
        () => t.forgetUser(user),
        () => t.reassignUser(user, 'u1'),
        () => t.reassignUser('user-\ufffd', user),
      ]) {
        throwsCode(call, 'INVALID_ARGUMENT', /lone surrogate/)
      }
    }
    assert.equal(t.count('user-\ufffd'), 1, 'not ended, forgotten or moved')
    assert.equal(t.peek(replaced.id).userId, 'user-\ufffd')
    assert.equal(t.peek(s.id).userId, null)
    assert.equal(t.size, 2, 'nothing started or revived')
  })

  test('attribute keys and string values', () => {
    const t = tracker()
    const s = t.start({ attrs: { keep: 'me' } })
    for (const attrs of [{ [A]: 1 }, { ok: 1, [B]: 'x' }, { k: A }, { k: `ok${B}` }]) {
      throwsCode(() => t.setAttrs(s.id, attrs), 'INVALID_ARGUMENT', /attrs.*lone surrogate/)
      throwsCode(() => t.start({ attrs }), 'INVALID_ARGUMENT', /lone surrogate/)
      throwsCode(() => t.resume(undefined, { attrs }), 'INVALID_ARGUMENT', /lone surrogate/)
    }
    assert.deepEqual(t.peek(s.id).attrs, { keep: 'me' })
    assert.equal(t.size, 1)
    assert.deepEqual(t.setAttrs(s.id, { '\ufffd': '\ud83d\ude00' }).attrs, { keep: 'me', '\ufffd': '😀' }, 'pairs are fine')
  })

  test('secrets and kinds', () => {
    throwsCode(() => new Tracker({ secret: `${SECRET}\ud800` }), 'INVALID_ARGUMENT', /lone surrogate.*secret/)
    throwsCode(() => new Tracker({ secrets: [SECRET, `${SECRET}\udc00`] }), 'INVALID_ARGUMENT', /lone surrogate.*secrets/)
    const t = tracker()
    const s = t.start()
    throwsCode(() => t.track(s.id, 'view\ud800'), 'INVALID_ARGUMENT', /kind/)
    throwsCode(() => t.trackMany([s.id], 'event\udc00'), 'INVALID_ARGUMENT', /kind/)
    assert.equal(t.peek(s.id).sequence, 0)
  })

  test('a token with one is a rejected token: a new session, never an error', () => {
    const t = tracker({ unsignedTokens: true, secret: undefined })
    const s = t.start()
    for (const [i, token] of [`${s.id}\ud800`, `\ud800${s.id}`, s.id.slice(0, -1) + '\udc00', '\ud800'].entries()) {
      const { session, outcome } = t.resume(token)
      assert.equal(outcome, 'started')
      assert.notEqual(session.id, s.id)
      assert.equal(t.stats().rejected, i + 1)
    }
    const signed = tracker()
    const token = signed.start().token
    assert.equal(signed.resume(`${token}\ud800`).outcome, 'started')
    assert.equal(signed.stats().rejected, 1)
  })
})

describe('calls on the wrong object', () => {
  test('a method or getter applied to another object throws a TypeError', () => {
    const t = tracker()
    const clock = new MockClock(0)
    const size = Object.getOwnPropertyDescriptor(Tracker.prototype, 'size').get
    for (const call of [
      () => Tracker.prototype.count.call(clock),
      () => Tracker.prototype.start.call({}),
      () => MockClock.prototype.now.call(t),
      () => MockClock.prototype.advance.call(t, 1),
      () => size.call(clock),
      () => size.call({}),
    ]) {
      assert.throws(call, TypeError)
    }
  })
})

test('a refused call changes nothing', () => {
  const t = tracker()
  const s = t.start({ userId: 'u1', attrs: { a: 1 } })
  const before = t.stats()
  throwsCode(() => t.identify(s.id, 'x'.repeat(257)), 'INVALID_ARGUMENT')
  throwsCode(() => t.setAttrs(s.id, { b: 'x'.repeat(5000) }), 'INVALID_ARGUMENT')
  throwsCode(() => t.track(s.id, 'scroll'), 'INVALID_ARGUMENT')
  const after = t.peek(s.id)
  assert.equal(after.userId, 'u1')
  assert.deepEqual(after.attrs, { a: 1 })
  assert.equal(after.sequence, 0)
  assert.deepEqual(t.stats(), before)
})
