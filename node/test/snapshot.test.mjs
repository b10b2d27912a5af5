// Snapshots (issue #11) through the Node package: a round trip keeps every
// session as it was, time passes while down, every bad file is refused with
// SNAPSHOT_ERROR and makes no tracker, `save()` leaves the event loop
// turning, the tracker's own `snapshot` is saved by the driver, on
// `close()` and at exit (the end of a script, `process.exit()`, an
// uncaught exception, a worker thread's end), a snapshot moves between
// the memory store and Redis, and the key never shows. Files are in a
// folder of each test's own under `os.tmpdir()`.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import util from 'node:util'
import { Worker } from 'node:worker_threads'
import { describe, test } from 'node:test'

import { MockClock, RedisTracker, Tracker } from 'sojourn'
import { TEST_TIMEOUT, redisUrl, uniquePrefix } from './support/redis.mjs'
import { flush } from './support/scenario.mjs'
import { throwsCode } from './support/throws.mjs'
import { catchWarnings } from './support/warnings.mjs'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const SECRET = 'a secret of at least sixteen bytes'
const MINUTE = 60_000
const EPOCH = Date.parse('2026-01-01T00:00:00.000Z')

/** A new empty folder, removed when the test ends. */
function folder(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sojourn-node-snapshot-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A tracker of the tests: signed, on `clock`, without a driver unless asked for. */
function tracker(options = {}) {
  return new Tracker({ secret: SECRET, sweepInterval: 0, ...options })
}

/** Ends delivered to `onEnd`, kept in a list. */
function collector() {
  const ends = []
  return { ends, onEnd: (end) => ends.push(end) }
}

/** A key of 32 bytes that reads as text, so that any form of it shows in a search. */
const KEY = Buffer.from('do-not-show-this-key-0123456789!', 'ascii')
const OTHER_KEY = Buffer.alloc(32, 0x5a)

/** Every form in which the key's bytes could appear in text. */
function keyForms(key) {
  const hex = key.toString('hex')
  return [
    key.toString('ascii'),
    key.toString('ascii').slice(0, 12),
    hex,
    hex.match(/../g).join(' '),
    key.toString('base64'),
    key.toString('base64url'),
    Array.from(key).join(','),
    Array.from(key).join(', '),
  ]
}

/** That no form of `key` is in `text`. */
function assertNoKey(text, key = KEY) {
  for (const form of keyForms(key)) assert.ok(!text.includes(form), `the key shows (${form}) in:\n${text}`)
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('a round trip', () => {
  test('keeps every session as it was: user, attributes, counters, linkage, timestamps, the dormant record', async (t) => {
    const dir = folder(t)
    const file = path.join(dir, 'sessions.snap')
    const clock = new MockClock(EPOCH)
    const before = tracker({ clock })
    const a = before.start({ userId: 'u1', attrs: { plan: 'pro', beta: true, n: 3, none: null } })
    before.track(a.id, 'view')
    before.track(a.id, 'view')
    before.track(a.id, 'event')
    const b = before.start()
    clock.advance(MINUTE)
    before.end(b.id)
    // A client that comes back with the ended session's token: a new session, linked to it.
    const d = before.resume(b.token).session
    assert.equal(d.previousId, b.id)
    const revived = before.revive('3b241101-e2bb-4255-8caf-4136c566a962', { viewSequence: 4 })
    clock.advance(MINUTE)
    const saved = [before.peek(a.id), before.peek(d.id), before.peek(revived.id)]

    assert.deepEqual(before.saveSync(file), { live: 3, dormant: 1 })
    assert.deepEqual(await before.save(file), { live: 3, dormant: 1 })
    before.close()

    const after = Tracker.load(file, { secret: SECRET, sweepInterval: 0, clock })
    assert.deepEqual([after.peek(a.id), after.peek(d.id), after.peek(revived.id)], saved)
    assert.equal(after.peek(a.id).attrs.plan, 'pro')
    assert.deepEqual(after.sessions('u1').map((s) => s.id), [a.id])
    assert.deepEqual(after.track(a.id, 'view'), { viewSequence: 3, eventSequence: 1, sequence: 4 })
    // The dormant record came back: its token starts a session linked to it, not a revival.
    const back = after.resume(b.token)
    assert.equal(back.outcome, 'started')
    assert.notEqual(back.session.id, b.id)
    assert.equal(back.session.previousId, b.id)
    assert.equal(back.session.sessionIndex, 2)
    const stats = after.stats()
    assert.equal(stats.loaded, 4)
    assert.equal(stats.live, 4)
    assert.equal(stats.dormant, 1)
    after.close()
  })

  test('a tracker made without a snapshot loaded nothing', () => {
    const t = tracker()
    assert.equal(t.stats().loaded, 0)
    t.close()
  })

  test('Tracker.load makes this package\'s Tracker, or the subclass it is called on', (t) => {
    const file = path.join(folder(t), 's.snap')
    const first = tracker()
    const id = first.start().id
    first.saveSync(file)
    first.close()
    const loaded = Tracker.load(file, { secret: SECRET, sweepInterval: 0 })
    assert.ok(loaded instanceof Tracker)
    // The package's own getter and fast paths, not the addon's bare class.
    assert.equal(loaded.size, 1)
    assert.equal(loaded.get(id).id, id)
    loaded.close()
    class Mine extends Tracker {}
    const mine = Mine.load(file, { secret: SECRET, sweepInterval: 0 })
    assert.ok(mine instanceof Mine)
    mine.close()
    // The path given wins over a `load` among the options; options are as new Tracker's.
    const other = Tracker.load(file, { secret: SECRET, sweepInterval: 0, load: path.join(path.dirname(file), 'missing') })
    assert.equal(other.stats().loaded, 1)
    other.close()
    throwsCode(() => Tracker.load(file, { secret: SECRET, sweepInterval: 0, secert: 'x' }), 'INVALID_ARGUMENT', /secert/)
    throwsCode(() => Tracker.load(file, 'options'), 'INVALID_ARGUMENT', /options/)
    throwsCode(() => Tracker.load(42, { secret: SECRET }), 'INVALID_ARGUMENT', /load/)
  })

  test('save resolves (saveSync returns) the counts; a bad path rejects (throws), never both', async (t) => {
    const dir = folder(t)
    const tr = tracker()
    tr.start()
    tr.end(tr.start().id)
    const pending = tr.save(path.join(dir, 'a.snap'))
    assert.ok(pending instanceof Promise)
    assert.deepEqual(await pending, { live: 1, dormant: 1 })
    assert.deepEqual(tr.saveSync(path.join(dir, 'b.snap')), { live: 1, dormant: 1 })
    const missing = path.join(dir, 'no-such-folder', 'c.snap')
    // A Promise, rejected: never a throw.
    const rejected = tr.save(missing)
    assert.ok(rejected instanceof Promise)
    await assert.rejects(rejected, (e) => e.code === 'SNAPSHOT_ERROR' && e.message.includes(missing))
    await assert.rejects(tr.save(42), (e) => e.code === 'INVALID_ARGUMENT' && /path/.test(e.message))
    throwsCode(() => tr.saveSync(missing), 'SNAPSHOT_ERROR', new RegExp(escape(missing)))
    throwsCode(() => tr.saveSync(undefined), 'INVALID_ARGUMENT', /path/)
    assert.ok(!fs.existsSync(path.dirname(missing)))
    tr.close()
  })
})

describe('time passes while down', () => {
  test('a session that idled out during the downtime is delivered once to the new tracker, ended at its deadline', async (t) => {
    const file = path.join(folder(t), 's.snap')
    const clock = new MockClock(EPOCH)
    const old = collector()
    const before = tracker({ clock, onEnd: old.onEnd })
    const visitor = before.start({ userId: 'ann' })
    const idle = before.start()
    clock.advance(10 * MINUTE)
    before.track(visitor.id, 'view')
    before.saveSync(file)
    before.close()
    await flush()
    assert.deepEqual(old.ends, [])

    clock.advance(25 * MINUTE) // the idle session's deadline (30 min) passes while down
    const now = collector()
    // With a driver: the end is delivered on a later turn, no sweep needed.
    const after = Tracker.load(file, { secret: SECRET, clock, onEnd: now.onEnd })
    await flush()
    assert.equal(now.ends.length, 1)
    const [end] = now.ends
    assert.equal(end.session.id, idle.id)
    assert.equal(end.reason, 'idle')
    assert.equal(end.endedAt.getTime(), EPOCH + 30 * MINUTE)
    // Its revive window (the idle timeout) passed with it.
    assert.equal(end.revivable, false)
    assert.equal(after.exists(idle.id), false)
    assert.equal(after.get(visitor.id).userId, 'ann')
    assert.equal(after.stats().ended.idle, 1)
    // Once: neither a sweep nor close reports it again.
    after.sweep()
    await flush()
    after.close()
    assert.equal(now.ends.length, 1)
    assert.deepEqual(old.ends, [])
  })
})

describe('bad files', () => {
  /** A folder with a plain and an encrypted snapshot of one session. */
  function files(t) {
    const dir = folder(t)
    const plain = path.join(dir, 'plain.snap')
    const sealed = path.join(dir, 'sealed.snap')
    const tr = tracker()
    tr.start({ userId: 'u1', attrs: { page: '/' } })
    tr.saveSync(plain)
    tr.close()
    const keyed = tracker({ snapshotKey: KEY })
    keyed.start({ userId: 'u1', attrs: { page: '/' } })
    keyed.saveSync(sealed)
    keyed.close()
    return { dir, plain, sealed }
  }

  /** A copy of `file` changed by `change(bytes)`. */
  function altered(file, name, change) {
    const bytes = fs.readFileSync(file)
    const out = path.join(path.dirname(file), name)
    fs.writeFileSync(out, change(bytes))
    return out
  }

  test('each throws SNAPSHOT_ERROR naming the file, with load and with snapshot', (t) => {
    const { dir, plain, sealed } = files(t)
    const cases = [
      ['missing', path.join(dir, 'missing.snap'), {}, /No such file/],
      ['truncated', altered(plain, 'truncated.snap', (b) => b.subarray(0, b.length - 9)), {}, /truncated/],
      ['cut in the header', altered(plain, 'header.snap', (b) => b.subarray(0, 10)), {}, /./],
      ['empty', altered(plain, 'empty.snap', () => Buffer.alloc(0)), {}, /./],
      ['corrupt', altered(plain, 'corrupt.snap', (b) => {
        const c = Buffer.from(b)
        c[c.length - 20] ^= 0x01
        return c
      }), {}, /corrupt/],
      ['foreign', altered(plain, 'foreign.snap', () => Buffer.from('{"sessions": []}\n'.repeat(10))), {}, /not a Sojourn snapshot/],
      ['wrong key', sealed, { snapshotKey: OTHER_KEY }, /key does not open it/],
      ['no key for an encrypted file', sealed, {}, /no snapshot key was given/],
      ['a plain file where a key is given', plain, { snapshotKey: KEY }, /not encrypted|plain/],
    ]
    for (const [what, file, options, problem] of cases) {
      for (const make of [
        () => Tracker.load(file, { secret: SECRET, sweepInterval: 0, ...options }),
        () => new Tracker({ secret: SECRET, sweepInterval: 0, load: file, ...options }),
      ]) {
        assert.throws(make, (error) => {
          assert.ok(error instanceof Error, what)
          assert.equal(error.code, 'SNAPSHOT_ERROR', `${what}: ${error.message}`)
          assert.ok(error.message.includes(file), `${what}: the message names the file: ${error.message}`)
          assert.match(error.message, problem, what)
          assertNoKey(error.message)
          assertNoKey(util.inspect(error, { showHidden: true }))
          return true
        })
      }
      if (what !== 'missing') {
        // The tracker's own file: a bad one is refused too (a missing one is a first start).
        throwsCode(() => tracker({ snapshot: file, ...options }), 'SNAPSHOT_ERROR', new RegExp(escape(file)))
      }
    }
    // And the good ones load, so that each case above failed for its own fault.
    assert.equal(Tracker.load(plain, { secret: SECRET, sweepInterval: 0 }).stats().loaded, 1)
    assert.equal(Tracker.load(sealed, { secret: SECRET, sweepInterval: 0, snapshotKey: KEY }).stats().loaded, 1)
  })

  test('a missing file for the tracker\'s own snapshot is a first start: an empty tracker, which saves it on close', (t) => {
    const file = path.join(folder(t), 'first.snap')
    const tr = tracker({ snapshot: file })
    assert.equal(tr.stats().loaded, 0)
    const id = tr.start().id
    assert.ok(!fs.existsSync(file))
    tr.close()
    const next = tracker({ snapshot: file })
    assert.ok(next.exists(id))
    next.close()
  })

  test('a refused file makes no tracker: nothing saves over it, at exit or when collected', async (t) => {
    const { plain } = files(t)
    const bad = altered(plain, 'bad.snap', (b) => b.subarray(0, b.length - 1))
    const bytes = fs.readFileSync(bad)
    const result = await run(`
      import { Tracker } from 'sojourn'
      for (let i = 0; i < 3; i++) {
        try {
          new Tracker({ secret: '${SECRET}', snapshot: ${JSON.stringify(bad)} })
          console.log('made')
        } catch (error) {
          console.log(error.code)
        }
      }
      globalThis.gc()
      await new Promise((resolve) => setTimeout(resolve, 20))
      globalThis.gc()
      process.exit(0)
    `, { args: ['--expose-gc'] })
    assertClean(result)
    assert.equal(result.stdout, 'SNAPSHOT_ERROR\n'.repeat(3))
    assert.deepEqual(fs.readFileSync(bad), bytes)
  })

  test('RedisTracker.connect rejects a bad file with SNAPSHOT_ERROR, before anything is imported', async (t) => {
    const { dir } = files(t)
    const missing = path.join(dir, 'missing.snap')
    const keyPrefix = uniquePrefix('snapshot-bad')
    await assert.rejects(
      RedisTracker.connect({ redisUrl: redisUrl(), keyPrefix, storeTimeout: TEST_TIMEOUT, secret: SECRET, load: missing }),
      (e) => e.code === 'SNAPSHOT_ERROR' && e.message.includes(missing),
    )
  })
})

describe('the key', () => {
  test('anything but a Uint8Array of 32 bytes is INVALID_ARGUMENT naming snapshotKey, the key never in the message', () => {
    const long = Buffer.concat([KEY, Buffer.from('!')])
    const bad = [
      KEY.toString('hex'),
      KEY.toString('ascii'),
      KEY.subarray(0, 31),
      long,
      new Uint8Array(0),
      Array.from(KEY),
      new Uint16Array(16),
      new Uint8ClampedArray(KEY),
      new DataView(new Uint8Array(KEY).buffer),
      new Uint8Array(KEY).buffer,
      null,
      7,
      { key: KEY },
    ]
    for (const snapshotKey of bad) {
      assert.throws(
        () => new Tracker({ secret: SECRET, sweepInterval: 0, snapshotKey }),
        (error) => {
          assert.equal(error.code, 'INVALID_ARGUMENT', error.message)
          assert.match(error.message, /snapshotKey/)
          assertNoKey(error.message)
          assertNoKey(error.message, long)
          assertNoKey(util.inspect(error, { showHidden: true }))
          return true
        },
        util.inspect(snapshotKey),
      )
    }
    // The length is said, as the core says it.
    throwsCode(() => tracker({ snapshotKey: long }), 'INVALID_ARGUMENT', /32 bytes, not 33/)
  })

  test('a Buffer, a Uint8Array and a view into a larger buffer are the same key', (t) => {
    const dir = folder(t)
    const file = path.join(dir, 's.snap')
    const tr = tracker({ snapshotKey: KEY })
    const id = tr.start().id
    tr.saveSync(file)
    tr.close()
    const big = new Uint8Array(64)
    big.set(KEY, 16)
    for (const snapshotKey of [Buffer.from(KEY), new Uint8Array(KEY), big.subarray(16, 48)]) {
      const loaded = Tracker.load(file, { secret: SECRET, sweepInterval: 0, snapshotKey })
      assert.ok(loaded.exists(id))
      loaded.close()
    }
    // A view one byte off is another key.
    throwsCode(() => Tracker.load(file, { secret: SECRET, snapshotKey: big.subarray(15, 47) }), 'SNAPSHOT_ERROR', /key/)
  })

  test('never shows: not in errors, warnings, util.inspect or JSON of anything the package hands out', async (t) => {
    const dir = folder(t)
    const file = path.join(dir, 's.snap')
    const options = { secret: SECRET, sweepInterval: 0, snapshotKey: KEY }
    const texts = []
    const show = (value) => {
      texts.push(util.inspect(value, { showHidden: true, depth: Infinity, getters: true }))
      try {
        texts.push(JSON.stringify(value) ?? '')
      } catch (error) {
        texts.push(String(error))
      }
    }
    const tr = new Tracker(options)
    const session = tr.start({ userId: 'u1' })
    show(tr)
    show(session)
    show(tr.stats())
    show(tr.saveSync(file))
    show(await tr.save(file))
    show(Object.getOwnPropertyNames(tr))
    const loaded = Tracker.load(file, options)
    show(loaded)
    show(loaded.get(session.id))
    // Errors of every kind, with the key given.
    for (const f of [
      () => Tracker.load(path.join(dir, 'missing'), options),
      () => Tracker.load(file, { ...options, snapshotKey: OTHER_KEY }),
      () => tr.saveSync(path.join(dir, 'no', 'such')),
      () => new Tracker({ ...options, idleTimeout: -1 }),
      () => new Tracker({ ...options, snapshotKey: Buffer.concat([KEY, KEY]) }),
    ]) {
      try {
        f()
        assert.fail('no error')
      } catch (error) {
        show(error)
        texts.push(error.message, String(error.stack))
      }
    }
    await tr.save(path.join(dir, 'no', 'such')).catch((error) => {
      show(error)
      texts.push(error.message)
    })
    // A failing save of the tracker's own snapshot: a warning.
    const warnings = await catchWarnings(async () => {
      new Tracker({ ...options, snapshot: path.join(dir, 'no', 'such') }).close()
      await flush()
    })
    assert.equal(warnings.length, 1)
    for (const w of warnings) {
      show(w)
      texts.push(w.message)
    }
    tr.close()
    loaded.close()
    assert.ok(texts.length > 20)
    for (const text of texts) assertNoKey(text)
    // The search would find the key where it is: the check can fail.
    assert.throws(() => assertNoKey(util.inspect(KEY)))
    assert.throws(() => assertNoKey(JSON.stringify(KEY)))
    assert.throws(() => assertNoKey(JSON.stringify({ snapshotKey: KEY.toString('base64') })))
  })
})

describe('the tracker\'s own snapshot', () => {
  test('is saved by the driver every snapshotInterval milliseconds, without close()', async (t) => {
    const file = path.join(folder(t), 'own.snap')
    const tr = tracker({ snapshot: file, sweepInterval: 10, snapshotInterval: 50 })
    const id = tr.start({ userId: 'u1' }).id
    const deadline = Date.now() + 15_000
    while (!fs.existsSync(file)) {
      assert.ok(Date.now() < deadline, 'no save within 15 s')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const loaded = Tracker.load(file, { secret: SECRET, sweepInterval: 0 })
    assert.equal(loaded.get(id).userId, 'u1')
    loaded.close()
    tr.close()
  })

  test('with snapshotInterval 0 it is saved on close() alone', async (t) => {
    const file = path.join(folder(t), 'own.snap')
    const tr = tracker({ snapshot: file, sweepInterval: 5, snapshotInterval: 0 })
    tr.start()
    // Many sweeps of the driver, and no save.
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.ok(!fs.existsSync(file))
    tr.close()
    assert.ok(fs.existsSync(file))
  })

  test('a save that fails is warned of once (SOJOURN_SNAPSHOT_ERROR), naming the file', async (t) => {
    const file = path.join(folder(t), 'no-such-folder', 'own.snap')
    const warnings = await catchWarnings(async () => {
      const tr = tracker({ snapshot: file, sweepInterval: 5, snapshotInterval: 10 })
      tr.start()
      await new Promise((resolve) => setTimeout(resolve, 200))
      tr.close()
      await flush()
    })
    const codes = warnings.map((w) => w.code)
    assert.deepEqual(codes, ['SOJOURN_SNAPSHOT_ERROR'], warnings.map((w) => w.message).join('\n'))
    assert.equal(warnings[0].name, 'SojournWarning')
    assert.ok(warnings[0].message.includes(file), warnings[0].message)
  })

  test('snapshotInterval is a duration in milliseconds, refused as the others are', () => {
    throwsCode(() => tracker({ snapshotInterval: -1 }), 'INVALID_ARGUMENT', /snapshotInterval/)
    throwsCode(() => tracker({ snapshotInterval: 1.5 }), 'INVALID_ARGUMENT', /snapshotInterval/)
    throwsCode(() => tracker({ snapshotInterval: '60s' }), 'INVALID_ARGUMENT', /snapshotInterval/)
    throwsCode(() => tracker({ snapshotInterval: 1e13 }), 'INVALID_ARGUMENT', /snapshot_interval/)
    throwsCode(() => tracker({ snapshot: 7 }), 'INVALID_ARGUMENT', /snapshot/)
  })
})

describe('save leaves the event loop turning', () => {
  test('a setImmediate counter advances while `await save()` writes a large tracker, and not during saveSync', async (t) => {
    const dir = folder(t)
    const tr = tracker({ maxSessions: 200_000 })
    for (let i = 0; i < 100_000; i++) tr.start()
    let turns = 0
    let spinning = true
    const spin = () => {
      turns += 1
      if (spinning) setImmediate(spin)
    }
    spin()
    /** How many turns the event loop made while `f` ran and its result was awaited. */
    const turnsDuring = async (f) => {
      const before = turns
      const counts = await f()
      assert.deepEqual(counts, { live: 100_000, dormant: 0 })
      return turns - before
    }
    try {
      const during = await turnsDuring(() => tr.save(path.join(dir, 'async.snap')))
      // The measure can fail: a save on the main thread holds the event loop still.
      const sync = await turnsDuring(async () => tr.saveSync(path.join(dir, 'sync.snap')))
      assert.equal(sync, 0)
      assert.ok(during > 0, `the event loop made ${during} turns during save()`)
    } finally {
      spinning = false
    }
    // The tracker answered meanwhile too: calls made while a save runs.
    const saving = tr.save(path.join(dir, 'again.snap'))
    const id = tr.start().id
    tr.track(id, 'view')
    assert.equal((await saving).live >= 100_000, true)
    tr.close()
  })
})

// Runs `code` as an ES module in the package folder, so `sojourn` is this
// package; kills it after `timeout` ms.
function run(code, { args = [], timeout = 20_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...args, '--input-type=module', '-e', code], { cwd: PACKAGE })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr })
    })
  })
}

