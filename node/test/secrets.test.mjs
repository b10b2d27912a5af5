// Secrets never leak (issue #14): no token secret, snapshot key or Redis
// password in `util.inspect`, `console.log`, `JSON.stringify` of a tracker
// or what it hands out, in an error's message, stack, cause or own
// properties, or in a warning given to `process.emitWarning`. Each secret
// is a distinctive value, looked for as text, hex, base64 and as the list
// of its bytes; a test fails if one shows.
//
// The Redis part starts a redis-server of its own, with `requirepass`, on
// a free port.

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { Console } from 'node:console'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { describe, test } from 'node:test'
import util from 'node:util'

import { RedisTracker, Tracker } from 'sojourn'
import { catchWarnings } from './support/warnings.mjs'

const SECRET = 'Zq7-TOKEN-SECRET-xK2pL9-first'
const OLD_SECRET = 'Wv3-TOKEN-SECRET-mR8nQ4-older'
const SHORT_SECRET = 'Jx5-SHORT-sec'
const KEY = Buffer.from('K9f-SNAPSHOT-KEY-tH4wB7-32bytes!')
const OTHER_KEY = Buffer.from('P2d-SNAPSHOT-KEY-oZ6yC1-32bytes?')
const PASSWORD = 'Rn4-REDIS-PASSWORD-vE8sJ3'
const WRONG_PASSWORD = 'Gy6-WRONG-PASSWORD-aU1kT5'

/** Every form in which `secret` could show. */
function forms(secret) {
  const bytes = Buffer.from(secret)
  const found = [
    bytes.toString('latin1'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    // util.inspect of a Buffer (hex pairs) and of a Uint8Array or array.
    [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' '),
    // Looked for in the text without its white space (inspect pads and wraps arrays).
    [...bytes.subarray(0, 8)].join(','),
  ]
  if (bytes.length > 16) found.push(bytes.subarray(4, 16).toString('latin1'))
  return found
}

const ALL_FORMS = [SECRET, OLD_SECRET, SHORT_SECRET, KEY, OTHER_KEY, PASSWORD, WRONG_PASSWORD].flatMap(forms)

function assertClean(what, text) {
  const squeezed = String(text).replace(/\s+/g, '')
  for (const form of ALL_FORMS) {
    assert.ok(!String(text).includes(form) && !squeezed.includes(form), `${what} shows a secret (${form}): ${text}`)
  }
}

/** Every way an object is commonly shown: inspect (deep, hidden too), console.log, JSON. */
function shown(value) {
  const out = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      out.push(chunk.toString())
      done()
    },
  })
  const log = new Console({ stdout: sink, stderr: sink })
  log.log(value)
  log.log('%o', value)
  log.dir(value, { depth: null, showHidden: true })
  let json
  try {
    json = JSON.stringify(value)
  } catch (err) {
    json = String(err)
  }
  return [
    util.inspect(value),
    util.inspect(value, { depth: null, showHidden: true, getters: true }),
    util.format('%s %j', value, value),
    String(json),
    out.join(''),
  ].join('\n')
}

/** An error's message, stack, code, own properties and its causes. */
function assertCleanError(what, err) {
  assert.ok(err instanceof Error, `${what}: ${err}`)
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 10; e = e.cause, depth++) {
    assertClean(what, e.message)
    assertClean(what, e.stack)
    assertClean(what, shown(e))
    for (const name of Object.getOwnPropertyNames(e)) assertClean(`${what}.${name}`, util.inspect(e[name]))
  }
}

function thrown(f) {
  try {
    f()
  } catch (err) {
    return err
  }
  assert.fail('did not throw')
}

async function rejected(promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  assert.fail('did not reject')
}

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sojourn-secrets-'))
}

