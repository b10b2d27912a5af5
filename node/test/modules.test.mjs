// The package loads both ways on Node 20: `import` (ES modules) and
// `require` (CommonJS), as one module with the same classes; so do its
// middlewares, `sojourn/express` and `sojourn/fastify`, which the main
// entry point does not load.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

import sojourn, { BROWSER_CLIENT, BROWSER_CLIENT_TYPE, MockClock, RedisTracker, Tracker, Web } from 'sojourn'
import sojournExpress from 'sojourn/express'
import sojournFastify from 'sojourn/fastify'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)

const node = (...args) => execFileSync(process.execPath, args, { cwd: PACKAGE, encoding: 'utf8' })

test('import: named and default exports', () => {
  assert.equal(typeof Tracker, 'function')
  assert.equal(typeof MockClock, 'function')
  assert.equal(typeof RedisTracker, 'function')
  assert.equal(typeof RedisTracker.connect, 'function')
  assert.equal(sojourn.Tracker, Tracker)
  assert.equal(sojourn.RedisTracker, RedisTracker)
  assert.equal(typeof Web, 'function')
  assert.equal(sojourn.Web, Web)
  assert.equal(typeof BROWSER_CLIENT, 'string')
  assert.equal(sojourn.BROWSER_CLIENT, BROWSER_CLIENT)
  assert.equal(sojourn.BROWSER_CLIENT_TYPE, BROWSER_CLIENT_TYPE)
  const tracker = new Tracker({ sweepInterval: 0, unsignedTokens: true })
  assert.equal(tracker.start().sessionIndex, 1)
  assert.equal(tracker.size, 1)
  tracker.close()
})

test('require: the same classes as import', () => {
  const cjs = require('sojourn')
  assert.equal(cjs.Tracker, Tracker)
  assert.equal(cjs.MockClock, MockClock)
  assert.equal(cjs.RedisTracker, RedisTracker)
  assert.equal(cjs.Web, Web)
  assert.equal(cjs.BROWSER_CLIENT, BROWSER_CLIENT)
  assert.equal(cjs.BROWSER_CLIENT_TYPE, BROWSER_CLIENT_TYPE)
  assert.deepEqual(
    Object.keys(cjs).sort(),
    ['BROWSER_CLIENT', 'BROWSER_CLIENT_TYPE', 'MockClock', 'RedisTracker', 'Tracker', 'Web', 'testing'],
  )
  assert.equal(cjs.testing, sojourn.testing)
})

test('a CommonJS script and an ES module script, each in its own process', () => {
  const cjs = `
    const { Tracker } = require('sojourn')
    const t = new Tracker({ sweepInterval: 0, secret: 'a secret of at least sixteen bytes' })
    console.log(t.track(t.start().id, 'view').sequence)
  `
  const esm = `
    import { Tracker } from 'sojourn'
    const t = new Tracker({ sweepInterval: 0, secret: 'a secret of at least sixteen bytes' })
    console.log(t.track(t.start().id, 'event').sequence)
  `
  assert.equal(node('-e', cjs), '1\n')
  assert.equal(node('--input-type=module', '-e', esm), '1\n')
})

test('only the entry point is exported; the generated loader is private', () => {
  assert.throws(() => require('sojourn/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
  assert.equal(require('sojourn/package.json').name, 'sojourn')
})

test('the middlewares: the same functions from import and require', () => {
  assert.equal(require('sojourn/express'), sojournExpress)
  assert.equal(require('sojourn/fastify'), sojournFastify)
  assert.equal(typeof sojournExpress, 'function')
  assert.equal(typeof sojournFastify, 'function')
  assert.throws(() => require('sojourn/web.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
})

test("require('sojourn') loads neither Express nor Fastify", () => {
  const script = `
    require('sojourn')
    const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\/](express|fastify|fastify-plugin)[\\/]/.test(f))
    console.log(JSON.stringify(loaded))
  `
  assert.equal(node('-e', script), '[]\n')
})
