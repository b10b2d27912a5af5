// trackMany: a batch gives what the same `track` calls give one by one;
// `null` for a session that is not live; every id checked before anything
// is tracked; any other error of an item returned in its place, an Error
// with its code, never thrown.

import assert from 'node:assert/strict'
import { test } from 'node:test'

import { MockClock, Tracker } from 'sojourn'
import { flush } from './support/scenario.mjs'
import { throwsCode } from './support/throws.mjs'

const START = Date.parse('2026-01-01T00:00:00Z')
const MAX_COUNTER = 2 ** 32 - 1
const UNKNOWN = '6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f'

function setup(options = {}) {
  const clock = new MockClock(START)
  const ends = []
  const tracker = new Tracker({
    clock,
    sweepInterval: 0,
    unsignedTokens: true,
    maxCounterHint: MAX_COUNTER,
    onEnd: (end) => ends.push(end),
    ...options,
  })
  return { clock, ends, tracker }
}

// What `track` gives for each id in turn: `null` where not live, the
// error it throws where it throws another.
function oneByOne(tracker, ids, kind) {
  return ids.map((id) => {
    try {
      return tracker.track(id, kind)
    } catch (error) {
      return error.code === 'SESSION_NOT_FOUND' ? null : error
    }
  })
}

test('a batch gives what track gives one by one', () => {
  const ids = ['a', 'b', 'c'].map((c) => `${c.repeat(8)}-aaaa-4aaa-8aaa-aaaaaaaaaaaa`)
  const [a, b, expired] = ids
  // Two trackers with the same sessions, on clocks at the same time.
  const [batch, single] = [setup({ idleTimeout: 60_000 }), setup({ idleTimeout: 60_000 })].map((side) => {
    side.tracker.revive(a, { viewSequence: 2, eventSequence: 1 })
    side.tracker.revive(b)
    side.tracker.revive(expired, { viewSequence: 5 })
    side.clock.advance(30_000)
    side.tracker.track(a, 'view')
    side.tracker.track(b, 'event')
    side.clock.advance(30_000)
    return side
  })
  const batchIds = [a, b, a, expired, UNKNOWN, a, expired, b]
  for (const kind of ['view', 'event']) {
    const ticks = batch.tracker.trackMany(batchIds, kind)
    assert.deepEqual(ticks, oneByOne(single.tracker, batchIds, kind))
    assert.equal(ticks.length, batchIds.length)
    assert.deepEqual([3, 4, 6].map((i) => ticks[i]), [null, null, null])
    assert.deepEqual(
      ids.map((id) => batch.tracker.peek(id)),
      ids.map((id) => single.tracker.peek(id)),
    )
  }
  assert.deepEqual(batch.tracker.trackMany([a, b, a], 'view').map((t) => t.sequence), [11, 6, 12])
  assert.deepEqual(batch.tracker.trackMany([], 'view'), [])
  batch.tracker.sweep()
  assert.equal(batch.tracker.stats().ended.idle, 1)
  batch.tracker.close()
  single.tracker.close()
})

test('an expired id gives null, and its end is delivered once', async () => {
  const { clock, ends, tracker } = setup({ idleTimeout: 60_000 })
  const live = tracker.start().id
  const expired = tracker.start().id
  clock.advance(30_000)
  tracker.track(live, 'view')
  clock.advance(30_000)
  const ticks = tracker.trackMany([expired, live, expired], 'view')
  assert.deepEqual(ticks, [null, { viewSequence: 2, eventSequence: 0, sequence: 2 }, null])
  assert.equal(tracker.sweep(), 0, 'the batch sent it away already')
  await flush()
  assert.deepEqual(
    ends.map((e) => [e.session.id, e.reason, e.endedAt.getTime()]),
    [[expired, 'idle', START + 60_000]],
  )
  assert.deepEqual(tracker.trackMany([expired], 'event'), [null])
  tracker.sweep()
  await flush()
  assert.equal(ends.length, 1)
  tracker.close()
})

test('a malformed id or a wrong type fails the batch before anything is tracked', () => {
  const { clock, tracker } = setup()
  const s = tracker.start()
  clock.advance(1000)
  for (const bad of ['', 'not-a-uuid', '00000000-0000-0000-0000-000000000000', UNKNOWN.toUpperCase().slice(1)]) {
    throwsCode(() => tracker.trackMany([s.id, bad], 'view'), 'INVALID_SESSION_ID', /invalid session id/)
  }
  for (const bad of [undefined, null, 42, s.id, {}, { length: 1, 0: s.id }, new Set([s.id]), Symbol('s'), 1n]) {
    throwsCode(() => tracker.trackMany(bad, 'view'), 'INVALID_ARGUMENT', /ids/)
  }
  const sparse = [s.id]
  sparse[2] = s.id
  for (const bad of [undefined, null, 42, true, {}, [s.id], Symbol('s'), 1n, () => s.id, new Date(0)]) {
    throwsCode(() => tracker.trackMany([s.id, bad], 'view'), 'INVALID_ARGUMENT', /ids/)
  }
  throwsCode(() => tracker.trackMany(sparse, 'view'), 'INVALID_ARGUMENT', /ids/)
  for (const bad of ['click', undefined, 1, null]) {
    throwsCode(() => tracker.trackMany([s.id], bad), 'INVALID_ARGUMENT', /kind/)
  }
  assert.deepEqual(tracker.peek(s.id), s, 'not tracked, not touched')
  assert.equal(tracker.stats().views, 0)
})

test('a full counter is that item\'s error, returned in its place; every other item is tracked', () => {
  const { tracker } = setup()
  const a = tracker.start().id
  const full = tracker.revive(UNKNOWN, { viewSequence: MAX_COUNTER }).id
  const batch = [a, full, a, '019b71b4-4c01-7abc-9def-0123456789ab', full]
  const items = tracker.trackMany(batch, 'view')
  assert.equal(items.length, 5)
  assert.deepEqual(items[0], { viewSequence: 1, eventSequence: 0, sequence: 1 })
  assert.deepEqual(items[2], { viewSequence: 2, eventSequence: 0, sequence: 2 })
  assert.equal(items[3], null)
  for (const i of [1, 4]) {
    assert.ok(items[i] instanceof Error, `item ${i}: ${items[i]}`)
    assert.equal(items[i].code, 'INVALID_ARGUMENT')
    assert.match(items[i].message, /maximum/)
  }
  assert.equal(tracker.peek(a).viewSequence, 2, 'the items before and after it are tracked')
  assert.equal(tracker.peek(full).viewSequence, MAX_COUNTER, 'the full one is not')
  assert.equal(tracker.stats().views, 2, 'counted once each: nothing to retry')
  // What the same tracks one by one give, errors included.
  const [one, other] = [setup(), setup()].map(({ tracker: t }) => {
    t.revive(UNKNOWN, { viewSequence: MAX_COUNTER })
    return t
  })
  const byBatch = one.trackMany([UNKNOWN, UNKNOWN], 'view')
  const byOne = oneByOne(other, [UNKNOWN, UNKNOWN], 'view')
  assert.deepEqual(byBatch, byOne)
  assert.deepEqual(tracker.trackMany([full, a], 'event').map((t) => t.sequence), [MAX_COUNTER + 1, 3])
})
