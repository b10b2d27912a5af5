// The addon's `Web`, as a middleware calls it (no server here: the
// middlewares' own tests run real ones): its options (the core's defaults
// shown, each option taken, bad ones refused), routing, a page's visit
// and the collect endpoint, at once with a `Tracker` and as Promises with
// a `RedisTracker` (scripts/with-redis), and the store's errors.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { gzipSync } from 'node:zlib'

import { transformSync } from 'esbuild'
import { BROWSER_CLIENT, BROWSER_CLIENT_TYPE, MockClock, RedisTracker, testing, Tracker, Web } from 'sojourn'
import { TEST_TIMEOUT, freePort, ownRedis, redisUrl, uniquePrefix } from './support/redis.mjs'
import { throwsCode } from './support/throws.mjs'
import { catchWarnings } from './support/warnings.mjs'

const SECRET = 'a secret of at least sixteen bytes'
const START = Date.parse('2026-01-01T00:00:00Z')
const DAY = 86_400_000

const tracker = (options = {}) => new Tracker({ secret: SECRET, sweepInterval: 0, ...options })

/** A page request from a browser. */
const page = (more = {}) => ({ method: 'GET', path: '/pricing', userAgent: 'Mozilla/5.0 Chrome/120.0', ...more })
/** A collect request. */
const collectRequest = (more = {}) => page({ method: 'POST', path: '/sojourn/collect', ...more })
/** The `Cookie` header a browser sends back after `setCookie`. */
const cookieOf = (setCookie) => setCookie.split(';')[0]
const bytes = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))

