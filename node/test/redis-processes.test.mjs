// RedisTracker across OS processes and worker threads, on the real Redis
// of scripts/with-redis: four processes tracking the same sessions at once
// count every view exactly once and report every end exactly once between
// them; and nothing of a tracker keeps a process or a worker thread alive
// once it is closed (nor, as with Tracker, before).

import assert from 'node:assert/strict'
import { fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'

import { RedisTracker } from 'sojourn'
import { freePort, ownRedis, redisCli, redisUrl, uniquePrefix } from './support/redis.mjs'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const WORKER = fileURLToPath(new URL('./support/redis-worker.mjs', import.meta.url))
const SECRET = 'a secret of at least sixteen bytes'

describe('four processes on one Redis', () => {
  test('count every view once and report every end once between them', async (t) => {
    const SESSIONS = 1000
    const IDLE = 1500
    const keyPrefix = uniquePrefix('processes')
    const children = Array.from({ length: 4 }, () => fork(WORKER, [keyPrefix, String(IDLE)], { cwd: PACKAGE, stdio: 'inherit' }))
    const ends = []
    const ticks = []
    const closed = []
    const messages = children.map((child) => {
      const ready = new Promise((resolve) => {
        child.on('message', (message) => {
          if (message === 'ready') resolve()
          else if (message.end) ends.push(message.end)
          else if (message.ticks) ticks.push(message.ticks)
          else if (message.closed) closed.push(message.closed)
        })
      })
      return ready
    })
    const exits = children.map((child) => once(child, 'exit'))
    try {
      await Promise.all(messages)
      // Started here, after every child is ready, so that they are all
      // tracked well within the idle timeout; no ends kept here.
      const starter = await RedisTracker.connect({ redisUrl: redisUrl(), keyPrefix, idleTimeout: IDLE, sweepInterval: 0, secret: SECRET })
      const ids = (await Promise.all(Array.from({ length: SESSIONS }, () => starter.start()))).map((s) => s.id)
      await starter.close()
      const started = Date.now()
      children.forEach((child, index) => child.send({ ids, index }))

      // Every end, then a while longer for any end reported twice.
      const deadline = Date.now() + 30_000
      while (ends.length < SESSIONS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      await new Promise((resolve) => setTimeout(resolve, 500))
      t.diagnostic(`${ends.length} ends within ${Date.now() - started} ms of the first track`)
      for (const child of children) child.send('close')
      const codes = await Promise.all(exits)
      assert.deepEqual(
        codes.map(([code]) => code),
        [0, 0, 0, 0],
      )

      // Each session's views were counted 1 to 8, each once, across the
      // four processes: no tick lost, none seen twice.
      assert.equal(ticks.length, 4)
      const seen = new Map(ids.map((id) => [id, []]))
      for (const [id, sequence] of ticks.flat()) seen.get(id).push(sequence)
      for (const [id, sequences] of seen) {
        assert.deepEqual(
          sequences.sort((a, b) => a - b),
          [1, 2, 3, 4, 5, 6, 7, 8],
          id,
        )
      }
      // Every departure reported once, by one process, with every view.
      assert.equal(ends.length, SESSIONS, 'as many ends as sessions')
      assert.deepEqual(new Set(ends.map(([id]) => id)), new Set(ids))
      assert.deepEqual(new Set(ends.map(([, reason, views]) => `${reason} ${views}`)), new Set(['idle 8']))
      // And each process counted its own tracks and ends.
      assert.equal(closed.length, 4)
      const sum = (f) => closed.reduce((total, c) => total + f(c), 0)
      assert.equal(sum((c) => c.stats.views), 8 * SESSIONS)
      assert.equal(sum((c) => c.stats.ended.idle), SESSIONS)
      assert.equal(sum((c) => c.dropped), 0)
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})

// Runs `code` as an ES module in the package folder, so that `sojourn` is
// this package; kills it after `timeout` ms.
function run(code, { timeout = 20_000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: PACKAGE })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started })
    })
  })
}

function assertClean(result) {
  assert.equal(result.signal, null, `killed by ${result.signal} after ${result.ms} ms\n${result.stderr}`)
  assert.equal(result.status, 0, result.stderr)
}

