// RedisTracker against the real Redis servers of scripts/with-redis, and a
// redis-server of the test's own: connecting and its options, every call a
// Promise of what Tracker returns, bad arguments rejected as Tracker
// throws them (nothing sent, nothing changed), sessions shared through
// Redis, ends delivered to onEnd, the event loop going on while Redis is
// paused, and an unreachable, silent or restarted Redis.

import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { describe, test } from 'node:test'

import { MockClock, RedisTracker, testing, Tracker } from 'sojourn'
import { TEST_TIMEOUT, freePort, ownRedis, redisCli, redisUrl, target, uniquePrefix } from './support/redis.mjs'
import { throwsCode } from './support/throws.mjs'
import { catchWarnings } from './support/warnings.mjs'

const SECRET = 'a secret of at least sixteen bytes'
const START = Date.parse('2026-01-01T00:00:00Z')
const UUID4 = '6f1c2a7e-9b3d-4c5e-8f10-2a3b4c5d6e7f'

/** A Redis tracker under a prefix of its own. */
function connect(options = {}, which = 'redis') {
  return RedisTracker.connect({
    ...target(which),
    keyPrefix: uniquePrefix('api'),
    storeTimeout: TEST_TIMEOUT,
    sweepInterval: 0,
    secret: SECRET,
    ...options,
  })
}

