// Replays every tests/scenarios/*.json through the Node API, with a mock
// clock and no background driver; the format is described in
// tests/scenarios/README.md, and this runner mirrors core/tests/scenarios.rs.

import assert from 'node:assert/strict'
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

for (const scenario of scenarios) {
  test(`scenario ${scenario.name}`, async () => {
    const run = await Run.start(scenario, (options) => new Tracker(options))
    await run.replay(scenario)
  })
}