describe('Web options', () => {
  test("the defaults are the core's, shown by options()", () => {
    const o = new Web().options()
    assert.equal(o.cookieName, 'sojourn')
    assert.equal(o.cookieDomain, null)
    assert.equal(o.cookiePath, '/')
    assert.equal(o.sameSite, 'lax')
    assert.equal(o.secure, 'auto')
    assert.equal(o.cookieMaxAge, null, "the tracker's retention")
    assert.equal(o.tokenHeader, 'sojourn-token')
    assert.equal(o.collectPath, '/sojourn/collect')
    assert.equal(o.maxBodyBytes, 64 * 1024)
    assert.equal(o.maxItems, 100)
    assert.equal(o.clientPath, '/sojourn/browser.js')
    assert.equal(o.trackViews, false)
    assert.ok(o.skipPaths.includes('/healthz') && o.skipPaths.includes('/favicon.ico'))
    assert.ok(o.skipPrefixes.includes('/static/'))
    assert.ok(o.skipExtensions.includes('woff2'))
    assert.ok(o.botWords.includes('bot'))
    assert.deepEqual(new Web({}).options(), o)
  })

  test('every option given is taken, and shown', () => {
    const given = {
      cookieName: 'sid',
      cookieDomain: 'example.com',
      cookiePath: '/app',
      sameSite: 'none',
      secure: true,
      cookieMaxAge: 3_600_000,
      tokenHeader: 'X-Session',
      collectPath: null,
      maxBodyBytes: 1024,
      maxItems: 5,
      clientPath: '/js/sojourn.js',
      trackViews: true,
      skipPaths: ['/up'],
      skipPrefixes: ['/public/'],
      skipExtensions: ['txt'],
      botWords: [],
    }
    const web = new Web(given)
    assert.deepEqual(web.options(), { ...given, tokenHeader: 'x-session' })
    const t = tracker()
    const v = web.visit(t, page({ path: '/app/x', https: false }))
    assert.equal(
      v.setCookie,
      `sid=${v.session.token}; Path=/app; Max-Age=3600; Domain=example.com; HttpOnly; SameSite=None; Secure`,
    )
    assert.equal(v.tick.viewSequence, 1, 'trackViews')
    assert.equal(web.route(page({ path: '/sojourn/collect' })), 'page', 'the collect endpoint mounted nowhere')
    assert.equal(web.route(page({ path: '/js/sojourn.js' })), 'client', 'the client at its path')
    assert.equal(web.route(page({ path: '/sojourn/browser.js' })), 'page', 'not at the default one (no .js skipped here)')
    assert.equal(new Web({ clientPath: null }).options().clientPath, null)
    assert.equal(new Web({ clientPath: null }).route(page({ path: '/sojourn/browser.js' })), 'skip', 'served nowhere')
    assert.equal(web.route(page({ path: '/up' })), 'skip')
    assert.equal(web.route(page({ path: '/healthz' })), 'page', 'the default list replaced')
    assert.equal(web.route(page({ userAgent: 'Googlebot/2.1' })), 'page', 'robots counted')
    const header = web.visit(t, page({ path: '/app', tokenHeader: v.session.token }))
    assert.equal(header.session.id, v.session.id, 'the token from the header named')
    t.close()
  })

  test('bad options throw INVALID_ARGUMENT, naming them', () => {
    const cases = [
      [{ cookieName: 'a b' }, /cookie name/],
      [{ cookieName: 5 }, /cookieName/],
      [{ cookieDomain: 'a;b' }, /cookie domain/],
      [{ cookiePath: 'app' }, /cookie path/],
      [{ sameSite: 'Lax' }, /sameSite/],
      [{ sameSite: 'none', secure: false }, /SameSite=None needs Secure/],
      [{ secure: 'always' }, /secure/],
      [{ secure: 1 }, /secure/],
      [{ cookieMaxAge: -1 }, /cookieMaxAge/],
      [{ cookieMaxAge: 1.5 }, /cookieMaxAge/],
      [{ tokenHeader: 'a b' }, /token header/],
      [{ collectPath: 'collect' }, /collect path/],
      [{ collectPath: 5 }, /collectPath/],
      [{ clientPath: 'browser.js' }, /client path/],
      [{ clientPath: '/sojourn/browser.js?v=1' }, /client path/],
      [{ clientPath: 5 }, /clientPath/],
      [{ clientPath: '/sojourn/collect' }, /client path: the collect endpoint's already/],
      [{ collectPath: '/c', clientPath: '/c' }, /client path/],
      [{ maxBodyBytes: 0 }, /collect limits/],
      [{ maxItems: 10_001 }, /collect limits/],
      [{ maxItems: -1 }, /maxItems/],
      [{ trackViews: 'yes' }, /trackViews/],
      [{ skipPaths: '/health' }, /skipPaths/],
      [{ botWords: [1] }, /botWords/],
      [{ tracker: {} }, /unknown option "tracker"/],
      [{ cookie: 'sid' }, /unknown option "cookie"/],
      ['sid', /options/],
    ]
    for (const [options, pattern] of cases) {
      throwsCode(() => new Web(options), 'INVALID_ARGUMENT', pattern)
    }
  })
})

describe('The browser client', () => {
  const file = readFileSync(new URL('../browser/sojourn.js', import.meta.url), 'utf8')

  test("its text and type are the core's: the package's browser/sojourn.js, an ES module", () => {
    assert.equal(BROWSER_CLIENT, file)
    assert.match(BROWSER_CLIENT, /^export class Sojourn \{/m)
    assert.equal(BROWSER_CLIENT_TYPE, 'text/javascript; charset=utf-8')
    const dir = mkdtempSync(join(tmpdir(), 'sojourn-client-'))
    try {
      writeFileSync(join(dir, 'sojourn.mjs'), BROWSER_CLIENT)
      execFileSync(process.execPath, ['--check', join(dir, 'sojourn.mjs')], { stdio: 'pipe' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('minified and gzipped, it is under 3 KiB', () => {
    const { code } = transformSync(BROWSER_CLIENT, { minify: true, format: 'esm', target: 'es2020' })
    assert.match(code, /export\s*\{\s*\w+ as Sojourn\s*\}|export class Sojourn/, 'still the module')
    assert.ok(code.length < BROWSER_CLIENT.length, 'minified')
    const size = gzipSync(code, { level: 9 }).length
    assert.ok(size < 3072, `${size} bytes minified and gzipped`)
  })
})

describe('Web with a Tracker: answers at once', () => {
  test('routes by the collect path and the filter', () => {
    const web = new Web()
    assert.equal(web.route(page()), 'page')
    assert.equal(web.route(page({ path: '/sojourn/collect?x=1' })), 'collect')
    assert.equal(web.route(page({ path: '/static/app.js' })), 'skip')
    assert.equal(web.route(page({ path: '/healthz' })), 'skip')
    assert.equal(web.route(page({ userAgent: 'Mozilla/5.0 (compatible; bingbot/2.0)' })), 'skip')
    assert.equal(web.route(page({ userAgent: null })), 'page')
    assert.equal(web.route(page({ path: '/sojourn/browser.js' })), 'client')
    assert.equal(web.route(page({ path: '/sojourn/browser.js?v=2', userAgent: 'Googlebot/2.1' })), 'client')
    assert.equal(web.route(page({ method: 'POST', path: '/sojourn/browser.js' })), 'skip', 'a GET only')
  })

  test('a first visit starts a session with its cookie; a return visit finds it; a hints cookie revives it', () => {
    const clock = new MockClock(START)
    const before = tracker({ clock })
    const web = new Web()
    const first = web.visit(before, page())
    assert.deepEqual(Object.keys(first), ['session', 'outcome', 'tick', 'setCookie'])
    assert.equal(first.outcome, 'started')
    assert.equal(first.tick, null)
    assert.equal(first.setCookie, `sojourn=${first.session.token}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax`)
    const again = web.visit(before, page({ cookie: `theme=dark; ${cookieOf(first.setCookie)}` }))
    assert.equal(again.outcome, 'existing')
    assert.equal(again.session.id, first.session.id)
    // A restart without a snapshot: the new tracker knows nothing.
    const after = tracker({ clock })
    clock.advance(60_000)
    const back = web.visit(after, page({ cookie: `${cookieOf(first.setCookie)}; sojourn_hints=5.2` }))
    assert.equal(back.outcome, 'revived')
    assert.equal(back.session.id, first.session.id)
    assert.deepEqual([back.session.viewSequence, back.session.eventSequence], [5, 2])
    assert.match(web.visit(after, page({ https: true })).setCookie, /; Secure$/)
    before.close()
    after.close()
  })

  test('a retention of the tracker is the default Max-Age', () => {
    const t = tracker({ retention: 7 * DAY })
    assert.match(new Web().visit(t, page()).setCookie, /Max-Age=604800;/)
    t.close()
  })

  test('garbage and forged cookies start a session, never an error', () => {
    const t = tracker()
    const other = new Tracker({ secret: 'another secret of sixteen bytes', sweepInterval: 0 })
    const forged = other.start().token
    const web = new Web()
    for (const cookie of ['sojourn=garbage', 'sojourn=', `sojourn=${forged}`, 'sojourn=\u0000\uffff', 'sojourn=\ud800']) {
      assert.equal(web.visit(t, page({ cookie })).outcome, 'started', cookie)
    }
    assert.equal(t.stats().rejected, 4, 'the empty one is no token')
    t.close()
    other.close()
  })

  test('the collect endpoint tracks a batch; what it refuses changes nothing', () => {
    const t = tracker()
    const web = new Web({ maxItems: 3 })
    const cookie = cookieOf(web.visit(t, page()).setCookie)
    const ok = web.collect(t, collectRequest({ cookie }), bytes({ items: [{ kind: 'view' }, { kind: 'event' }] }))
    assert.deepEqual(Object.keys(ok), ['status', 'body', 'setCookie'])
    assert.equal(ok.status, 200)
    const json = JSON.parse(ok.body)
    assert.equal(json.outcome, 'existing')
    assert.deepEqual(json.ticks.map((k) => k.sequence), [1, 2])
    assert.match(ok.setCookie, /^sojourn=/)
    const before = t.stats()
    const refused = [
      [collectRequest({ method: 'GET', cookie }), bytes({ items: [] }), 405, 'METHOD_NOT_ALLOWED'],
      [collectRequest({ cookie }), bytes('nope'), 400, 'INVALID_BODY'],
      [collectRequest({ cookie }), bytes({ items: [{ kind: 'tap' }] }), 400, 'INVALID_BODY'],
      [collectRequest({ cookie }), bytes({ items: Array(4).fill({ kind: 'view' }) }), 400, 'TOO_MANY_ITEMS'],
      [collectRequest({ cookie }), Buffer.alloc(64 * 1024 + 1, 0x20), 413, 'BODY_TOO_LARGE'],
    ]
    for (const [request, body, status, code] of refused) {
      const reply = web.collect(t, request, body)
      assert.equal(reply.status, status, reply.body)
      assert.equal(reply.setCookie, null)
      assert.equal(JSON.parse(reply.body).error.code, code)
    }
    assert.deepEqual(t.stats(), before, 'nothing changed')
    t.close()
  })

  test('a failing store: visit throws STORE_ERROR, collect answers 503', () => {
    const faultSwitch = new testing.FaultSwitch()
    const t = new Tracker({ faultSwitch, unsignedTokens: true, sweepInterval: 0 })
    const web = new Web()
    faultSwitch.fail(true)
    throwsCode(() => web.visit(t, page()), 'STORE_ERROR')
    const reply = web.collect(t, collectRequest(), bytes({ items: [{ kind: 'view' }] }))
    assert.equal(reply.status, 503)
    assert.equal(JSON.parse(reply.body).error.code, 'STORE_ERROR')
    faultSwitch.fail(false)
    assert.equal(t.stats().started, 0)
    t.close()
  })

  test("a kind of many-byte characters is refused, not a panic that aborts Node", () => {
    // The core cut the kind it quotes back inside a character: a panic,
    // which aborted the process (found by the collect fuzz target).
    const t = tracker()
    const web = new Web()
    for (const body of [
      bytes({ items: [{ kind: 'v' + 'é'.repeat(40) }] }),
      bytes({ view_sequence: 'é'.repeat(200), items: [] }),
    ]) {
      const reply = web.collect(t, collectRequest(), body)
      assert.equal(reply.status, 400)
      assert.equal(JSON.parse(reply.body).error.code, 'INVALID_BODY')
    }
    assert.equal(t.stats().started, 0)
    t.close()
  })

  test('arguments of the wrong type throw INVALID_ARGUMENT', () => {
    const t = tracker()
    const web = new Web()
    throwsCode(() => web.visit({}, page()), 'INVALID_ARGUMENT', /tracker/)
    throwsCode(() => web.visit(new MockClock(0), page()), 'INVALID_ARGUMENT', /tracker/)
    throwsCode(() => web.visit(t, { method: 'GET' }), 'INVALID_ARGUMENT', /request/)
    throwsCode(() => web.visit(t, page({ path: 5 })), 'INVALID_ARGUMENT', /request/)
    throwsCode(() => web.route(page({ cookie: 5 })), 'INVALID_ARGUMENT', /request/)
    throwsCode(() => web.collect(t, collectRequest(), '{"items":[]}'), 'INVALID_ARGUMENT', /body/)
    throwsCode(() => web.collect(t, collectRequest(), new Uint16Array(2)), 'INVALID_ARGUMENT', /body/)
    assert.equal(t.stats().started, 0)
    t.close()
  })
})

describe('Web with a RedisTracker: Promises', () => {
  const connect = (url = redisUrl(), options = {}) =>
    RedisTracker.connect({
      redisUrl: url,
      keyPrefix: uniquePrefix('web'),
      storeTimeout: TEST_TIMEOUT,
      sweepInterval: 0,
      secret: SECRET,
      ...options,
    })

  test('visit and collect resolve to what a Tracker returns', async () => {
    const redis = await connect()
    const web = new Web({ trackViews: true })
    const first = web.visit(redis, page())
    assert.ok(first instanceof Promise)
    const visit = await first
    assert.deepEqual(Object.keys(visit), ['session', 'outcome', 'tick', 'setCookie'])
    assert.equal(visit.outcome, 'started')
    assert.equal(visit.tick.viewSequence, 1)
    const cookie = cookieOf(visit.setCookie)
    const again = await web.visit(redis, page({ cookie }))
    assert.equal(again.session.id, visit.session.id)
    assert.equal(again.session.viewSequence, 2)
    const replied = web.collect(redis, collectRequest({ cookie }), bytes({ items: [{ kind: 'event' }] }))
    assert.ok(replied instanceof Promise)
    const reply = await replied
    assert.equal(reply.status, 200, reply.body)
    assert.deepEqual(JSON.parse(reply.body).ticks, [{ event_sequence: 1, sequence: 3, view_sequence: 2 }])
    const refused = await web.collect(redis, collectRequest({ cookie }), bytes('[]'))
    assert.equal(refused.status, 400)
    assert.equal((await redis.get(visit.session.id)).sequence, 3, 'nothing changed')
    await redis.close()
  })

  test('a bad request rejects with INVALID_ARGUMENT, a bad tracker throws it', async () => {
    const redis = await connect()
    const web = new Web()
    await assert.rejects(web.visit(redis, { path: '/' }), { code: 'INVALID_ARGUMENT', message: /request/ })
    await assert.rejects(web.collect(redis, collectRequest(), 'body'), { code: 'INVALID_ARGUMENT', message: /body/ })
    throwsCode(() => web.visit(null, page()), 'INVALID_ARGUMENT', /tracker/)
    assert.equal(await redis.count(), 0)
    await redis.close()
  })

  test('Redis gone: visit rejects with STORE_ERROR, collect answers 503', async () => {
    const server = await ownRedis(await freePort())
    const redis = await connect(server.url, { storeTimeout: 300 })
    const web = new Web()
    await web.visit(redis, page())
    await server.stop()
    await assert.rejects(web.visit(redis, page()), { code: 'STORE_ERROR' })
    const reply = await web.collect(redis, collectRequest(), bytes({ items: [{ kind: 'view' }] }))
    assert.equal(reply.status, 503)
    assert.equal(JSON.parse(reply.body).error.code, 'STORE_ERROR')
    // close()'s last sweep fails too, and says so.
    const warnings = await catchWarnings(async () => {
      await redis.close()
      await new Promise((resolve) => setImmediate(resolve))
    })
    assert.deepEqual(warnings.map((w) => w.code), ['SOJOURN_STORE_ERROR'])
  })
})
