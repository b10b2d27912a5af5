// onEnd: called once per departure, in order, on the main thread, with
// plain data; every end pending is delivered on one turn of the event loop
// (at most maxPendingEnds, the bound past which the oldest are dropped and
// counted); a function that throws is reported and the tracker goes on;
// close() delivers what is pending before it returns, and lets go of the
// function.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { MockClock, Tracker } from 'sojourn'
import { flush } from './support/scenario.mjs'
import { catchWarnings } from './support/warnings.mjs'

const START = Date.parse('2026-01-01T00:00:00Z')
const MINUTE = 60_000
const SECRET = 'a secret of at least sixteen bytes'

function setup(options = {}) {
  const clock = new MockClock(START)
  const ends = []
  const tracker = new Tracker({ clock, secret: SECRET, sweepInterval: 0, onEnd: (end) => ends.push(end), ...options })
  return { clock, ends, tracker }
}

const immediate = () => new Promise((resolve) => setImmediate(resolve))

// Polls `done` until it holds, for at most `ms` of real time.
async function until(done, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!done()) {
    assert.ok(Date.now() < deadline, `not done within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('onEnd', () => {
  test('is called once per end, with every reason, after the call that delivered it', async () => {
    const { clock, ends, tracker } = setup({ maxSessions: 2, maxLifetime: 45 * MINUTE })
    const a = tracker.start()
    const e = tracker.start()
    assert.equal(tracker.end(e.id).reason, 'ended')
    clock.advance(10 * MINUTE)
    const b = tracker.start()
    const c = tracker.start() // the store holds 2: `a`, closest to expiry, is evicted
    clock.advance(10 * MINUTE)
    tracker.track(b.id, 'view')
    clock.advance(20 * MINUTE) // 40 min: `c` idles out
    assert.equal(tracker.sweep(), 1)
    assert.equal(ends.length, 0, 'not called from inside sweep()')
    await flush()
    assert.deepEqual(
      ends.map((end) => [end.session.id, end.reason]),
      [
        [e.id, 'ended'],
        [a.id, 'evicted'],
        [c.id, 'idle'],
      ],
    )
    tracker.track(b.id, 'view')
    clock.advance(15 * MINUTE) // 55 min: `b` reaches its lifetime
    assert.equal(tracker.sweep(), 1)
    await flush()
    await flush()
    assert.deepEqual(
      ends.slice(3).map((end) => [end.session.id, end.reason]),
      [[b.id, 'lifetime']],
      'each end once',
    )
    tracker.close()
  })

  test('gets plain, JSON-serialisable data', async () => {
    const { clock, ends, tracker } = setup()
    const s = tracker.start({ userId: 'u1', attrs: { page: '/', n: 2 } })
    clock.advance(5 * MINUTE)
    tracker.track(s.id, 'view')
    tracker.track(s.id, 'event')
    tracker.end(s.id)
    tracker.sweep()
    await flush()
    const [end] = ends
    assert.equal(Object.getPrototypeOf(end), Object.prototype)
    assert.equal(Object.getPrototypeOf(end.session), Object.prototype)
    assert.ok(end.endedAt instanceof Date)
    assert.equal(end.duration, 5 * MINUTE)
    assert.equal(end.revivable, false)
    assert.deepEqual(JSON.parse(JSON.stringify(end)), {
      session: {
        id: s.id,
        token: s.token,
        userId: 'u1',
        viewSequence: 1,
        eventSequence: 1,
        sequence: 2,
        sessionIndex: 1,
        previousId: null,
        startedAt: '2026-01-01T00:00:00.000Z',
        lastSeen: '2026-01-01T00:05:00.000Z',
        expiresAt: '2026-01-01T00:35:00.000Z',
        revivals: 0,
        attrs: { n: 2, page: '/' },
      },
      reason: 'ended',
      endedAt: '2026-01-01T00:05:00.000Z',
      duration: 300000,
      revivable: false,
    })
    tracker.close()
  })

  test('may call the tracker back', async () => {
    const seen = []
    const clock = new MockClock(START)
    const tracker = new Tracker({
      clock,
      secret: SECRET,
      sweepInterval: 0,
      onEnd: (end) => seen.push([end.session.id, tracker.stats().ended.ended, tracker.sweep()]),
    })
    const s = tracker.start()
    tracker.end(s.id)
    tracker.sweep()
    await flush()
    assert.deepEqual(seen, [[s.id, 1, 0]])
    tracker.close()
  })

  test('close() delivers the pending ends before it returns; later ends go with sweep() and close()', async () => {
    const { ends, tracker } = setup()
    const a = tracker.start()
    tracker.end(a.id) // pending: no sweep has delivered it
    assert.equal(tracker.close(), 0, 'none dropped')
    assert.deepEqual(
      ends.map((e) => e.session.id),
      [a.id],
      'delivered by close() itself',
    )
    const b = tracker.start()
    assert.equal(tracker.end(b.id).session.id, b.id, 'a closed tracker still answers')
    await flush()
    assert.equal(ends.length, 1, 'no delivery on a later turn once closed')
    assert.equal(tracker.stats().endsPending, 1)
    assert.equal(tracker.sweep(), 0)
    assert.deepEqual(
      ends.map((e) => e.session.id),
      [a.id, b.id],
      'sweep() delivers at once once closed',
    )
    const c = tracker.start()
    tracker.end(c.id)
    assert.equal(tracker.close(), 0) // twice is fine
    assert.equal(ends.at(-1).session.id, c.id)
    assert.equal(tracker.stats().endsPending, 0)
  })

  test('close() from inside onEnd: the delivery in progress delivers everything pending', async () => {
    const seen = []
    const tracker = new Tracker({
      secret: SECRET,
      sweepInterval: 0,
      onEnd: (end) => {
        seen.push(end.session.id)
        if (seen.length === 1) {
          tracker.end(tracker.start().id) // queued meanwhile
          assert.equal(tracker.close(), 0)
        }
      },
    })
    const ids = [1, 2, 3].map(() => tracker.start().id)
    for (const id of ids) tracker.end(id)
    tracker.sweep()
    await flush()
    assert.equal(seen.length, 4)
    assert.deepEqual(seen.slice(0, 3), ids)
    assert.equal(tracker.stats().endsPending, 0)
  })

  test('close() spends at most closeTimeout on a slow onEnd; the rest is dropped, counted and warned of', async () => {
    let delivered = 0
    let dropped
    let ms
    const tracker = new Tracker({
      secret: SECRET,
      sweepInterval: 0,
      closeTimeout: 30,
      onEnd: () => {
        delivered += 1
        const until = performance.now() + 2
        while (performance.now() < until);
      },
    })
    for (let i = 0; i < 200; i++) tracker.end(tracker.start().id)
    const warnings = await catchWarnings(async () => {
      const began = performance.now()
      dropped = tracker.close()
      ms = performance.now() - began
      await flush()
    })
    assert.ok(ms < 200, `close() took ${ms} ms`)
    assert.ok(delivered > 0 && dropped > 0, `${delivered} delivered, ${dropped} dropped`)
    assert.equal(delivered + dropped, 200)
    const stats = tracker.stats()
    assert.equal(stats.endsDropped, dropped)
    assert.equal(stats.endsPending, 0)
    assert.deepEqual(
      warnings.map((w) => [w.name, w.code]),
      [['SojournWarning', 'SOJOURN_ENDS_DROPPED']],
    )
    assert.match(warnings[0].message, new RegExp(`^${dropped} session ends were dropped at close: .*close_timeout \\(30ms\\)`))
  })

  test('the background driver delivers ends without traffic (real time)', async () => {
    const ends = []
    const tracker = new Tracker({ secret: SECRET, idleTimeout: 50, sweepInterval: 10, onEnd: (end) => ends.push(end) })
    const s = tracker.start()
    await until(() => ends.length === 1)
    assert.equal(ends[0].session.id, s.id)
    assert.equal(ends[0].reason, 'idle')
    assert.equal(tracker.size, 0)
    tracker.close()
  })
})

describe('delivery under pressure', () => {
  test('every pending end is delivered on one turn, in the order the sessions departed', async () => {
    // More than a threadsafe function hands over in one turn (1,000), and
    // more than one batch taken from the addon (1,024).
    const { ends, tracker } = setup()
    const ids = []
    for (let i = 0; i < 20_000; i++) ids.push(tracker.start().id)
    for (const id of ids) tracker.end(id)
    tracker.sweep()
    await flush()
    assert.equal(ends.length, 20_000, 'all of them, at once')
    assert.deepEqual(
      ends.map((e) => e.session.id),
      ids,
    )
    assert.equal(tracker.stats().endsPending, 0)
    tracker.close()
  })

  test('past maxPendingEnds the oldest pending ends are dropped, and counted', async () => {
    const { ends, tracker } = setup({ maxPendingEnds: 100 })
    const ids = []
    for (let i = 0; i < 250; i++) ids.push(tracker.start().id)
    for (const id of ids) tracker.end(id)
    let stats = tracker.stats()
    assert.deepEqual([stats.endsPending, stats.endsDropped], [100, 150])
    tracker.sweep()
    await flush()
    assert.deepEqual(
      ends.map((e) => e.session.id),
      ids.slice(150),
      'the newest 100, in order',
    )
    stats = tracker.stats()
    assert.deepEqual([stats.endsPending, stats.endsDropped, stats.ended.ended], [0, 150, 250])
    tracker.close()
  })

  test('a turn delivers at most maxPendingEnds, and the event loop goes on between turns', async () => {
    // An onEnd that ends one more session each time: never idle, its
    // deliveries must still leave the event loop room.
    let turn = 0
    let running = true
    const spin = () => {
      turn += 1
      if (running) setImmediate(spin)
    }
    setImmediate(spin)
    const turns = []
    let more = 50
    const tracker = new Tracker({
      secret: SECRET,
      sweepInterval: 5,
      maxPendingEnds: 10,
      onEnd: () => {
        turns.push(turn)
        if (more-- > 0) tracker.end(tracker.start().id)
      },
    })
    tracker.end(tracker.start().id)
    const deadline = Date.now() + 10_000
    while (turns.length < 51) {
      assert.ok(Date.now() < deadline, `${turns.length} delivered`)
      await immediate()
    }
    running = false
    const perTurn = new Map()
    for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1)
    assert.ok(Math.max(...perTurn.values()) <= 10, JSON.stringify([...perTurn]))
    assert.ok(perTurn.size >= 6, `over ${perTurn.size} turns`)
    tracker.close()
  })
})

describe('an onEnd that throws anything', () => {
  const revoked = Proxy.revocable({}, {})
  revoked.revoke()
  const throwables = {
    'an Error': new Error('boom'),
    'a string': 'boom',
    'a Symbol': Symbol('boom'),
    'an object without a prototype': Object.create(null),
    'an object whose toString throws': {
      toString() {
        throw new Error('no string')
      },
    },
    'a revoked Proxy': revoked.proxy,
    undefined: undefined,
    'a BigInt': 10n,
  }

  test('is reported as a warning, and the tracker goes on', async () => {
    const values = Object.values(throwables)
    let calls = 0
    let ids
    const warnings = await catchWarnings(async () => {
      const tracker = new Tracker({
        secret: SECRET,
        sweepInterval: 0,
        onEnd: () => {
          throw values[calls++]
        },
      })
      ids = values.map(() => tracker.start().id)
      for (const id of ids) tracker.end(id)
      tracker.sweep()
      await flush() // warnings are emitted on the tick after the delivery
      assert.equal(tracker.start().sessionIndex, 1, 'the tracker still works')
      tracker.close()
    })
    assert.equal(calls, values.length, 'every end delivered')
    assert.equal(warnings.length, values.length)
    for (const [i, warning] of warnings.entries()) {
      assert.equal(warning.name, 'SojournWarning')
      assert.equal(warning.code, 'SOJOURN_ON_END_THREW')
      assert.ok(warning.message.startsWith(`onEnd threw for session ${ids[i]}: `), warning.message)
      assert.equal(warning.cause, values[i])
    }
    assert.match(warnings[0].message, /: Error: boom$/)
    assert.match(warnings[2].message, /: Symbol\(boom\)$/)
    assert.match(warnings[3].message, /: \[object Object\]$/)
    assert.match(warnings[5].message, /: a thrown object$/)
  })
})
