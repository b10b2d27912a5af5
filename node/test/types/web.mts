// A typed use of the web layer, checked by `tsc --noEmit` (`make
// node-test`): `Web` (at once with a `Tracker`, Promises with a
// `RedisTracker`), the Express middleware and `req.sojourn`, the Fastify
// plugin and `request.sojourn`, as the README shows them; the browser
// client's text for the server, and its module for a bundler.
import express from 'express'
import Fastify from 'fastify'
import { BROWSER_CLIENT, BROWSER_CLIENT_TYPE, RedisTracker, Tracker, Web } from 'sojourn'
import { Sojourn } from 'sojourn/browser'
import type { BrowserSession } from 'sojourn/browser'
import type { Reply, Session, Tick, Visit, WebConfig, WebOptions, WebRequest, WebSession } from 'sojourn'
import sojourn from 'sojourn/express'
import sojournPlugin from 'sojourn/fastify'

const tracker = new Tracker({ secret: 'a secret of at least sixteen bytes' })
const options: WebOptions = {
  cookieName: 'sid',
  cookieDomain: 'example.com',
  cookiePath: '/',
  sameSite: 'strict',
  secure: 'auto',
  cookieMaxAge: 7 * 86_400_000,
  tokenHeader: 'x-session',
  collectPath: null,
  maxBodyBytes: 16_384,
  maxItems: 50,
  clientPath: '/js/sojourn.js',
  trackViews: true,
  skipPaths: ['/up'],
  skipPrefixes: ['/public/'],
  skipExtensions: ['css'],
  botWords: [],
}
const web = new Web(options)
const config: WebConfig = web.options()
const secure: 'auto' | boolean = config.secure
const path: string | null = config.collectPath
const request: WebRequest = { method: 'GET', path: '/', https: false, cookie: null, tokenHeader: null, userAgent: 'Mozilla/5.0' }
const route: 'skip' | 'collect' | 'page' | 'client' = web.route(request)
const clientPath: string | null = config.clientPath
const client: string = BROWSER_CLIENT
const clientType: string = BROWSER_CLIENT_TYPE
void [clientPath, client, clientType, new Web({ clientPath: null })]
// The browser client's API, as a bundler's app uses it.
const browser = new Sojourn({ endpoint: '/sojourn/collect', pageView: false })
browser.event('signup')
const seen: BrowserSession | null = browser.session
void [seen, browser.flush({ beacon: true }).then((s) => s?.token)]
// @ts-expect-error: clientPath is a path or null
new Web({ clientPath: false })
const visit: Visit = web.visit(tracker, request)
const tick: Tick | null = visit.tick
const cookie: string = visit.setCookie
const reply: Reply = web.collect(tracker, { ...request, method: 'POST' }, new TextEncoder().encode('{"items":[]}'))
const status: number = reply.status
const replyCookie: string | null = reply.setCookie
void [config, secure, path, route, tick, cookie, status, replyCookie]

// @ts-expect-error: sameSite is one of three words
new Web({ sameSite: 'Lax' })
// @ts-expect-error: secure is 'auto' or a boolean
new Web({ secure: 'always' })
// @ts-expect-error: the body is bytes
web.collect(tracker, request, '{"items":[]}')

async function onRedis(redis: RedisTracker): Promise<void> {
  const visited: Visit = await web.visit(redis, request)
  // @ts-expect-error: with a RedisTracker, a Promise
  const now: Visit = web.visit(redis, request)
  const replied: Reply = await web.collect(redis, request, new Uint8Array())
  void [visited, now, replied]
}
void onRedis

const app = express()
app.use(sojourn({ tracker, trackViews: true, skip: (req) => req.path.startsWith('/admin') }))
app.get('/', (req, res) => {
  const here: WebSession | undefined = req.sojourn
  if (here !== undefined) {
    const session: Session = here.session
    const outcome: 'existing' | 'revived' | 'started' = here.outcome
    const counted: Tick | Promise<Tick> = here.track('event')
    void [session, outcome, counted]
  }
  res.send('ok')
})
// @ts-expect-error: a tracker is required
sojourn({ cookieName: 'sid' })
// @ts-expect-error: the options are Web's
sojourn({ tracker, cookie: 'sid' })

const fastify = Fastify({ trustProxy: true })
await fastify.register(sojournPlugin, { tracker, skip: (request) => request.url.startsWith('/admin') })
fastify.get('/', async (request) => {
  const here: WebSession | null = request.sojourn
  return here === null ? 'skipped' : here.session.id
})
// @ts-expect-error: the options are Web's
await fastify.register(sojournPlugin, { tracker, sameSite: 'lax', secure: 'yes' })

// The API of a memory tracker's session answers at once.
function counted(here: WebSession<Tracker>): number {
  return here.track('view').viewSequence
}
void counted
