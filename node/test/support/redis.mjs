// The real Redis servers that scripts/with-redis starts for the tests
// (`make node-test` runs them under it): one redis-server
// (SOJOURN_REDIS_URL) and a three-master Redis Cluster (SOJOURN_REDIS_CLUSTER,
// its nodes' URLs joined by commas). A test that finds neither fails,
// saying so: it never skips.

import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { promisify } from 'node:util'

function env(name) {
  const value = process.env[name]
  assert.ok(value, `${name} is not set: run the tests through scripts/with-redis (make node-test does)`)
  return value
}

/** The URL of the standalone Redis. */
export const redisUrl = () => env('SOJOURN_REDIS_URL')

/** The URLs of the Cluster's nodes. */
export const redisCluster = () => env('SOJOURN_REDIS_CLUSTER').split(',')

/** Where a tracker's sessions are, as options of `RedisTracker.connect`. */
export function target(which) {
  return which === 'cluster' ? { redisCluster: redisCluster() } : { redisUrl: redisUrl() }
}

let next = 0
/**
 * A key prefix that no other tracker of this run has: each tracker under
 * its own starts from nothing, as a process's memory would.
 */
export function uniquePrefix(name) {
  next += 1
  return `node-${name}-${process.pid}-${next}-${Math.random().toString(36).slice(2, 8)}`
}

/** The generous timeout of the tests' trackers: a loaded 2-core machine is slow. */
export const TEST_TIMEOUT = 2000

/** `redis-cli` with these arguments; its output. */
export async function redisCli(...args) {
  const { stdout } = await promisify(execFile)('redis-cli', args, { encoding: 'utf8' })
  return stdout.trim()
}

/** A TCP port that nothing listens on (just now). */
export async function freePort() {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  await once(server, 'close')
  return port
}

/**
 * A redis-server of the test's own, on `port`, without persistence: for
 * tests that kill it and start it again. `stop()` kills it (SIGKILL) and
 * waits for its exit.
 */
export async function ownRedis(port) {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  const exited = once(child, 'exit')
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      if ((await redisCli('-p', String(port), 'ping')) === 'PONG') break
    } catch {}
    assert.ok(Date.now() < deadline, `redis-server on port ${port} did not start`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}
