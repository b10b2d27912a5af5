// Replays every tests/scenarios/*.json through the Node API, with a mock
// clock and no background driver; the format is described in
// tests/scenarios/README.md, and this runner mirrors core/tests/scenarios.rs.

import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { test } from 'node:test'

import { MockClock, Tracker } from 'sojourn'
import { flush, matches, scenarioShape } from './support/scenario.mjs'

const EPOCH_MS = Date.parse('2026-01-01T00:00:00.000Z')
const DIR = new URL('../../tests/scenarios/', import.meta.url)

// Scenario config keys, and the tracker options they are.
const CONFIG = {
  idle_timeout_ms: 'idleTimeout',
  max_lifetime_ms: 'maxLifetime',
  revive_window_ms: 'reviveWindow',
  retention_ms: 'retention',
  max_sessions: 'maxSessions',
  max_dormant: 'maxDormant',
  max_attrs_bytes: 'maxAttrsBytes',
  max_counter_hint: 'maxCounterHint',
  secrets: 'secrets',
  unsigned_tokens: 'unsignedTokens',
}

const hints = (a) => ({
  userId: a.user_id,
  attrs: a.attrs,
  viewSequence: a.view_sequence,
  eventSequence: a.event_sequence,
})

// Each scenario operation, with its snake_case arguments, on the Node API.
const OPS = {
  start: (t, a) => t.start({ userId: a.user_id, attrs: a.attrs }),
  get: (t, a) => t.get(a.id),
  peek: (t, a) => t.peek(a.id),
  exists: (t, a) => t.exists(a.id),
  track: (t, a) => t.track(a.id, a.kind),
  track_many: (t, a) => t.trackMany(a.ids, a.kind),
  identify: (t, a) => t.identify(a.id, a.user_id),
  set_attrs: (t, a) => t.setAttrs(a.id, a.attrs),
  revive: (t, a) => t.revive(a.id, hints(a)),
  resume: (t, a) => t.resume(a.token, hints(a)),
  end: (t, a) => t.end(a.id),
  sessions: (t, a) => t.sessions(a.user_id),
  count: (t, a) => t.count(a.user_id),
  len: (t) => t.size,
  end_user: (t, a) => t.endUser(a.user_id),
  forget_user: (t, a) => t.forgetUser(a.user_id),
  end_all: (t) => t.endAll(),
  reassign_user: (t, a) => t.reassignUser(a.old, a.new),
  stats: (t) => t.stats(),
  sweep: (t) => t.sweep(),
}

class Run {
  constructor(scenario) {
    this.baseConfig = scenario.config ?? {}
    this.clock = new MockClock(EPOCH_MS)
    this.ends = []
    this.names = new Map()
    this.tracker = this.build(this.baseConfig)
  }

  build(config) {
    const options = { clock: this.clock, sweepInterval: 0, onEnd: (end) => this.ends.push(end) }
    // Unsigned on purpose, unless the scenario says otherwise (as the Rust
    // runner does).
    if (!('secrets' in config)) options.unsignedTokens = true
    for (const [key, value] of Object.entries(config)) {
      assert.ok(key in CONFIG, `unknown config key ${key}`)
      options[CONFIG[key]] = value
    }
    return new Tracker(options)
  }

  // Replaces `{name}` and `{name.token}` in every string of `value`.
  fill(value) {
    if (typeof value === 'string') {
      return value.replace(/\{([^{}]*)\}/g, (whole, inner) => {
        const [name, part] = inner.endsWith('.token') ? [inner.slice(0, -6), 'token'] : [inner, 'id']
        return this.names.get(name)?.[part] ?? whole
      })
    }
    if (Array.isArray(value)) return value.map((v) => this.fill(v))
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.fill(v)]))
    }
    return value
  }

  async step(step) {
    if ('advance_ms' in step) {
      this.clock.advance(step.advance_ms)
    } else if ('ends' in step) {
      await flush()
      const got = this.ends.splice(0).map(scenarioShape)
      const expected = this.fill(step.ends)
      assert.ok(matches(expected, got), `ends: expected ${json(expected)}\n got ${json(got)}`)
    } else if ('restart' in step) {
      this.restart(step)
    } else {
      this.call(step)
    }
  }

  restart(step) {
    let tracker
    try {
      tracker = this.build({ ...this.baseConfig, ...step.restart })
    } catch (error) {
      assert.equal(error.code, step.error, `restart: unexpected error ${error.code} (${error.message})`)
      return
    }
    assert.equal(step.error, undefined, `restart: expected error ${step.error}, got a tracker`)
    this.tracker.close()
    this.tracker = tracker
  }

  call(step) {
    const op = OPS[step.op]
    assert.ok(op, `unknown op ${step.op}`)
    const args = this.fill(step.args ?? {})
    const what = `${step.op} ${json(args)}`
    let result
    try {
      result = op(this.tracker, args)
    } catch (error) {
      assert.ok(error instanceof Error, `${what}: threw a non-Error ${error}`)
      assert.equal(step.error, error.code, `${what}: unexpected error ${error.code} (${error.message})`)
      return
    }
    assert.equal(step.error, undefined, `${what}: expected ${step.error}, got ${json(result)}`)
    const value = scenarioShape(result)
    if (step.as !== undefined) {
      const session = step.op === 'resume' ? value.session : value
      assert.ok(session?.id && session?.token, `as: the result has no session`)
      this.names.set(step.as, { id: session.id, token: session.token })
    }
    if ('expect' in step) {
      const expected = this.fill(step.expect)
      assert.ok(matches(expected, value), `${what}: expected ${json(expected)}\n got ${json(value)}`)
    }
  }
}

const json = (value) => JSON.stringify(value)

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()

test('the scenarios are there', () => {
  assert.ok(files.length >= 30, `only ${files.length} scenarios`)
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

for (const file of files) {
  const scenario = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'))
  test(`scenario ${scenario.name}`, async () => {
    const run = new Run(scenario)
    try {
      for (const [i, step] of scenario.steps.entries()) {
        try {
          await run.step(step)
        } catch (error) {
          error.message = `step ${i}: ${error.message}`
          throw error
        }
      }
    } finally {
      run.tracker.close()
    }
  })
}
