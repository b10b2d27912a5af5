// The tests that every framework's middleware passes, with a real server
// of that framework on a loopback port (support/web.mjs) and Node's own
// HTTP client: a first and a return visit, garbage and forged cookies, a
// forgotten session revived with the client's counters, the collect
// endpoint and its refusals, the filter and `skip`, the cookie's flags
// (`Secure` behind a trusted proxy and over TLS), the app's own cookies
// kept, the API on the request, concurrent requests of one visitor, a
// failing store, and all of it again with a RedisTracker
// (scripts/with-redis: without it these fail, never skip).

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import { BROWSER_CLIENT, BROWSER_CLIENT_TYPE, RedisTracker, testing, Tracker } from 'sojourn'
import { TEST_TIMEOUT, redisUrl, uniquePrefix } from './redis.mjs'
import { catchWarnings } from './warnings.mjs'
import { cookieOf, get, getText, getTls, post, postPartly, selfSigned, sessionCookie } from './web.mjs'

const SECRET = 'a secret of at least sixteen bytes'
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'
const COLLECT = '/sojourn/collect'

const memory = (options = {}) => new Tracker({ secret: SECRET, sweepInterval: 0, ...options })

/** The attributes of a `Set-Cookie` value, by lower-case name (`true` for a flag). */
function attributes(setCookie) {
  const [, ...parts] = setCookie.split(';').map((p) => p.trim())
  return Object.fromEntries(parts.map((p) => {
    const [k, v] = p.split('=')
    return [k.toLowerCase(), v ?? true]
  }))
}

/** Runs `f` with a server of `framework` over `tracker` and these options; closes it after. */
async function withServer(framework, options, f, serverOptions) {
  const server = await framework.serve(options, serverOptions)
  try {
    return await f(server.url)
  } finally {
    await server.close()
  }
}

/**
 * A visitor's first page (a view, with `trackViews`), then `pages` page
 * requests and `batches` collect requests of a view and an event each, all
 * at once, with its cookie: every answer is of its one session, every view
 * and event is counted once (the sequences of all the ticks are 1 to their
 * number, each once), and the session (`read(id)`) has them all.
 */