function assertClean(result, status = 0) {
  assert.equal(result.signal, null, `killed by ${result.signal}\n${result.stderr}`)
  assert.equal(result.status, status, result.stderr)
}

describe('at exit', () => {
  // A child makes a tracker with `snapshot` (a driver that would not save
  // for a minute), starts a session, ends one, and goes without close();
  // the parent loads the file and finds them.
  const child = (file, ending) => `
    import { Tracker } from 'sojourn'
    const tracker = new Tracker({ secret: '${SECRET}', snapshot: ${JSON.stringify(file)}, sweepInterval: 60_000, snapshotInterval: 60_000,
      onEnd: (end) => console.log('end', end.reason) })
    const session = tracker.start({ userId: 'u1', attrs: { page: '/pricing' } })
    tracker.track(session.id, 'view')
    tracker.end(tracker.start().id)
    console.log(session.id)
    ${ending}
  `

  for (const [name, ending, status] of [
    ['at the end of the script', '', 0],
    ['on process.exit()', 'process.exit(0)', 0],
    ['on an uncaught exception', "throw new Error('boom')", 1],
  ]) {
    test(`a child that exits without close() saves its snapshot ${name}`, async (t) => {
      const file = path.join(folder(t), 'child.snap')
      const result = await run(child(file, ending))
      assertClean(result, status)
      const [id, ...rest] = result.stdout.trim().split('\n')
      // Closed at exit as close() does: the pending end went to onEnd.
      assert.deepEqual(rest, ['end ended'])
      const loaded = Tracker.load(file, { secret: SECRET, sweepInterval: 0 })
      const session = loaded.get(id)
      assert.ok(session, `the session ${id} is in the snapshot`)
      assert.equal(session.userId, 'u1')
      assert.equal(session.viewSequence, 1)
      assert.deepEqual(session.attrs, { page: '/pricing' })
      assert.equal(loaded.stats().loaded, 2)
      assert.equal(loaded.stats().dormant, 1)
      loaded.close()
    })
  }

  test('a tracker closed before the exit is not closed again (the file is the one close() saved)', async (t) => {
    const file = path.join(folder(t), 'child.snap')
    const result = await run(child(file, `
      tracker.close()
      tracker.start()
      process.exit(0)
    `))
    assertClean(result)
    const loaded = Tracker.load(file, { secret: SECRET, sweepInterval: 0 })
    assert.equal(loaded.stats().live, 1)
    loaded.close()
  })

  test('a child that handles SIGTERM with process.exit() saves its snapshot when terminated', async (t) => {
    const file = path.join(folder(t), 'child.snap')
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `
        import { Tracker } from 'sojourn'
        const tracker = new Tracker({ secret: '${SECRET}', snapshot: ${JSON.stringify(file)}, sweepInterval: 60_000, snapshotInterval: 60_000 })
        process.on('SIGTERM', () => process.exit(0))
        console.log(tracker.start({ userId: 'u1' }).id)
        setInterval(() => {}, 1000)
      `],
      { cwd: PACKAGE, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const [id] = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim().split('\n'))))
    assert.ok(!fs.existsSync(file))
    child.kill('SIGTERM')
    const [status, signal] = await new Promise((resolve) => child.on('close', (...args) => resolve(args)))
    clearTimeout(killer)
    assert.deepEqual([status, signal], [0, null])
    const loaded = Tracker.load(file, { secret: SECRET, sweepInterval: 0 })
    assert.equal(loaded.get(id)?.userId, 'u1')
    loaded.close()
  })

  for (const [name, body] of [
    ['that ends', ''],
    ['that calls process.exit()', 'process.exit(0)'],
    ['that is terminated', 'setInterval(() => {}, 1000)'],
  ]) {
    test(`a tracker in a worker thread ${name} saves its snapshot`, async (t) => {
      const file = path.join(folder(t), 'worker.snap')
      const code = `
        const { parentPort } = require('node:worker_threads')
        const { Tracker } = require(${JSON.stringify(path.join(PACKAGE, 'sojourn.js'))})
        const tracker = new Tracker({ secret: '${SECRET}', snapshot: ${JSON.stringify(file)}, sweepInterval: 60_000, snapshotInterval: 60_000 })
        parentPort.postMessage(tracker.start({ userId: 'worker' }).id)
        ${body}
      `
      const worker = new Worker(code, { eval: true })
      const [id] = await new Promise((resolve, reject) => {
        worker.once('message', (message) => resolve([message]))
        worker.once('error', reject)
      })
      if (body.startsWith('setInterval')) await worker.terminate()
      else await new Promise((resolve) => worker.once('exit', resolve))
      const loaded = Tracker.load(file, { secret: SECRET, sweepInterval: 0 })
      assert.equal(loaded.get(id)?.userId, 'worker')
      loaded.close()
    })
  }
})

