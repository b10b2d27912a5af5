// The replay of tests/scenarios/*.json through the Node API, with a mock
// clock and no background driver; the format is described in
// tests/scenarios/README.md, and this runner mirrors core/tests/scenarios.rs.
// One runner for both classes: `make(options)` makes a tracker (a
// `Tracker`, or a Promise of a `RedisTracker` with a store of its own),
// and every result is awaited. With `promises`, every operation must
// return a Promise (the `RedisTracker`'s contract), its errors rejections.
// Snapshot files are in a folder of each run's own, removed at its end.

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { MockClock } from 'sojourn'
import { flush, matches, scenarioShape } from './scenario.mjs'

const EPOCH_MS = Date.parse('2026-01-01T00:00:00.000Z')
const DIR = new URL('../../../tests/scenarios/', import.meta.url)

/** Every scenario, parsed, in the order of its file's name. */
export const scenarios = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8')))

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
  snapshot_key: 'snapshotKey',
}

// Config values that the Node API takes in another form: the snapshot key
// is given as 64 hex digits, and is bytes.
const VALUES = {
  snapshot_key: (hex) => {
    assert.match(hex, /^([0-9a-f]{2})*$/i, 'snapshot_key is hex')
    return Buffer.from(hex, 'hex')
  },
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
  // `size` on a Tracker; a RedisTracker's count is a Promise.
  len: (t) => ('size' in t ? t.size : t.count()),
  end_user: (t, a) => t.endUser(a.user_id),
  forget_user: (t, a) => t.forgetUser(a.user_id),
  end_all: (t) => t.endAll(),
  reassign_user: (t, a) => t.reassignUser(a.old, a.new),
  stats: (t) => t.stats(),
  sweep: (t) => t.sweep(),
}

const json = (value) => JSON.stringify(value)

export class Run {
  /** Use `Run.start`: making a tracker may be asynchronous. */
  constructor(scenario, make, promises) {
    this.baseConfig = scenario.config ?? {}
    this.clock = new MockClock(EPOCH_MS)
    this.ends = []
    this.names = new Map()
    this.make = make
    this.promises = promises
    this.tracker = null
    /** The folder of this run's snapshot files, made at the first use. */
    this.dir = null
  }

  /** A run of `scenario` on trackers that `make(options)` makes. */
  static async start(scenario, make, { promises = false } = {}) {
    const run = new Run(scenario, make, promises)
    run.tracker = await run.build(run.baseConfig)
    return run
  }

  /** Replays every step, then closes the tracker and removes the run's files. */
  async replay(scenario) {
    try {
      for (const [i, step] of scenario.steps.entries()) {
        try {
          await this.step(step)
        } catch (error) {
          error.message = `step ${i}: ${error.message}`
          throw error
        }
      }
    } finally {
      try {
        await this.tracker.close()
      } finally {
        if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true })
      }
    }
  }

  /** The snapshot file `name` of this run. */
  file(name) {
    assert.equal(typeof name, 'string', 'a snapshot is named by a string')
    assert.ok(name.length > 0 && !name.includes('/') && !name.includes('\\'), `a bare file name, not ${name}`)
    this.dir ??= mkdtempSync(path.join(os.tmpdir(), 'sojourn-node-scenario-'))
    return path.join(this.dir, name)
  }

  /** A tracker with `config`; with `load`, made from that snapshot file. */
  build(config, load) {
    const options = { clock: this.clock, sweepInterval: 0, onEnd: (end) => this.ends.push(end) }
    // Unsigned on purpose, unless the scenario says otherwise (as the Rust
    // runner does).
    if (!('secrets' in config)) options.unsignedTokens = true
    for (const [key, value] of Object.entries(config)) {
      assert.ok(key in CONFIG, `unknown config key ${key}`)
      options[CONFIG[key]] = key in VALUES ? VALUES[key](value) : value
    }
    if (load !== undefined) options.load = this.file(load)
    return this.make(options)
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
      await this.restart(step)
    } else if ('save' in step) {
      await this.save(step)
    } else if ('truncate' in step) {
      assert.ok(Number.isSafeInteger(step.bytes) && step.bytes >= 0, 'truncate needs bytes')
      truncateSync(this.file(step.truncate), step.bytes)
    } else {
      await this.call(step)
    }
  }

  async restart(step) {
    const config = { ...this.baseConfig, ...step.restart }
    if ('down_ms' in step) {
      // The process went away: it closes, time passes, another starts, and
      // there is no old tracker left to keep.
      assert.equal(step.error, undefined, 'restart: down_ms leaves no tracker to keep on error')
      await this.tracker.close()
      this.clock.advance(step.down_ms)
      this.tracker = await this.build(config, step.load)
      return
    }
    let tracker
    try {
      tracker = await this.build(config, step.load)
    } catch (error) {
      assert.equal(error.code, step.error, `restart: unexpected error ${error.code} (${error.message})`)
      return
    }
    assert.equal(step.error, undefined, `restart: expected error ${step.error}, got a tracker`)
    await this.tracker.close()
    this.tracker = tracker
  }

  /**
   * `{ "save": name }`: the tracker's sessions saved to that file, as a
   * Promise on a RedisTracker (`save`), at once on a Tracker (`saveSync`);
   * `expect` checks the counts it wrote.
   */
  async save(step) {
    const file = this.file(step.save)
    const what = `save ${step.save}`
    let counts
    try {
      if (this.promises) {
        const pending = this.tracker.save(file)
        assert.ok(pending instanceof Promise, `${what}: returned ${pending}, not a Promise`)
        counts = await pending
      } else {
        counts = this.tracker.saveSync(file)
      }
    } catch (error) {
      assert.equal(step.error, error.code, `${what}: unexpected error ${error.code} (${error.message})`)
      return
    }
    assert.equal(step.error, undefined, `${what}: expected ${step.error}, got ${json(counts)}`)
    if ('expect' in step) {
      assert.ok(matches(step.expect, counts), `${what}: expected ${json(step.expect)}\n got ${json(counts)}`)
    }
  }

  async call(step) {
    const op = OPS[step.op]
    assert.ok(op, `unknown op ${step.op}`)
    const args = this.fill(step.args ?? {})
    const what = `${step.op} ${json(args)}`
    // A RedisTracker's call never throws: a throw here fails the test.
    const pending = this.promises ? op(this.tracker, args) : null
    if (this.promises) assert.ok(pending instanceof Promise, `${what}: returned ${pending}, not a Promise`)
    let result
    try {
      result = await (this.promises ? pending : op(this.tracker, args))
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