async function concurrently(url, { pages, batches }, read) {
  const first = await get(`${url}/`)
  assert.equal(first.json.views, 1)
  const cookie = cookieOf(sessionCookie(first.setCookies))
  const answers = await Promise.all([
    ...Array.from({ length: pages }, () => get(`${url}/pricing`, { headers: { cookie } })),
    ...Array.from({ length: batches }, () => post(`${url}${COLLECT}`, { items: [{ kind: 'view' }, { kind: 'event' }] }, { cookie })),
  ])
  const paged = answers.slice(0, pages)
  const collected = answers.slice(pages)
  for (const r of paged) assert.deepEqual([r.status, r.json.session, r.json.outcome], [200, first.json.session, 'existing'])
  for (const r of collected) assert.deepEqual([r.status, r.json.session.id, r.json.outcome], [200, first.json.session, 'existing'])
  const sequences = [first.json.sequence, ...paged.map((r) => r.json.sequence), ...collected.flatMap((r) => r.json.ticks.map((t) => t.sequence))]
  const total = 1 + pages + 2 * batches
  assert.deepEqual(sequences.toSorted((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1))
  const views = [1, ...paged.map((r) => r.json.views), ...collected.map((r) => r.json.ticks[0].view_sequence)]
  assert.deepEqual(views.toSorted((a, b) => a - b), Array.from({ length: 1 + pages + batches }, (_, i) => i + 1))
  const s = await read(first.json.session)
  assert.deepEqual([s.viewSequence, s.eventSequence, s.sequence], [1 + pages + batches, batches, total])
}

export function webSuite(framework) {
  const { name } = framework

  describe(`${name}: pages`, () => {
    let tracker
    let server
    before(async () => {
      tracker = memory()
      server = await framework.serve({ tracker, skip: (req) => req.headers['x-internal'] === '1' })
    })
    after(async () => {
      await server.close()
      tracker.close()
    })

    test('a first visit starts a session, with an HttpOnly, SameSite=Lax cookie for the retention', async () => {
      const started = tracker.stats().started
      const r = await get(`${server.url}/`, { headers: { 'user-agent': CHROME } })
      assert.equal(r.status, 200)
      assert.equal(r.json.outcome, 'started')
      const cookie = sessionCookie(r.setCookies)
      assert.equal(cookie, `sojourn=${r.json.token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax`)
      assert.deepEqual(attributes(cookie), { path: '/', 'max-age': '86400', httponly: true, samesite: 'Lax' })
      assert.equal(tracker.stats().started, started + 1)
      assert.equal(tracker.get(r.json.session).id, r.json.session)
    })

    test('a return visit finds the same session', async () => {
      const first = await get(`${server.url}/`)
      const cookie = `theme=dark; ${cookieOf(sessionCookie(first.setCookies))}`
      const again = await get(`${server.url}/pricing`, { headers: { cookie } })
      assert.equal(again.json.outcome, 'existing')
      assert.equal(again.json.session, first.json.session)
      assert.match(sessionCookie(again.setCookies), /Max-Age=86400/, 'the cookie refreshed')
      const third = await get(`${server.url}/`, { headers: { cookie: cookieOf(sessionCookie(again.setCookies)) } })
      assert.equal(third.json.session, first.json.session)
    })

    test('an API client without cookies sends its token in the Sojourn-Token header', async () => {
      const first = await get(`${server.url}/`)
      const again = await get(`${server.url}/`, { headers: { 'sojourn-token': first.json.token } })
      assert.deepEqual([again.json.outcome, again.json.session], ['existing', first.json.session])
    })

    test('garbage and forged cookies start a new session, never an error', async () => {
      const other = new Tracker({ secret: 'another secret of sixteen bytes', sweepInterval: 0 })
      const forged = other.start().token
      other.close()
      const { rejected } = tracker.stats()
      const cookies = ['sojourn=garbage', `sojourn=${forged}`, 'sojourn="quoted"', `sojourn=${'x'.repeat(4000)}`, 'sojourn=%00%ff; sojourn_hints=oops']
      const seen = new Set()
      for (const cookie of cookies) {
        const r = await get(`${server.url}/`, { headers: { cookie } })
        assert.equal(r.status, 200, cookie)
        assert.equal(r.json.outcome, 'started', cookie)
        assert.notEqual(sessionCookie(r.setCookies), undefined, `a new cookie for ${cookie}`)
        seen.add(r.json.session)
      }
      assert.equal(seen.size, cookies.length, 'each a session of its own')
      assert.equal(tracker.stats().rejected, rejected + cookies.length)
    })

    test('static files, health checks and robots make no session and get no cookie', async () => {
      const before = tracker.stats()
      const skipped = [
        [`${server.url}/static/app.js`, {}],
        [`${server.url}/healthz`, {}],
        [`${server.url}/`, { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' }],
        [`${server.url}/`, { 'x-internal': '1' }],
      ]
      for (const [url, headers] of skipped) {
        const r = await get(url, { headers })
        assert.equal(r.status, 200, url)
        assert.deepEqual(r.json, { session: null }, `${url} ${JSON.stringify(headers)}`)
        assert.deepEqual(r.setCookies, [], url)
      }
      const { started, resumed, rejected } = tracker.stats()
      assert.deepEqual({ started, resumed, rejected }, { started: before.started, resumed: before.resumed, rejected: before.rejected })
      // The same paths from a browser, with a cookie: still left alone.
      const first = await get(`${server.url}/`)
      const r = await get(`${server.url}/healthz`, { headers: { cookie: cookieOf(sessionCookie(first.setCookies)) } })
      assert.deepEqual([r.json, r.setCookies], [{ session: null }, []])
    })

    test("the session cookie is added to the app's own", async () => {
      const r = await get(`${server.url}/cookie`)
      assert.equal(r.setCookies.length, 2, r.setCookies.join(' | '))
      assert.ok(r.setCookies.includes('theme=dark; Path=/'))
      assert.equal(sessionCookie(r.setCookies).split(';')[0], `sojourn=${r.json.token}`)
    })

    test('the API on the request: track and identify', async () => {
      const first = await get(`${server.url}/`)
      const cookie = cookieOf(sessionCookie(first.setCookies))
      const view = await get(`${server.url}/track/view`, { headers: { cookie } })
      assert.deepEqual(view.json.tick, { viewSequence: 1, eventSequence: 0, sequence: 1 })
      const event = await get(`${server.url}/track/event`, { headers: { cookie } })
      assert.deepEqual(event.json.tick, { viewSequence: 1, eventSequence: 1, sequence: 2 })
      const who = await get(`${server.url}/identify/ada`, { headers: { cookie } })
      assert.equal(who.json.userId, 'ada')
      const s = tracker.peek(first.json.session)
      assert.deepEqual([s.viewSequence, s.eventSequence, s.userId], [1, 1, 'ada'])
    })
  })

  describe(`${name}: the collect endpoint`, () => {
    let tracker
    let server
    before(async () => {
      tracker = memory()
      server = await framework.serve({ tracker, maxItems: 5 })
    })
    after(async () => {
      await server.close()
      tracker.close()
    })

    test('a batch is tracked in order: 200 with its ticks and the cookie', async () => {
      const first = await get(`${server.url}/`)
      const cookie = cookieOf(sessionCookie(first.setCookies))
      const r = await post(`${server.url}${COLLECT}`, { items: [{ kind: 'view' }, { kind: 'event', name: 'signup' }, { kind: 'view' }] }, { cookie })
      assert.equal(r.status, 200)
      assert.equal(r.type, 'application/json; charset=utf-8')
      assert.equal(r.json.outcome, 'existing')
      assert.equal(r.json.session.id, first.json.session)
      assert.deepEqual(r.json.ticks.map((t) => [t.view_sequence, t.event_sequence]), [[1, 0], [1, 1], [2, 1]])
      assert.equal(sessionCookie(r.setCookies), `sojourn=${first.json.token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax`)
      const s = tracker.peek(first.json.session)
      assert.deepEqual([s.viewSequence, s.eventSequence], [2, 1])
    })

    test('a beacon without the cookie: the body names its token; any content type', async () => {
      const first = await get(`${server.url}/`)
      const body = JSON.stringify({ token: first.json.token, items: [{ kind: 'event' }] })
      const r = await post(`${server.url}${COLLECT}?via=beacon`, body, { 'content-type': 'text/plain;charset=UTF-8' })
      assert.equal(r.status, 200)
      assert.deepEqual([r.json.outcome, r.json.session.id], ['existing', first.json.session])
    })

    test('what it refuses is a JSON error, with nothing changed', async () => {
      const first = await get(`${server.url}/`)
      const cookie = cookieOf(sessionCookie(first.setCookies))
      const before = tracker.stats()
      const cases = [
        [{ method: 'GET' }, 405, 'METHOD_NOT_ALLOWED'],
        [{ method: 'PUT', body: '{"items":[]}' }, 405, 'METHOD_NOT_ALLOWED'],
        [{ method: 'POST', body: 'not json' }, 400, 'INVALID_BODY'],
        [{ method: 'POST', body: '' }, 400, 'INVALID_BODY'],
        [{ method: 'POST', body: '{"items":[{"kind":"tap"}]}' }, 400, 'INVALID_BODY'],
        [{ method: 'POST', body: JSON.stringify({ items: Array(6).fill({ kind: 'view' }) }) }, 400, 'TOO_MANY_ITEMS'],
        [{ method: 'POST', body: ' '.repeat(64 * 1024 + 1) }, 413, 'BODY_TOO_LARGE'],
      ]
      for (const [request, status, code] of cases) {
        const r = await get(`${server.url}${COLLECT}`, { ...request, headers: { cookie, 'content-type': 'application/json' } })
        assert.equal(r.status, status, `${request.method} ${request.body?.slice(0, 20)}`)
        assert.equal(r.type, 'application/json; charset=utf-8')
        assert.equal(r.json.error.code, code)
        assert.equal(typeof r.json.error.message, 'string')
        assert.deepEqual(r.setCookies, [])
      }
      assert.deepEqual(tracker.stats(), before, 'nothing changed')
    })

    test('a body over the bound is refused with 413 before the rest of it is sent', async () => {
      const before = tracker.stats()
      const r = await postPartly(`${server.url}${COLLECT}`, { declared: 50 * 1024 * 1024, sent: 64 * 1024 + 100 })
      assert.equal(r.status, 413)
      assert.equal(r.json.error.code, 'BODY_TOO_LARGE')
      assert.equal(r.headers.connection, 'close')
      assert.deepEqual(tracker.stats(), before)
      // The server goes on.
      assert.equal((await get(`${server.url}/`)).status, 200)
    })
  })

  describe(`${name}: the browser client`, () => {
    const CLIENT = '/sojourn/browser.js'

    /** Asserts that `r` is the browser client, as the middleware answers it. */
    function isClient(r, what) {
      assert.equal(r.status, 200, what)
      assert.equal(r.type, BROWSER_CLIENT_TYPE, what)
      assert.equal(r.cacheControl, 'public, max-age=3600', what)
      assert.deepEqual(r.setCookies, [], what)
      assert.equal(r.text, BROWSER_CLIENT, what)
    }

    /** Asserts that `r` is the app's own answer: a request the middleware left alone. */
    function isApps(r, what) {
      assert.equal(r.status, 200, what)
      assert.deepEqual([JSON.parse(r.text), r.setCookies], [{ session: null }, []], what)
    }

    test('a GET of /sojourn/browser.js is the module, cached, with no session and no cookie', async () => {
      assert.equal(BROWSER_CLIENT_TYPE, 'text/javascript; charset=utf-8')
      assert.match(BROWSER_CLIENT, /^export class Sojourn \{/m)
      const tracker = memory()
      await withServer(framework, { tracker }, async (url) => {
        const before = tracker.stats()
        isClient(await getText(`${url}${CLIENT}`), 'a first visit')
        const first = await get(`${url}/`)
        const cookie = cookieOf(sessionCookie(first.setCookies))
        isClient(await getText(`${url}${CLIENT}`, { headers: { cookie } }), 'with the cookie')
        isClient(await getText(`${url}${CLIENT}?v=1`), 'with a query')
        const { started, resumed, rejected } = tracker.stats()
        assert.deepEqual(
          { started, resumed, rejected },
          { started: before.started + 1, resumed: before.resumed, rejected: before.rejected },
          'only the page made a session, and the client resumed none',
        )
        assert.equal(tracker.size, 1)
        // Only a GET: a POST there is the app's (a .js file, skipped).
        const r = await fetch(`${url}${CLIENT}`, { method: 'POST' })
        assert.notEqual(await r.text(), BROWSER_CLIENT)
      })
      tracker.close()
    })

    test('clientPath: null leaves the path to the app; a clientPath of its own serves it there', async () => {
      const tracker = memory()
      await withServer(framework, { tracker, clientPath: null }, async (url) => {
        isApps(await getText(`${url}${CLIENT}`), 'served nowhere')
      })
      await withServer(framework, { tracker, clientPath: '/js/tracker.js' }, async (url) => {
        isClient(await getText(`${url}/js/tracker.js`), 'at its own path')
        isApps(await getText(`${url}${CLIENT}`), 'not at the default one')
      })
      assert.equal(tracker.stats().started, 0)
      tracker.close()
    })
  })

  describe(`${name}: revival, HTTPS, concurrency, failures`, () => {
    test('a forgotten session comes back with the counters of the hints cookie and of the collect body', async () => {
      const first = memory()
      const { token, session } = await withServer(framework, { tracker: first }, async (url) => (await get(`${url}/`)).json)
      first.close()
      // A restart without a snapshot: the new tracker knows nothing.
      const restarted = memory()
      await withServer(framework, { tracker: restarted }, async (url) => {
        const back = await get(`${url}/pricing`, { headers: { cookie: `sojourn=${token}; sojourn_hints=5.2` } })
        assert.deepEqual([back.json.outcome, back.json.session, back.json.views, back.json.events], ['revived', session, 5, 2])
        assert.equal(sessionCookie(back.setCookies).split(';')[0], `sojourn=${token}`)
      })
      restarted.close()
      const again = memory()
      await withServer(framework, { tracker: again }, async (url) => {
        const r = await post(`${url}${COLLECT}`, { token, view_sequence: 7, event_sequence: 3, items: [{ kind: 'view' }] })
        assert.equal(r.status, 200)
        assert.deepEqual([r.json.outcome, r.json.session.id, r.json.session.view_sequence, r.json.session.event_sequence], ['revived', session, 8, 3])
      })
      again.close()
    })

    test('Secure when the request is HTTPS: behind a trusted proxy, and not behind an untrusted one', async () => {
      const tracker = memory()
      const headers = { 'x-forwarded-proto': 'https' }
      await withServer(framework, { tracker }, async (url) => {
        assert.match(sessionCookie((await get(`${url}/`, { headers })).setCookies), /; SameSite=Lax; Secure$/)
        const collected = await post(`${url}${COLLECT}`, { items: [] }, headers)
        assert.match(sessionCookie(collected.setCookies), /; Secure$/)
        assert.doesNotMatch(sessionCookie((await get(`${url}/`)).setCookies), /Secure/)
      }, { trustProxy: true })
      await withServer(framework, { tracker }, async (url) => {
        assert.doesNotMatch(sessionCookie((await get(`${url}/`, { headers })).setCookies), /Secure/, 'the header of an untrusted client')
      })
      // Configured: always, or never (and the other options reach the cookie).
      await withServer(framework, { tracker, secure: true, cookieName: 'sid', cookieDomain: 'localhost', sameSite: 'strict', cookieMaxAge: 60_000 }, async (url) => {
        const r = await get(`${url}/`)
        assert.equal(sessionCookie(r.setCookies, 'sid'), `sid=${r.json.token}; Path=/; Max-Age=60; Domain=localhost; HttpOnly; SameSite=Strict; Secure`)
      })
      tracker.close()
    })

    test('Secure over a real TLS listener', async () => {
      const tls = selfSigned()
      const tracker = memory()
      await withServer(framework, { tracker }, async (url) => {
        const r = await getTls(`${url}/`, tls.cert)
        assert.equal(r.status, 200)
        assert.equal(sessionCookie(r.setCookies), `sojourn=${r.json.token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax; Secure`)
      }, { tls })
      tracker.close()
    })

    test('concurrent requests of one visitor: one session, every tick once', async () => {
      const tracker = memory()
      await withServer(framework, { tracker, trackViews: true }, async (url) => {
        await concurrently(url, { pages: 20, batches: 10 }, (id) => tracker.peek(id))
        assert.equal(tracker.stats().started, 1)
      })
      tracker.close()
    })

    test('a failing store: a page is an error (STORE_ERROR), the collect endpoint 503', async () => {
      const faultSwitch = new testing.FaultSwitch()
      const tracker = new Tracker({ faultSwitch, secret: SECRET, sweepInterval: 0 })
      await withServer(framework, { tracker }, async (url) => {
        faultSwitch.fail(true)
        const page = await get(`${url}/`)
        assert.equal(page.status, 500)
        assert.equal(page.json.error.code, 'STORE_ERROR')
        assert.deepEqual(page.setCookies, [])
        const collected = await post(`${url}${COLLECT}`, { items: [{ kind: 'view' }] })
        assert.equal(collected.status, 503)
        assert.equal(collected.json.error.code, 'STORE_ERROR')
        faultSwitch.fail(false)
        assert.equal((await get(`${url}/`)).json.outcome, 'started')
      })
      tracker.close()
    })
  })

  describe(`${name} with a RedisTracker`, () => {
    const connect = (options = {}) =>
      RedisTracker.connect({
        redisUrl: redisUrl(),
        keyPrefix: uniquePrefix(`web-${name}`),
        storeTimeout: TEST_TIMEOUT,
        sweepInterval: 0,
        secret: SECRET,
        ...options,
      })

    test('first and return visits, the API as Promises, the collect endpoint, the filter', async () => {
      const tracker = await connect()
      await withServer(framework, { tracker }, async (url) => {
        const first = await get(`${url}/`)
        assert.equal(first.json.outcome, 'started')
        assert.equal(sessionCookie(first.setCookies), `sojourn=${first.json.token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax`)
        const cookie = cookieOf(sessionCookie(first.setCookies))
        const again = await get(`${url}/track/event`, { headers: { cookie } })
        assert.deepEqual([again.json.outcome, again.json.session], ['existing', first.json.session])
        assert.deepEqual(again.json.tick, { viewSequence: 0, eventSequence: 1, sequence: 1 })
        assert.equal((await get(`${url}/identify/ada`, { headers: { cookie } })).json.userId, 'ada')
        const r = await post(`${url}${COLLECT}`, { items: [{ kind: 'view' }] }, { cookie })
        assert.equal(r.status, 200)
        assert.deepEqual(r.json.ticks, [{ event_sequence: 1, sequence: 2, view_sequence: 1 }])
        assert.equal((await post(`${url}${COLLECT}`, '{"items":', { cookie })).status, 400)
        const skipped = await get(`${url}/static/app.js`)
        assert.deepEqual([skipped.json, skipped.setCookies], [{ session: null }, []])
        const s = await tracker.get(first.json.session)
        assert.deepEqual([s.viewSequence, s.eventSequence, s.userId], [1, 1, 'ada'])
        assert.equal(await tracker.count(), 1)
      })
      await tracker.close()
    })

    test('a session forgotten by the store comes back with the client counters', async () => {
      const first = await connect()
      const { token, session } = await withServer(framework, { tracker: first }, async (url) => (await get(`${url}/`)).json)
      await first.close()
      // Another prefix: a store that never saw the session.
      const fresh = await connect()
      await withServer(framework, { tracker: fresh }, async (url) => {
        const back = await get(`${url}/`, { headers: { cookie: `sojourn=${token}; sojourn_hints=3.1` } })
        assert.deepEqual([back.json.outcome, back.json.session, back.json.views, back.json.events], ['revived', session, 3, 1])
      })
      await fresh.close()
    })

    test('concurrent requests of one visitor: one session, every tick once', async () => {
      const tracker = await connect()
      await withServer(framework, { tracker, trackViews: true }, async (url) => {
        await concurrently(url, { pages: 10, batches: 5 }, (id) => tracker.get(id))
        assert.equal(await tracker.count(), 1)
      })
      await tracker.close()
    })

    test('Redis gone: a page is an error (STORE_ERROR), the collect endpoint 503', async () => {
      const { ownRedis, freePort } = await import('./redis.mjs')
      const server = await ownRedis(await freePort())
      const tracker = await RedisTracker.connect({ redisUrl: server.url, storeTimeout: 300, sweepInterval: 0, secret: SECRET })
      await withServer(framework, { tracker }, async (url) => {
        assert.equal((await get(`${url}/`)).status, 200)
        await server.stop()
        const page = await get(`${url}/`)
        assert.deepEqual([page.status, page.json.error.code], [500, 'STORE_ERROR'])
        const collected = await post(`${url}${COLLECT}`, { items: [{ kind: 'view' }] })
        assert.deepEqual([collected.status, collected.json.error.code], [503, 'STORE_ERROR'])
      })
      const warnings = await catchWarnings(async () => {
        await tracker.close()
        await new Promise((resolve) => setImmediate(resolve))
      })
      assert.deepEqual(warnings.map((w) => w.code), ['SOJOURN_STORE_ERROR'])
    })
  })
}
