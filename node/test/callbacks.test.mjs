// onEnd: called once per departure, in order, on the main thread, with
// plain data; a function that throws is reported and the tracker goes on;
// close() delivers what is pending and lets go of the function.

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, test } from 'node:test'

import { MockClock, Tracker } from 'sojourn'
import { flush } from './support/scenario.mjs'

const START = Date.parse('2026-01-01T00:00:00Z')
const MINUTE = 60_000

function setup(options = {}) {
  const clock = new MockClock(START)
  const ends = []
  const tracker = new Tracker({ clock, sweepInterval: 0, onEnd: (end) => ends.push(end), ...options })
  return { clock, ends, tracker }
}

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

  test('a function that throws is reported as a warning, and the tracker goes on', async () => {
    let calls = 0
    const { tracker } = setup({
      onEnd: () => {
        calls += 1
        throw new Error('boom')
      },
    })
    const warned = once(process, 'warning')
    const a = tracker.start()
    const b = tracker.start()
    tracker.end(a.id)
    tracker.end(b.id)
    tracker.sweep()
    const [warning] = await warned
    assert.equal(warning.name, 'SojournWarning')
    assert.equal(warning.code, 'SOJOURN_ON_END_THREW')
    assert.match(warning.message, new RegExp(`session ${a.id}: Error: boom`))
    assert.equal(warning.cause.message, 'boom')
    await flush()
    assert.equal(calls, 2, 'the second end was still delivered')
    assert.equal(tracker.start().sessionIndex, 1, 'the tracker still works')
    tracker.close()
  })

  test('may call the tracker back', async () => {
    const seen = []
    const clock = new MockClock(START)
    const tracker = new Tracker({
      clock,
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

  test('close() delivers the pending ends, and nothing after', async () => {
    const { ends, tracker } = setup()
    const a = tracker.start()
    tracker.end(a.id) // queued: no sweep has delivered it
    tracker.close()
    await flush()
    assert.deepEqual(
      ends.map((e) => e.session.id),
      [a.id],
    )
    const b = tracker.start()
    assert.equal(tracker.end(b.id).session.id, b.id, 'a closed tracker still answers')
    tracker.sweep()
    await flush()
    assert.equal(ends.length, 1, 'onEnd was let go')
    tracker.close() // twice is fine
  })

  test('the background driver delivers ends without traffic (real time)', async () => {
    const ends = []
    const tracker = new Tracker({ idleTimeout: 50, sweepInterval: 10, onEnd: (end) => ends.push(end) })
    const s = tracker.start()
    await until(() => ends.length === 1)
    assert.equal(ends[0].session.id, s.id)
    assert.equal(ends[0].reason, 'idle')
    assert.equal(tracker.size, 0)
    tracker.close()
  })
})