describe('snapshots and Redis', () => {
  test('a memory tracker\'s snapshot loads into Redis, and a Redis tracker\'s save loads into memory', async (t) => {
    const dir = folder(t)
    const clock = new MockClock(EPOCH)
    const memory = tracker({ clock })
    const a = memory.start({ userId: 'u1', attrs: { plan: 'pro' } })
    memory.track(a.id, 'view')
    const b = memory.start()
    memory.end(b.id)
    const first = path.join(dir, 'memory.snap')
    memory.saveSync(first)
    memory.close()

    const redis = await RedisTracker.connect({
      redisUrl: redisUrl(),
      keyPrefix: uniquePrefix('snapshot'),
      storeTimeout: TEST_TIMEOUT,
      secret: SECRET,
      sweepInterval: 0,
      clock,
      snapshotKey: KEY,
      load: first,
    }).catch((error) => error)
    // A tracker with a key refuses the plain file: the Redis one too.
    assert.equal(redis.code, 'SNAPSHOT_ERROR')

    const keyPrefix = uniquePrefix('snapshot')
    const onRedis = await RedisTracker.connect({
      redisUrl: redisUrl(),
      keyPrefix,
      storeTimeout: TEST_TIMEOUT,
      secret: SECRET,
      sweepInterval: 0,
      clock,
      load: first,
    })
    assert.equal((await onRedis.stats()).loaded, 2)
    const found = await onRedis.get(a.id)
    assert.equal(found.userId, 'u1')
    assert.deepEqual(found.attrs, { plan: 'pro' })
    assert.equal(found.viewSequence, 1)
    assert.equal((await onRedis.resume(b.token)).session.previousId, b.id)
    await onRedis.track(a.id, 'event')
    const second = path.join(dir, 'redis.snap')
    const saving = onRedis.save(second)
    assert.ok(saving instanceof Promise)
    assert.deepEqual(await saving, { live: 2, dormant: 1 })
    await assert.rejects(onRedis.save(path.join(dir, 'no', 'such')), { code: 'SNAPSHOT_ERROR' })
    await assert.rejects(onRedis.save(3), { code: 'INVALID_ARGUMENT' })
    await onRedis.close()

    const back = Tracker.load(second, { secret: SECRET, sweepInterval: 0, clock })
    assert.deepEqual(back.get(a.id).attrs, { plan: 'pro' })
    assert.equal(back.get(a.id).eventSequence, 1)
    assert.equal(back.stats().loaded, 3)
    back.close()
  })

  test('a Redis tracker\'s own snapshot is saved by await close()', async (t) => {
    const file = path.join(folder(t), 'own.snap')
    const options = { redisUrl: redisUrl(), storeTimeout: TEST_TIMEOUT, secret: SECRET, sweepInterval: 0, snapshot: file }
    const first = await RedisTracker.connect({ ...options, keyPrefix: uniquePrefix('snapshot-own') })
    const id = (await first.start({ userId: 'u1' })).id
    assert.ok(!fs.existsSync(file))
    await first.close()
    // The next one, under another prefix, loads it.
    const next = await RedisTracker.connect({ ...options, keyPrefix: uniquePrefix('snapshot-own') })
    assert.equal((await next.get(id))?.userId, 'u1')
    assert.equal((await next.stats()).loaded, 1)
    await next.close()
  })
})