describe('a RedisTracker and its process', () => {
  test('a script that connects, tracks and closes exits by itself, its ends delivered first', async () => {
    // A minute between sweeps: a process held by the driver, by onEnd or
    // by a connection would be killed by the timeout instead of exiting.
    const result = await run(`
      import { RedisTracker } from 'sojourn'
      const tracker = await RedisTracker.connect({
        redisUrl: process.env.SOJOURN_REDIS_URL, keyPrefix: '${uniquePrefix('exit')}', secret: '${SECRET}',
        sweepInterval: 60_000, onEnd: (end) => console.log('end', end.reason, end.session.viewSequence),
      })
      for (let i = 0; i < 3; i++) {
        const session = await tracker.start()
        await tracker.track(session.id, 'view')
        await tracker.end(session.id)
      }
      console.log('closed', await tracker.close())
    `)
    assertClean(result)
    assert.equal(result.stdout, 'end ended 1\n'.repeat(3) + 'closed 0\n')
    assert.ok(result.ms < 10_000, `took ${result.ms} ms`)
  })

  test('a script that connects and returns without close() exits by itself too', async () => {
    const result = await run(`
      import { RedisTracker } from 'sojourn'
      const tracker = await RedisTracker.connect({
        redisUrl: process.env.SOJOURN_REDIS_URL, keyPrefix: '${uniquePrefix('exit')}', secret: '${SECRET}',
        sweepInterval: 5, onEnd: () => {},
      })
      const session = await tracker.start()
      await tracker.track(session.id, 'view')
      console.log('done')
    `)
    assertClean(result)
    assert.equal(result.stdout, 'done\n')
  })

  test('in worker threads: connect, track and close, and the workers and the process exit', async () => {
    const result = await run(`
      import { Worker } from 'node:worker_threads'
      import { createRequire } from 'node:module'
      const entry = createRequire(import.meta.url).resolve('sojourn')
      const code = \`
        const { parentPort, workerData } = require('node:worker_threads')
        const { RedisTracker } = require(\${JSON.stringify(entry)})
        ;(async () => {
          const ends = []
          const tracker = await RedisTracker.connect({
            redisUrl: process.env.SOJOURN_REDIS_URL, keyPrefix: workerData, secret: '${SECRET}',
            sweepInterval: 10, onEnd: (end) => ends.push(end.reason),
          })
          const session = await tracker.start()
          const tick = await tracker.track(session.id, 'view')
          await tracker.end(session.id)
          await tracker.close()
          parentPort.postMessage({ sequence: tick.sequence, ends })
        })()
      \`
      const prefix = '${uniquePrefix('worker')}'
      const results = await Promise.all([1, 2, 3].map(() => new Promise((resolve, reject) => {
        const worker = new Worker(code, { eval: true, execArgv: [], workerData: prefix })
        let message
        worker.on('message', (m) => (message = m))
        worker.on('error', reject)
        worker.on('exit', (code) => resolve({ code, message }))
      })))
      console.log(JSON.stringify(results))
    `)
    assertClean(result)
    assert.deepEqual(JSON.parse(result.stdout), [1, 2, 3].map(() => ({ code: 0, message: { sequence: 1, ends: ['ended'] } })))
  })

  test('a worker terminated while its call waits on a paused Redis leaves the process clean', async () => {
    // A Redis of the test's own, so that pausing it slows no other test.
    const server = await ownRedis(await freePort())
    try {
      const result = await run(`
        import { Worker } from 'node:worker_threads'
        import { execFileSync } from 'node:child_process'
        import { createRequire } from 'node:module'
        const entry = createRequire(import.meta.url).resolve('sojourn')
        const code = \`
          const { parentPort } = require('node:worker_threads')
          const { RedisTracker } = require(\${JSON.stringify(entry)})
          ;(async () => {
            const tracker = await RedisTracker.connect({
              redisUrl: '${server.url}', secret: '${SECRET}', storeTimeout: 2000, sweepInterval: 10, onEnd: () => {},
            })
            const session = await tracker.start()
            parentPort.postMessage('paused?')
            await new Promise((resolve) => parentPort.once('message', resolve))
            tracker.track(session.id, 'view').then(() => parentPort.postMessage('answered'))
            parentPort.postMessage('waiting')
          })()
        \`
        const worker = new Worker(code, { eval: true, execArgv: [] })
        worker.on('message', async (m) => {
          if (m === 'paused?') {
            execFileSync('redis-cli', ['-u', '${server.url}', 'CLIENT', 'PAUSE', '1000', 'ALL'])
            worker.postMessage('go')
          } else if (m === 'waiting') {
            console.log('exit', await worker.terminate())
          } else {
            console.log(m)
          }
        })
      `)
      assertClean(result)
      assert.equal(result.stdout, 'exit 1\n')
    } finally {
      await server.stop()
    }
  })
})
