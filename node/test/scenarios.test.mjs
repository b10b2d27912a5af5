// Replays every tests/scenarios/*.json through the Node API, with a mock
// clock and no background driver; the format is described in
// tests/scenarios/README.md, and this runner mirrors core/tests/scenarios.rs.

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { test } from 'node:test'

import { Tracker } from 'sojourn'
import { Run, scenarios } from './support/replay.mjs'
import { matches, scenarioShape } from './support/scenario.mjs'

test('the scenarios are there', () => {
  assert.ok(scenarios.length >= 30, `only ${scenarios.length} scenarios`)
})

test('the matcher can fail', () => {
  assert.ok(matches({ a: 1 }, { a: 1, b: 2 }))
  assert.ok(!matches({ a: 2 }, { a: 1 }))
  assert.ok(!matches({ attrs: { x: 1 } }, { attrs: { x: 1, y: 2 } }))
  assert.ok(matches([{ id: 'b' }, { id: 'a' }], [{ id: 'a' }, { id: 'b' }]))
  assert.ok(!matches([{ id: 'a' }, { id: 'a' }], [{ id: 'a' }, { id: 'b' }]))
  assert.ok(matches({ id: { not: 'a' } }, { id: 'b' }))
  assert.ok(!matches(null, { id: 'b' }))
  assert.ok(matches({ previous_id: null }, { previous_id: null }))
  assert.ok(matches({ in_order: [1, null] }, [1, null]))
  assert.ok(!matches({ in_order: [null, 1] }, [1, null]))
  assert.ok(!matches({ in_order: [1] }, [1, null]))
  assert.ok(!matches({ in_order: [1] }, 1))
})

test('results take the shape of the scenarios', () => {
  const error = Object.assign(new Error('full'), { code: 'INVALID_ARGUMENT' })
  assert.deepEqual(scenarioShape([{ viewSequence: 1 }, null, error]), [{ view_sequence: 1 }, null, { error: 'INVALID_ARGUMENT' }])
  const at = new Date('2026-01-01T00:00:00Z')
  const session = { id: 'x', userId: null, startedAt: at, attrs: { someKey: 1 } }
  assert.deepEqual(scenarioShape(session), {
    id: 'x',
    user_id: null,
    started_at: '2026-01-01T00:00:00.000Z',
    attrs: { someKey: 1 },
  })
  assert.deepEqual(scenarioShape({ session, reason: 'idle', endedAt: at, duration: 5, revivable: true }), {
    id: 'x',
    user_id: null,
    started_at: '2026-01-01T00:00:00.000Z',
    attrs: { someKey: 1 },
    reason: 'idle',
    ended_at: '2026-01-01T00:00:00.000Z',
    duration_ms: 5,
    revivable: true,
  })
})

test('the snapshot steps can fail, and the run removes its files', async () => {
  const make = (options) => new Tracker(options)
  const replay = async (steps, config = {}) => {
    const scenario = { name: 'self-test', config, steps }
    const run = await Run.start(scenario, make)
    try {
      await run.replay(scenario)
    } finally {
      if (run.dir !== null) assert.equal(existsSync(run.dir), false, 'the run left its folder')
    }
  }
  const start = { op: 'start', args: { user_id: 'u1' }, as: 'a' }
  const save = { save: 's1', expect: { live: 1, dormant: 0 } }
  const key = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'
  // What passes: each step doing what the README says.
  await replay([
    start,
    save,
    { restart: {}, load: 's1', down_ms: 3_600_000 },
    { op: 'stats', args: {}, expect: { loaded: 1, live: 0, dormant: 1 } },
    { op: 'sweep', args: {} },
    { ends: [{ id: '{a}', reason: 'idle', user_id: 'u1', ended_at: '2026-01-01T00:30:00.000Z' }] },
    { restart: { snapshot_key: key } },
    { op: 'start', args: {}, as: 'b' },
    { save: 'sealed', expect: { live: 1, dormant: 0 } },
    { restart: {}, load: 'sealed', error: 'SNAPSHOT_ERROR' },
    { restart: { snapshot_key: key }, load: 'sealed' },
    { op: 'exists', args: { id: '{b}' }, expect: true },
    { truncate: 'sealed', bytes: 64 },
    { restart: { snapshot_key: key }, load: 'sealed', error: 'SNAPSHOT_ERROR' },
  ])
  // What fails: each step's check.
  const failing = [
    [[start, { save: 's1', expect: { live: 2 } }], /save s1: expected/],
    [[start, { save: 's1', error: 'SNAPSHOT_ERROR' }], /save s1: expected SNAPSHOT_ERROR/],
    [[start, { save: '../s1' }], /a bare file name/],
    [[start, save, { restart: {}, load: 's2' }], /restart: unexpected error SNAPSHOT_ERROR/],
    [[start, save, { restart: {}, load: 's1', error: 'SNAPSHOT_ERROR' }], /restart: expected error SNAPSHOT_ERROR, got a tracker/],
    [[start, save, { restart: {}, load: 's1', down_ms: 1, error: 'SNAPSHOT_ERROR' }], /down_ms leaves no tracker/],
    [[start, save, { restart: {}, load: 's1', down_ms: 1 }, { op: 'get', args: { id: '{a}' }, expect: null }], /get/],
    // down_ms moves the clock: the session is gone after an hour.
    [[start, save, { restart: {}, load: 's1', down_ms: 3_600_000 }, { op: 'exists', args: { id: '{a}' }, expect: true }], /exists/],
    // Without `load`, a restart forgets.
    [[start, save, { restart: {} }, { op: 'exists', args: { id: '{a}' }, expect: true }], /exists/],
    [[start, { truncate: 's1', bytes: 10 }], /ENOENT/],
    [[start, save, { truncate: 's1' }], /truncate needs bytes/],
    [[{ restart: { snapshot_key: 'not hex' } }], /snapshot_key is hex/],
    [[start, save, { truncate: 's1', bytes: 100 }, { restart: {}, load: 's1' }], /unexpected error SNAPSHOT_ERROR/],
  ]
  for (const [steps, pattern] of failing) {
    await assert.rejects(replay(steps), pattern, JSON.stringify(steps.at(-1)))
  }
})

for (const scenario of scenarios) {
  test(`scenario ${scenario.name}`, async () => {
    const run = await Run.start(scenario, (options) => new Tracker(options))
    await run.replay(scenario)
  })
}
