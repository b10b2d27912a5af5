// The Fastify plugin (`sojourn/fastify`) with real Fastify 5 servers on
// loopback ports: every framework's tests (support/web-suite.mjs), and
// Fastify's own cases: a plugin seen by every route (fastify-plugin), the
// collect endpoint answered before Fastify parses a body, its options
// checked when it is registered.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import Fastify from 'fastify'
import { Tracker } from 'sojourn'
import sojourn from 'sojourn/fastify'
import { frameworks, get, post, sessionCookie } from './support/web.mjs'
import { webSuite } from './support/web-suite.mjs'

webSuite(frameworks.fastify)

const SECRET = 'a secret of at least sixteen bytes'

describe('Fastify', () => {
  test("registered once, it sees every route, those of other plugins too; request.sojourn is null where it skips", async () => {
    assert.equal(sojourn[Symbol.for('skip-override')], true, 'wrapped with fastify-plugin')
    assert.equal(sojourn[Symbol.for('plugin-meta')].fastify, '5.x')
    const tracker = new Tracker({ secret: SECRET, sweepInterval: 0 })
    const app = Fastify()
    await app.register(sojourn, { tracker })
    const describe = async (request) => ({ id: request.sojourn?.session.id ?? null, outcome: request.sojourn?.outcome ?? null })
    app.get('/', describe)
    app.get('/healthz', async (request) => ({ sojourn: request.sojourn }))
    // An encapsulated plugin of the app's, registered after it.
    await app.register(async (child) => child.get('/', describe), { prefix: '/child' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${app.server.address().port}`
    try {
      for (const path of ['/', '/child/']) {
        const r = await get(`${url}${path}`)
        assert.equal(r.json.outcome, 'started', path)
        assert.ok(sessionCookie(r.setCookies).startsWith(`sojourn=${r.json.id}.`), path)
      }
      assert.deepEqual((await get(`${url}/healthz`)).json, { sojourn: null })
    } finally {
      await app.close()
      tracker.close()
    }
  })

  test('the collect endpoint is answered before Fastify parses the body, with or without a route of its own', async () => {
    const tracker = new Tracker({ secret: SECRET, sweepInterval: 0 })
    const app = Fastify({ bodyLimit: 10 })
    await app.register(sojourn, { tracker })
    let reached = false
    app.post('/sojourn/collect', async () => {
      reached = true
      return {}
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${app.server.address().port}`
    try {
      const body = { items: [{ kind: 'view' }, { kind: 'view' }] }
      for (const type of ['application/json', 'application/octet-stream', 'text/plain']) {
        const r = await post(`${url}/sojourn/collect`, body, { 'content-type': type })
        assert.equal(r.status, 200, `${type}: ${JSON.stringify(r.json)}`)
        assert.equal(r.json.ticks.length, 2)
      }
      assert.equal(reached, false)
      // Without a route: the same.
      assert.equal((await post(`${url}/sojourn/collect?x=1`, body)).status, 200)
    } finally {
      await app.close()
      tracker.close()
    }
  })

  test('bad options fail the registration with INVALID_ARGUMENT', async () => {
    const tracker = new Tracker({ secret: SECRET, sweepInterval: 0 })
    const cases = [
      [{}, /tracker/],
      [{ tracker: 't' }, /tracker/],
      [{ tracker, skip: 'x' }, /skip/],
      [{ tracker, maxItems: 0 }, /collect limits/],
      [{ tracker, cookie: 'sid' }, /unknown option "cookie"/],
    ]
    for (const [options, message] of cases) {
      const app = Fastify()
      app.register(sojourn, options)
      await assert.rejects(app.ready(), { code: 'INVALID_ARGUMENT', message })
      await app.close()
    }
    tracker.close()
  })
})
