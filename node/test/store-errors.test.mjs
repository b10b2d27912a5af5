// A store that fails (`testing.FaultSwitch`, as an unreachable Redis would):
// every call that reaches it throws STORE_ERROR and changes nothing, the
// tracker goes on once the store answers again, and a failing sweep is
// warned of once, until the store answers.

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'

import { MockClock, testing, Tracker } from 'sojourn'
import { throwsCode } from './support/throws.mjs'
import { catchWarnings } from './support/warnings.mjs'

const { FaultSwitch } = testing
const require = createRequire(import.meta.url)

const START = Date.parse('2026-01-01T00:00:00Z')
const FAULTY = /faulty:\/\/sojourn/

function setup(options = {}) {
  const faultSwitch = new FaultSwitch()
  const clock = new MockClock(START)
  const tracker = new Tracker({ faultSwitch, clock, unsignedTokens: true, sweepInterval: 0, ...options })
  return { faultSwitch, clock, tracker }
}

const immediate = () => new Promise((resolve) => setImmediate(resolve))

/** Lets the warnings emitted so far reach their listeners. */
async function flush() {
  for (let i = 0; i < 3; i++) await immediate()
}

// Polls `done` until it holds, for at most `ms` of real time.
async function until(done, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!done()) {
    assert.ok(Date.now() < deadline, `not done within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const storeErrors = (warnings) => warnings.filter((w) => w.code === 'SOJOURN_STORE_ERROR')

describe('a failing store', () => {
  test('every call that reaches it throws STORE_ERROR naming the store; off again, nothing changed', async () => {
    const { faultSwitch, clock, tracker: t } = setup()
    const a = t.start({ userId: 'u', attrs: { page: '/' } })
    t.track(a.id, 'view')
    const before = { sessions: t.sessions(), stats: t.stats() }

    faultSwitch.fail(true)
    clock.advance(1000)
    const calls = {
      start: () => t.start(),
      'start with options': () => t.start({ userId: 'v', attrs: { page: '/x' } }),
      get: () => t.get(a.id),
      peek: () => t.peek(a.id),
      exists: () => t.exists(a.id),
      'track view': () => t.track(a.id, 'view'),
      'track event': () => t.track(a.id, 'event'),
      'trackMany view': () => t.trackMany([a.id, a.id], 'view'),
      'trackMany event': () => t.trackMany([a.id], 'event'),
      identify: () => t.identify(a.id, 'v'),
      setAttrs: () => t.setAttrs(a.id, { page: '/y' }),
      end: () => t.end(a.id),
      sessions: () => t.sessions(),
      "a user's sessions": () => t.sessions('u'),
      count: () => t.count(),
      "a user's count": () => t.count('u'),
      size: () => t.size,
      endUser: () => t.endUser('u'),
      forgetUser: () => t.forgetUser('u'),
      endAll: () => t.endAll(),
      reassignUser: () => t.reassignUser('u', 'v'),
      stats: () => t.stats(),
      sweep: () => t.sweep(),
      resume: () => t.resume(a.token),
      'resume without a token': () => t.resume(undefined),
      'resume with hints': () => t.resume(a.token, { viewSequence: 5 }),
      revive: () => t.revive(a.id),
      'revive with hints': () => t.revive(a.id, { viewSequence: 5, userId: 'w' }),
    }
    // The failing sweep among them is warned of: caught here, where it is
    // checked, so that no other test sees it.
    const warnings = await catchWarnings(async () => {
      for (const [name, call] of Object.entries(calls)) {
        assert.throws(call, (error) => {
          assert.ok(error instanceof Error, `${name}: not an Error: ${error}`)
          assert.equal(error.code, 'STORE_ERROR', `${name}: ${error.code}: ${error.message}`)
          assert.match(error.message, FAULTY, name)
          return true
        }, name)
      }
      await flush()
    })
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['SOJOURN_STORE_ERROR'],
    )
    // What needs no store still answers.
    assert.equal(t.token(a.id), a.id)

    faultSwitch.fail(false)
    assert.deepEqual({ sessions: t.sessions(), stats: t.stats() }, before, 'a failed call changed nothing')
    assert.deepEqual(t.track(a.id, 'view'), { viewSequence: 2, eventSequence: 0, sequence: 2 })
    assert.equal(t.get(a.id).attrs.page, '/')
    assert.equal(t.start().sessionIndex, 1)
    assert.equal(t.stats().started, 2)
    t.close()
  })

  test("the addon's own methods, that the package's wrapper builds on, throw the same", async () => {
    const { faultSwitch, tracker: t } = setup()
    const a = t.start()
    const native = Object.getPrototypeOf(Tracker.prototype)
    faultSwitch.fail(true)
    const warnings = await catchWarnings(async () => {
      for (const [name, args] of [
        ['start', []],
        ['get', [a.id]],
        ['peek', [a.id]],
        ['track', [a.id, 'view']],
        ['trackMany', [[a.id], 'event']],
        ['identify', [a.id, 'u']],
        ['setAttrs', [a.id, { k: 1 }]],
        ['revive', [a.id]],
        ['resume', [a.token]],
        ['sweep', []],
      ]) {
        throwsCode(() => native[name].apply(t, args), 'STORE_ERROR', FAULTY)
      }
      // The addon's own `sweep` leaves its warning for the package to
      // emit: `warned`, on a later turn.
      await flush()
    })
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['SOJOURN_STORE_ERROR'],
    )
    faultSwitch.fail(false)
    assert.equal(t.peek(a.id).sequence, 0)
    t.close()
  })

  test('one switch turns the failures on and off as often as wanted', () => {
    const { faultSwitch, tracker: t } = setup()
    const a = t.start()
    for (let i = 1; i <= 3; i++) {
      faultSwitch.fail(true)
      throwsCode(() => t.track(a.id, 'event'), 'STORE_ERROR', FAULTY)
      faultSwitch.fail(false)
      assert.equal(t.track(a.id, 'event').eventSequence, i)
    }
    t.close()
  })

  test('a failing sweep is warned of once, until the store answers again', async () => {
    const { faultSwitch, tracker: t } = setup()
    const warnings = await catchWarnings(async (seen) => {
      faultSwitch.fail(true)
      for (let i = 0; i < 3; i++) throwsCode(() => t.sweep(), 'STORE_ERROR', FAULTY)
      await flush()
      assert.equal(storeErrors(seen).length, 1)
      const [warning] = storeErrors(seen)
      assert.equal(warning.name, 'SojournWarning')
      assert.match(warning.message, FAULTY)

      faultSwitch.fail(false)
      assert.equal(t.sweep(), 0)
      faultSwitch.fail(true)
      throwsCode(() => t.sweep(), 'STORE_ERROR', FAULTY)
      await flush()
      assert.equal(storeErrors(seen).length, 2, 'said again after the store came back')
      // close() still finishes: its last sweep fails, and is not said again.
      assert.equal(t.close(), 0)
      await flush()
    })
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['SOJOURN_STORE_ERROR', 'SOJOURN_STORE_ERROR'],
    )
  })

  test('a failing background sweep reaches the main thread as one warning', async () => {
    const { faultSwitch, tracker: t } = setup({ sweepInterval: 5 })
    const warnings = await catchWarnings(async (seen) => {
      faultSwitch.fail(true)
      await until(() => storeErrors(seen).length > 0)
      // Many more sweeps fail meanwhile: not said again.
      await new Promise((resolve) => setTimeout(resolve, 100))
      await flush()
      faultSwitch.fail(false)
      t.close()
      await flush()
    })
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['SOJOURN_STORE_ERROR'],
    )
    assert.match(warnings[0].message, FAULTY)
  })

  test('with onEnd, the ends held up by a failing store are delivered once it answers', async () => {
    const ends = []
    const { faultSwitch, clock, tracker: t } = setup({ onEnd: (end) => ends.push(end) })
    const a = t.start()
    clock.advance(30 * 60_000)
    await catchWarnings(async () => {
      faultSwitch.fail(true)
      throwsCode(() => t.sweep(), 'STORE_ERROR', FAULTY)
      await flush()
      assert.equal(ends.length, 0)
      faultSwitch.fail(false)
      assert.equal(t.sweep(), 1)
      await flush()
    })
    assert.deepEqual(
      ends.map((end) => [end.session.id, end.reason]),
      [[a.id, 'idle']],
    )
    t.close()
  })
})

describe('testing.FaultSwitch', () => {
  test('is exported both ways, and only under testing', () => {
    assert.equal(require('sojourn').testing.FaultSwitch, FaultSwitch)
    assert.ok(Object.isFrozen(testing))
    assert.deepEqual(Object.keys(testing), ['FaultSwitch'])
    assert.equal(require('sojourn').FaultSwitch, undefined)
  })

  test('starts off: a tracker with it works as any other', () => {
    const { tracker: t } = setup()
    const s = t.start()
    assert.equal(t.track(s.id, 'view').sequence, 1)
    assert.equal(t.size, 1)
    t.close()
  })

  test('fail takes a boolean', () => {
    const faultSwitch = new FaultSwitch()
    for (const bad of [undefined, null, 1, 'yes', {}]) {
      throwsCode(() => faultSwitch.fail(bad), 'INVALID_ARGUMENT', /invalid on/)
    }
  })

  test('the faultSwitch option takes a FaultSwitch only', () => {
    for (const bad of [{}, true, 'on', new MockClock(START), () => {}]) {
      throwsCode(
        () => new Tracker({ unsignedTokens: true, sweepInterval: 0, faultSwitch: bad }),
        'INVALID_ARGUMENT',
        /faultSwitch/,
      )
    }
  })
})