describe('secrets never show', () => {
  test('the check finds each form', () => {
    for (const form of forms(SECRET)) assert.throws(() => assertClean('probe', `<${form}>`))
    assert.throws(() => assertClean('probe', util.inspect(KEY)))
    assert.throws(() => assertClean('probe', util.inspect(new Uint8Array(KEY))))
  })

  test('a keyed tracker, its sessions, stats, ends and snapshot', async () => {
    const dir = tempDir()
    const ends = []
    const options = { secrets: [SECRET, OLD_SECRET], snapshotKey: KEY, sweepInterval: 0, onEnd: (e) => ends.push(e) }
    const warnings = await catchWarnings(async () => {
      const tracker = new Tracker({ ...options, snapshot: path.join(dir, 'own.snap') })
      const session = tracker.start({ userId: 'user-1', attrs: { plan: 'pro' } })
      const tick = tracker.track(session.id, 'view')
      const { session: again } = tracker.resume(session.token)
      for (const value of [tracker, session, tick, again, tracker.stats(), await tracker.save(path.join(dir, 'a.snap'))]) {
        assertClean('shown', shown(value))
      }
      assertClean('token', session.token)
      assertClean('prototype', shown(Object.getPrototypeOf(tracker)))
      assertClean('keys', util.inspect(Reflect.ownKeys(tracker)))
      tracker.end(session.id)
      tracker.close()
      assertClean('closed tracker', shown(tracker))
      // The options object is the caller's: the tracker does not keep a copy to show.
      assertClean('tracker', util.inspect(tracker, { showHidden: true, depth: null }))
    })
    assertClean('ends', shown(ends))
    for (const w of warnings) assertCleanError('warning', w)
    for (const name of ['own.snap', 'a.snap']) assertClean(name, fs.readFileSync(path.join(dir, name)).toString('latin1'))
    fs.rmSync(dir, { recursive: true, force: true })
  })

  test('errors for bad secrets and snapshot keys show neither', async () => {
    const bad = [
      { secret: SHORT_SECRET },
      { secret: Buffer.from(SHORT_SECRET) },
      { secret: Buffer.from(SECRET) },
      { secret: [SECRET] },
      { secrets: [SECRET, SHORT_SECRET] },
      { secrets: SECRET },
      { secrets: [SECRET, 12345] },
      { secrets: [SECRET, Buffer.from(OLD_SECRET)] },
      { secret: SECRET, secrets: [OLD_SECRET] },
      { secret: SECRET, unsignedTokens: true },
      { secret: SECRET, maxSessions: 0 },
      { secret: SECRET + '\ud800' },
      { secret: SECRET, snapshotKey: KEY.subarray(0, 31) },
      { secret: SECRET, snapshotKey: Buffer.concat([KEY, Buffer.from('!')]) },
      { secret: SECRET, snapshotKey: KEY.toString('latin1') },
      { secret: SECRET, snapshotKey: KEY.toString('hex') },
      { secret: SECRET, snapshotKey: KEY.toString('base64') },
      { secret: SECRET, snapshotKey: [...KEY] },
      { secret: SECRET, snapshotKey: new Uint16Array(KEY.buffer, KEY.byteOffset, 16) },
      { secret: SECRET, snapshotKey: KEY.buffer.slice(KEY.byteOffset, KEY.byteOffset + 32) },
      { secret: SECRET, snapshotKey: new DataView(KEY.buffer, KEY.byteOffset, 32) },
      // A misspelt option: its name is shown, never its value.
      { secert: SECRET },
      { snapshotkey: KEY },
    ]
    const warnings = await catchWarnings(async () => {
      for (const options of bad) {
        assertCleanError(`new Tracker(${Object.keys(options)})`, thrown(() => new Tracker({ sweepInterval: 0, ...options })))
        assertCleanError(
          `RedisTracker.connect(${Object.keys(options)})`,
          await rejected(RedisTracker.connect({ redisUrl: `redis://:${PASSWORD}@127.0.0.1:1`, ...options })),
        )
      }
    })
    for (const w of warnings) assertCleanError('warning', w)
  })

  test('snapshot errors show no key', async () => {
    const dir = tempDir()
    const keyed = path.join(dir, 'keyed.snap')
    const plain = path.join(dir, 'plain.snap')
    const a = new Tracker({ secret: SECRET, snapshotKey: KEY, sweepInterval: 0 })
    a.start({ userId: 'user-1' })
    a.saveSync(keyed)
    a.close()
    const b = new Tracker({ secret: SECRET, sweepInterval: 0 })
    b.start()
    b.saveSync(plain)
    b.close()
    const altered = path.join(dir, 'altered.snap')
    const data = fs.readFileSync(keyed)
    data[data.length - 20] ^= 0x55
    fs.writeFileSync(altered, data)
    for (const [file, snapshotKey] of [[keyed, OTHER_KEY], [keyed, undefined], [plain, KEY], [altered, KEY]]) {
      const err = thrown(() => Tracker.load(file, { secret: SECRET, snapshotKey, sweepInterval: 0 }))
      assert.equal(err.code, 'SNAPSHOT_ERROR')
      assertCleanError('snapshot error', err)
    }
    const warnings = await catchWarnings(async () => {
      const own = new Tracker({ secret: SECRET, snapshotKey: KEY, sweepInterval: 0, snapshot: path.join(dir, 'no', 'dir', 'own.snap') })
      own.start()
      own.close()
      await new Promise((resolve) => setImmediate(resolve))
    })
    assert.ok(warnings.length > 0, 'the failed save warns')
    for (const w of warnings) assertCleanError('warning', w)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  test('Redis errors and warnings show no password', async (t) => {
    const server = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim()
    assert.ok(server, 'redis-server (Debian: apt-get install redis-server)')
    const port = await new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address()
        s.close(() => resolve(port))
      })
    })
    const redis = spawn(server, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD], { stdio: 'ignore' })
    t.after(() => redis.kill('SIGKILL'))
    for (let i = 0; ; i++) {
      const up = await new Promise((resolve) => {
        const c = net.connect(port, '127.0.0.1', () => c.end(() => resolve(true))).on('error', () => resolve(false))
      })
      if (up) break
      assert.ok(i < 500, 'redis-server did not start')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const keyPrefix = `secrets-${port}`
    const refused = [
      { redisUrl: `redis://:${WRONG_PASSWORD}@127.0.0.1:${port}` },
      { redisUrl: `redis://default:${WRONG_PASSWORD}@127.0.0.1:${port}/0` },
      { redisUrl: `redis://:${PASSWORD}@127.0.0.1:1` },
      { redisUrl: `redis://:${PASSWORD}@127.0.0.1:${port}/not-a-db` },
      { redisUrl: `redis://:${PASSWORD}/x@127.0.0.1:${port}` },
      { redisUrl: PASSWORD },
      { redisUrl: Buffer.from(PASSWORD) },
      { redisCluster: [`redis://:${PASSWORD}@127.0.0.1:1`, `redis://:${PASSWORD}@127.0.0.1:2`] },
      { redisCluster: [`redis://:${PASSWORD}@127.0.0.1:1`, `redis://:${WRONG_PASSWORD}@127.0.0.1:2`] },
      { redisCluster: [`redis://:${PASSWORD}/x@127.0.0.1:1`] },
      { redisCluster: `redis://:${PASSWORD}@127.0.0.1:1` },
      { redisUrl: `redis://:${PASSWORD}@127.0.0.1:${port}`, redisCluster: [`redis://:${PASSWORD}@h:1`] },
    ]
    const warnings = await catchWarnings(async () => {
      for (const options of refused) {
        const err = await rejected(RedisTracker.connect({ secret: SECRET, keyPrefix, storeTimeout: 200, sweepInterval: 0, ...options }))
        assertCleanError(`connect(${util.inspect(Object.keys(options))})`, err)
      }
      const tracker = await RedisTracker.connect({
        secret: SECRET,
        redisUrl: `redis://:${PASSWORD}@127.0.0.1:${port}/0`,
        keyPrefix,
        storeTimeout: 200,
        sweepInterval: 10,
      })
      assertClean('tracker', shown(tracker))
      const session = await tracker.start({ userId: 'user-1' })
      assertClean('session', shown(session))
      redis.kill('SIGKILL')
      await new Promise((resolve) => redis.once('exit', resolve))
      assertCleanError('track', await rejected(tracker.track(session.id, 'view')))
      assertCleanError('sweep', await rejected(tracker.sweep()))
      await new Promise((resolve) => setTimeout(resolve, 100))
      assertCleanError('exists', await rejected(tracker.exists(session.id)))
      await tracker.close()
      await new Promise((resolve) => setImmediate(resolve))
    })
    assert.ok(warnings.length > 0, 'the failed sweeps warn')
    for (const w of warnings) assertCleanError('warning', w)
  })
})
