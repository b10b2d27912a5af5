// The Express middleware (`sojourn/express`) with real Express 5 servers
// on loopback ports: every framework's tests (support/web-suite.mjs), and
// Express's own cases: a body parser before it, cookies given to
// `writeHead`, its options checked when it is made.

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, test } from 'node:test'

import express from 'express'
import { Tracker } from 'sojourn'
import sojourn from 'sojourn/express'
import { throwsCode } from './support/throws.mjs'
import { cookieOf, frameworks, get, post, sessionCookie } from './support/web.mjs'
import { webSuite } from './support/web-suite.mjs'

webSuite(frameworks.express)

const SECRET = 'a secret of at least sixteen bytes'

/** Runs `f` with `app` listening on a loopback port. */
async function listening(app, f) {
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    await f(`http://127.0.0.1:${server.address().port}`)
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

describe('Express', () => {
  test('after a body parser, the collect endpoint takes what it parsed', async () => {
    const tracker = new Tracker({ secret: SECRET, sweepInterval: 0 })
    for (const parser of [express.json(), express.text({ type: '*/*' }), express.raw({ type: '*/*' })]) {
      const app = express()
      app.use(parser)
      app.use(sojourn({ tracker }))
      await listening(app, async (url) => {
        const r = await post(`${url}/sojourn/collect`, { items: [{ kind: 'view' }, { kind: 'event' }] })
        assert.equal(r.status, 200, JSON.stringify(r.json))
        assert.equal(r.json.ticks.length, 2)
        const bad = await post(`${url}/sojourn/collect`, { items: [{ kind: 'tap' }] })
        assert.equal(bad.json.error?.code, 'INVALID_BODY')
      })
    }
    tracker.close()
  })

  test('cookies given to writeHead are kept, and the session cookie added', async () => {
    const tracker = new Tracker({ secret: SECRET, sweepInterval: 0 })
    const app = express()
    app.use(sojourn({ tracker }))
    app.get('/raw', (req, res) => {
      res.setHeader('Set-Cookie', 'replaced=1')
      res.writeHead(200, { 'Set-Cookie': ['a=1', 'b=2'], 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ session: req.sojourn.session.id }))
    })
    app.get('/status', (req, res) => {
      res.writeHead(201, 'Made', { 'content-type': 'application/json' })
      res.end('{}')
    })
    await listening(app, async (url) => {
      const r = await get(`${url}/raw`)
      assert.deepEqual(r.setCookies.slice(0, 2), ['a=1', 'b=2'])
      assert.equal(r.setCookies.length, 3)
      assert.match(sessionCookie(r.setCookies), new RegExp(`^sojourn=${r.json.session}\\.`))
      const s = await get(`${url}/status`)
      assert.equal(s.status, 201)
      assert.equal(s.setCookies.length, 1)
      assert.ok(sessionCookie(s.setCookies))
      // The cookie takes the visitor back to its session.
      const again = await get(`${url}/raw`, { headers: { cookie: cookieOf(sessionCookie(r.setCookies)) } })
      assert.equal(again.json.session, r.json.session)
    })
    tracker.close()
  })

  test('bad options throw INVALID_ARGUMENT when the middleware is made', () => {
    const tracker = new Tracker({ secret: SECRET, sweepInterval: 0 })
    throwsCode(() => sojourn(), 'INVALID_ARGUMENT', /options/)
    throwsCode(() => sojourn({}), 'INVALID_ARGUMENT', /tracker/)
    throwsCode(() => sojourn({ tracker: {} }), 'INVALID_ARGUMENT', /tracker/)
    throwsCode(() => sojourn({ tracker, skip: true }), 'INVALID_ARGUMENT', /skip/)
    throwsCode(() => sojourn({ tracker, sameSite: 'Lax' }), 'INVALID_ARGUMENT', /sameSite/)
    throwsCode(() => sojourn({ tracker, cookie: 'sid' }), 'INVALID_ARGUMENT', /unknown option "cookie"/)
    assert.equal(typeof sojourn({ tracker }), 'function')
    tracker.close()
  })
})