/** Checks that `promise` is a Promise that rejects with `code`, its message matching `pattern`; the error. */
async function rejectsCode(promise, code, pattern) {
  assert.ok(promise instanceof Promise, `not a Promise: ${promise}`)
  let error
  await assert.rejects(promise, (e) => {
    error = e
    assert.ok(e instanceof Error, `not an Error: ${e}`)
    assert.equal(e.code, code, `${e.code}: ${e.message}`)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
  return error
}

/** The shape of a value: its type, recursively, keys in their order. */
function shape(value) {
  if (value instanceof Date) return 'Date'
  if (value instanceof Error) return { Error: value.code }
  if (Array.isArray(value)) return value.map(shape)
  if (value === null) return 'null'
  if (typeof value === 'object') return Object.entries(value).map(([k, v]) => [k, shape(v)])
  return typeof value
}

describe('RedisTracker.connect', () => {
  test('bad options reject with INVALID_ARGUMENT naming them, before anything is connected', async () => {
    // Nothing listens on this port: an option checked after connecting
    // would give STORE_ERROR instead.
    const nowhere = `redis://127.0.0.1:${await freePort()}`
    const cases = [
      [undefined, /redisUrl/],
      [{}, /give redisUrl \(one Redis\) or redisCluster/],
      [{ unsignedTokens: true }, /give redisUrl/],
      [{ redisUrl: nowhere, redisCluster: [nowhere] }, /not both/],
      [{ redisUrl: 5 }, /redisUrl/],
      [{ redisUrl: null }, /redisUrl/],
      [{ redisCluster: nowhere }, /redisCluster/],
      [{ redisCluster: [nowhere, 7000] }, /redisCluster/],
      [{ redisCluster: [] }, /redis_cluster.*node/],
      [{ redisUrl: nowhere, keyPrefix: '' }, /key_prefix: must be 1 to 64 bytes/],
      [{ redisUrl: nowhere, keyPrefix: 'x'.repeat(65) }, /key_prefix/],
      [{ redisUrl: nowhere, keyPrefix: '{shop}' }, /key_prefix: must not hold braces/],
      [{ redisUrl: nowhere, keyPrefix: 'shop}' }, /key_prefix/],
      [{ redisUrl: nowhere, keyPrefix: 'shop\n' }, /key_prefix/],
      [{ redisUrl: nowhere, keyPrefix: 5 }, /keyPrefix/],
      [{ redisUrl: nowhere, keyPrefix: 'user-\ud800' }, /lone surrogate.*keyPrefix/],
      [{ redisUrl: nowhere, storeTimeout: 0 }, /store_timeout: must be at least 1 ms/],
      [{ redisUrl: nowhere, storeTimeout: -1 }, /storeTimeout/],
      [{ redisUrl: nowhere, storeTimeout: 2.5 }, /storeTimeout/],
      [{ redisUrl: nowhere, storeTimeout: '250' }, /storeTimeout/],
      [{ redisUrl: nowhere, storeTimeout: NaN }, /storeTimeout/],
      [{ redisUrl: nowhere, redisURL: nowhere }, /unknown option "redisURL"/],
      [{ redisUrl: nowhere, idleTimeout: 0 }, /idle_timeout/],
      [{ redisUrl: nowhere, secret: 'short' }, /secret/],
      [{ redisUrl: nowhere, onEnd: 'log' }, /onEnd/],
      [{ redisUrl: nowhere, faultSwitch: new testing.FaultSwitch() }, /store or redis, not both/],
      [null, /options/],
      [42, /options/],
      ['redis://127.0.0.1', /options/],
    ]
    for (const [options, pattern] of cases) {
      const started = Date.now()
      await rejectsCode(RedisTracker.connect(options), 'INVALID_ARGUMENT', pattern)
      assert.ok(Date.now() - started < 1000, `${JSON.stringify(options)}: took ${Date.now() - started} ms`)
    }
  })

  test('a memory Tracker refuses the Redis options, and says where they go', () => {
    for (const name of ['redisUrl', 'redisCluster', 'keyPrefix', 'storeTimeout']) {
      throwsCode(
        () => new Tracker({ unsignedTokens: true, [name]: 'x' }),
        'INVALID_ARGUMENT',
        new RegExp(`unknown option "${name}": .*RedisTracker\\.connect`),
      )
    }
  })

  test('a RedisTracker is made by connect alone', () => {
    for (const bad of [undefined, {}, { redisUrl: 'redis://127.0.0.1' }, new MockClock(0)]) {
      throwsCode(() => new RedisTracker(bad), 'INVALID_ARGUMENT', /await RedisTracker\.connect\(options\)/)
    }
  })

  test('an unreachable Redis rejects with STORE_ERROR naming it, at once', async () => {
    const port = await freePort()
    for (const options of [{ redisUrl: `redis://127.0.0.1:${port}` }, { redisCluster: [`redis://127.0.0.1:${port}`] }]) {
      const started = Date.now()
      await rejectsCode(RedisTracker.connect({ ...options, secret: SECRET }), 'STORE_ERROR', new RegExp(`127\\.0\\.0\\.1:${port}`))
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`)
    }
  })

  test('a Redis that does not answer rejects with STORE_ERROR within about storeTimeout', async () => {
    // A server that accepts connections and never answers.
    const sockets = new Set()
    const silent = net.createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    const { port } = silent.address()
    try {
      const started = Date.now()
      const connecting = RedisTracker.connect({ redisUrl: `redis://127.0.0.1:${port}`, storeTimeout: 300, secret: SECRET })
      await rejectsCode(connecting, 'STORE_ERROR', new RegExp(`127\\.0\\.0\\.1:${port}`))
      const ms = Date.now() - started
      assert.ok(ms >= 250 && ms < 2000, `rejected after ${ms} ms, with a 300 ms storeTimeout`)
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })
})

describe('RedisTracker calls', () => {
  test('every call returns a Promise of what Tracker returns, with the same fields in the same order', async () => {
    const clock = new MockClock(START)
    const memory = new Tracker({ clock, sweepInterval: 0, secret: SECRET })
    const redis = await connect({ clock })
    const calls = [
      ['start', () => [{ userId: 'u1', attrs: { page: '/', n: 1 } }]],
      ['start', () => []],
      ['get', (s) => [s.id]],
      ['peek', (s) => [s.id]],
      ['peek', () => [UUID4]],
      ['exists', (s) => [s.id]],
      ['track', (s) => [s.id, 'view']],
      ['trackMany', (s) => [[s.id, UUID4, s.id], 'event']],
      ['identify', (s) => [s.id, 'u2']],
      ['setAttrs', (s) => [s.id, { referrer: 'x' }]],
      ['revive', (s) => [s.id, { viewSequence: 5 }]],
      ['resume', (s) => [s.token]],
      ['resume', () => [undefined, { attrs: { page: '/new' } }]],
      ['sessions', () => []],
      ['sessions', () => ['u2']],
      ['count', () => []],
      ['count', () => ['u2']],
      ['reassignUser', () => ['u2', 'u3']],
      ['stats', () => []],
      ['end', (s) => [s.id]],
      ['end', (s) => [s.id]],
      ['endUser', () => ['u3']],
      ['forgetUser', () => ['u3']],
      ['endAll', () => []],
      ['sweep', () => []],
      ['stats', () => []],
    ]
    const first = { memory: memory.start({ userId: 'u1' }), redis: await redis.start({ userId: 'u1' }) }
    for (const [name, args] of calls) {
      const expected = memory[name](...args(first.memory))
      const pending = redis[name](...args(first.redis))
      assert.ok(pending instanceof Promise, `${name}: not a Promise`)
      const got = await pending
      // The live sessions come in no particular order.
      const sorted = (v) => (name === 'sessions' ? shape(v).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) : shape(v))
      assert.deepEqual(sorted(got), sorted(expected), `${name}: ${JSON.stringify(got)}`)
    }
    // The token needs no Redis: at once, as Tracker's.
    assert.equal(typeof redis.token(first.redis.id), 'string')
    assert.equal(redis.token(first.redis.id), first.redis.token)
    assert.ok((await redis.close()) === 0 && memory.close() === 0)
  })

  test('a bad argument rejects with the error Tracker throws, nothing sent and nothing changed', async () => {
    const clock = new MockClock(START)
    const memory = new Tracker({ clock, sweepInterval: 0, secret: SECRET })
    const redis = await connect({ clock })
    const m = memory.start()
    const r = await redis.start()
    const before = { session: await redis.peek(r.id), stats: await redis.stats() }
    const calls = [
      ['track', (id) => ['nope', 'view']],
      ['track', (id) => [id, 'click']],
      ['track', (id) => [42, 'view']],
      ['track', (id) => [id]],
      ['trackMany', (id) => [id, 'view']],
      ['trackMany', (id) => [[id, 'not-a-uuid'], 'view']],
      ['trackMany', (id) => [[id, 42], 'event']],
      ['trackMany', (id) => [[id], 'click']],
      ['get', () => [`{${UUID4}}`]],
      ['peek', (id) => [5]],
      ['exists', (id) => [null]],
      ['start', (id) => [42]],
      ['start', (id) => [{ userId: 5 }]],
      ['start', (id) => [{ attrs: { nested: { a: 1 } } }]],
      ['identify', (id) => [id, '']],
      ['identify', (id) => [id, 'x'.repeat(257)]],
      ['identify', (id) => [id, 'user-\ud800']],
      ['setAttrs', (id) => [id, [1, 2]]],
      ['setAttrs', (id) => [id, { big: 1n }]],
      ['setAttrs', (id) => [id, { blob: 'x'.repeat(5000) }]],
      ['revive', (id) => ['bad']],
      ['revive', (id) => [id, { viewSequence: -1 }]],
      ['resume', (id) => [undefined, { eventSequence: 1.5 }]],
      ['resume', (id) => [42]],
      ['end', (id) => ['bad']],
      ['sessions', (id) => [5]],
      ['count', (id) => [{}]],
      ['endUser', (id) => [undefined]],
      ['forgetUser', (id) => [5]],
      ['reassignUser', (id) => ['a', 5]],
    ]
    for (const [name, args] of calls) {
      let thrown
      try {
        memory[name](...args(m.id))
      } catch (error) {
        thrown = error
      }
      assert.ok(thrown instanceof Error, `${name}(${args('id')}): Tracker did not throw`)
      const error = await rejectsCode(redis[name](...args(r.id)), thrown.code)
      assert.equal(error.message, thrown.message, name)
    }
    assert.deepEqual({ session: await redis.peek(r.id), stats: await redis.stats() }, before, 'nothing changed')
    // The token needs no Redis: it throws at once, as Tracker's.
    throwsCode(() => redis.token('bad'), 'INVALID_SESSION_ID')
    await redis.close()
    memory.close()
  })

  test('a session is shared by the trackers of one Redis and prefix, and by no other', async () => {
    for (const which of ['redis', 'cluster']) {
      const keyPrefix = uniquePrefix('shared')
      const a = await connect({ keyPrefix }, which)
      const b = await connect({ keyPrefix }, which)
      const other = await connect({}, which)
      const s = await a.start({ userId: 'u1' })
      assert.deepEqual(await b.track(s.id, 'view'), { viewSequence: 1, eventSequence: 0, sequence: 1 })
      assert.equal((await a.track(s.id, 'view')).viewSequence, 2)
      assert.equal((await b.resume(s.token)).outcome, 'existing')
      assert.equal(await b.count('u1'), 1)
      assert.equal(await other.get(s.id), null)
      assert.equal(await other.count(), 0)
      assert.equal((await b.end(s.id)).session.viewSequence, 2)
      assert.equal(await a.exists(s.id), false)
      await Promise.all([a.close(), b.close(), other.close()])
    }
  })

  test("the ends of calls and of the driver's sweeps reach onEnd on the main thread, once each", async () => {
    const ends = []
    const t = await connect({ idleTimeout: 300, sweepInterval: 20, onEnd: (end) => ends.push(end) })
    const ended = await t.start()
    const idle = await t.start()
    await t.track(idle.id, 'view')
    await t.end(ended.id)
    const deadline = Date.now() + 10_000
    while (ends.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.deepEqual(
      ends.map((end) => [end.session.id, end.reason, end.session.viewSequence]),
      [
        [ended.id, 'ended', 0],
        [idle.id, 'idle', 1],
      ],
    )
    assert.equal(await t.close(), 0)
    assert.equal(ends.length, 2, 'each once')
  })

  test('the event loop goes on while a call waits on a paused Redis', async () => {
    const t = await connect()
    const s = await t.start()
    let ticks = 0
    const interval = setInterval(() => (ticks += 1), 10)
    try {
      // Every client of the Redis waits 300 ms for its next command.
      assert.equal(await redisCli('-u', redisUrl(), 'CLIENT', 'PAUSE', '300', 'ALL'), 'OK')
      const started = Date.now()
      const tick = await t.track(s.id, 'view')
      const ms = Date.now() - started
      assert.equal(tick.viewSequence, 1)
      assert.ok(ms >= 150, `the call did not wait for the pause: ${ms} ms`)
      // A blocked event loop would not have ticked at all.
      assert.ok(ticks >= 8, `${ticks} ticks in ${ms} ms`)
    } finally {
      clearInterval(interval)
      await t.close()
    }
  })

  test('a call that Redis does not answer within storeTimeout rejects with STORE_ERROR then, and the next goes through', async () => {
    // A Redis of the test's own, so that pausing it slows no other test.
    const port = await freePort()
    const server = await ownRedis(port)
    const t = await RedisTracker.connect({ redisUrl: server.url, storeTimeout: 300, sweepInterval: 0, secret: SECRET })
    let ticks = 0
    const interval = setInterval(() => (ticks += 1), 10)
    try {
      const s = await t.start()
      await redisCli('-u', server.url, 'CLIENT', 'PAUSE', '1500', 'ALL')
      const started = Date.now()
      await rejectsCode(t.track(s.id, 'view'), 'STORE_ERROR', new RegExp(`127\\.0\\.0\\.1:${port}`))
      const ms = Date.now() - started
      assert.ok(ms >= 250 && ms < 1200, `rejected after ${ms} ms, with a 300 ms storeTimeout`)
      assert.ok(ticks >= 10, `${ticks} ticks in ${ms} ms`)
      await redisCli('-u', server.url, 'CLIENT', 'UNPAUSE')
      // What timed out may have been applied (docs/redis.md): the count is
      // 1 or 2, never lost.
      const tick = await t.track(s.id, 'view')
      assert.ok([1, 2].includes(tick.viewSequence), `${tick.viewSequence}`)
    } finally {
      clearInterval(interval)
      await t.close()
      await server.stop()
    }
  })

  test('a Redis that goes away: STORE_ERROR naming it, a failing sweep warned of once, and the tracker goes on when it is back', async () => {
    const port = await freePort()
    const address = new RegExp(`127\\.0\\.0\\.1:${port}`)
    let server = await ownRedis(port)
    const t = await RedisTracker.connect({ redisUrl: server.url, storeTimeout: 500, sweepInterval: 0, secret: SECRET })
    try {
      const s = await t.start()
      await t.track(s.id, 'view')
      await server.stop()

      const started = Date.now()
      await rejectsCode(t.track(s.id, 'view'), 'STORE_ERROR', address)
      await rejectsCode(t.start(), 'STORE_ERROR', address)
      assert.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`)
      const warnings = await catchWarnings(async () => {
        await rejectsCode(t.sweep(), 'STORE_ERROR', address)
        await rejectsCode(t.sweep(), 'STORE_ERROR', address)
        await new Promise((resolve) => setImmediate(resolve))
      })
      assert.deepEqual(
        warnings.map((w) => w.code),
        ['SOJOURN_STORE_ERROR'],
      )
      assert.match(warnings[0].message, address)

      // Back, empty (it kept nothing): the tracker reconnects by itself.
      server = await ownRedis(port)
      let fresh
      const deadline = Date.now() + 10_000
      while (fresh === undefined) {
        try {
          fresh = await t.start()
        } catch (error) {
          assert.equal(error.code, 'STORE_ERROR')
          assert.ok(Date.now() < deadline, 'no reconnection')
        }
      }
      assert.equal((await t.track(fresh.id, 'view')).viewSequence, 1)
      assert.equal(await t.get(s.id), null, 'a Redis without persistence lost its sessions')
      assert.equal(await t.sweep(), 0)
    } finally {
      await t.close()
      await server.stop()
    }
  })
})
