// Real servers of the web middlewares for their tests (web-express,
// web-fastify): the same small app in each framework, on a loopback port,
// over plain HTTP or TLS (a self-signed certificate made by `openssl`);
// and the HTTP client the tests use (Node's `fetch`, and `http.request`
// where a test needs raw control of the body).

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import express from 'express'
import Fastify from 'fastify'
import sojournExpress from 'sojourn/express'
import sojournFastify from 'sojourn/fastify'

/** What a handler answers: the request's session as the middleware gave it, or `{ session: null }`. */
async function describeSession(here, path) {
  if (here === undefined || here === null) return { session: null }
  const { session, outcome } = here
  const out = {
    session: session.id,
    token: session.token,
    outcome,
    views: session.viewSequence,
    events: session.eventSequence,
    sequence: session.sequence,
    userId: session.userId,
  }
  const [, action, arg] = path.split('?')[0].split('/')
  if (action === 'track') out.tick = await here.track(arg)
  if (action === 'identify') out.userId = (await here.identify(arg)).userId
  return out
}

/**
 * Pages of the app: a page, static files and health checks, the API's
 * actions, and scripts of its own where the browser client may be served
 * (the middleware answers first when it is).
 */
const PAGES = ['/', '/pricing', '/admin', '/healthz', '/static/app.js', '/track/:arg', '/identify/:arg', '/cookie',
  '/sojourn/browser.js', '/js/tracker.js']

/**
 * The Express app: the middleware first (as the README says), then every
 * page answering `describeSession`; `/cookie` sets a cookie of the app's
 * own with `res.setHeader`, which replaces any set before it.
 */
async function serveExpress(options, { trustProxy = false, tls = null, before = null } = {}) {
  const app = express()
  app.set('trust proxy', trustProxy)
  if (before !== null) app.use(before)
  app.use(sojournExpress(options))
  for (const page of PAGES) {
    app.get(page, async (req, res) => {
      if (page === '/cookie') res.setHeader('Set-Cookie', ['theme=dark; Path=/'])
      res.json(await describeSession(req.sojourn, req.path))
    })
  }
  // Errors as JSON, with their code, for the tests to read.
  app.use((error, req, res, next) => {
    void next
    res.status(500).json({ error: { code: error.code ?? null, message: error.message } })
  })
  const server = tls === null ? http.createServer(app) : https.createServer(tls, app)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `${tls === null ? 'http' : 'https'}://127.0.0.1:${server.address().port}`,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}

/** The Fastify app: the plugin, then the same pages; `/cookie` sets a cookie with `reply.header`. */
async function serveFastify(options, { trustProxy = false, tls = null } = {}) {
  const app = Fastify({ trustProxy, ...(tls === null ? {} : { https: tls }) })
  await app.register(sojournFastify, options)
  for (const page of PAGES) {
    app.get(page, async (request, reply) => {
      if (page === '/cookie') reply.header('set-cookie', 'theme=dark; Path=/')
      return describeSession(request.sojourn, request.url)
    })
  }
  app.setErrorHandler((error, request, reply) => {
    reply.code(500).send({ error: { code: error.code ?? null, message: error.message } })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    url: `${tls === null ? 'http' : 'https'}://127.0.0.1:${app.server.address().port}`,
    close: () => app.close(),
  }
}

/** The frameworks, by name, each with its `serve(middlewareOptions, serverOptions)`. */
export const frameworks = {
  express: { name: 'Express', serve: serveExpress },
  fastify: { name: 'Fastify', serve: serveFastify },
}

/** The `Cookie` header a browser sends back after these `Set-Cookie` values (their name=value parts). */
export function cookieOf(...setCookies) {
  return setCookies.map((c) => c.split(';')[0]).join('; ')
}

/** The session cookie among a response's `Set-Cookie` values (named `name`), or undefined. */
export function sessionCookie(setCookies, name = 'sojourn') {
  const found = setCookies.filter((c) => c.startsWith(`${name}=`))
  assert.ok(found.length <= 1, `more than one ${name} cookie: ${found}`)
  return found[0]
}

/**
 * A request with `fetch`: `{ status, type, setCookies, json }`, `json` the
 * body read as JSON (it must be JSON).
 */
export async function get(url, { method = 'GET', headers = {}, body } = {}) {
  const res = await fetch(url, { method, headers, body, redirect: 'manual' })
  const text = await res.text()
  let json
  try {
    json = JSON.parse(text)
  } catch {
    assert.fail(`${method} ${url}: ${res.status}, not JSON: ${text.slice(0, 200)}`)
  }
  return { status: res.status, type: res.headers.get('content-type'), setCookies: res.headers.getSetCookie(), json }
}

/**
 * A GET whose body is any text: `{ status, type, cacheControl, setCookies,
 * text }`.
 */
export async function getText(url, { headers = {} } = {}) {
  const res = await fetch(url, { headers, redirect: 'manual' })
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    cacheControl: res.headers.get('cache-control'),
    setCookies: res.headers.getSetCookie(),
    text: await res.text(),
  }
}

/** A collect request's answer: `get` with a POST of `body` (an object is sent as JSON text). */
export function post(url, body, headers = {}) {
  return get(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/**
 * A self-signed certificate for 127.0.0.1 made by `openssl`: `{ key,
 * cert }`, as `https.createServer` takes them.
 */
export function selfSigned() {
  const dir = mkdtempSync(join(tmpdir(), 'sojourn-tls-'))
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    )
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A GET over TLS that trusts `cert`: `{ status, setCookies, json }`. */
export function getTls(url, cert) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: cert }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode, setCookies: res.headers['set-cookie'] ?? [], json: JSON.parse(text) }))
    })
    req.on('error', reject)
  })
}

/**
 * A POST that announces `declared` bytes of body and sends only `sent`,
 * then waits for the answer without sending the rest: resolves to `{
 * status, headers, json }` if the server answers, rejects after `ms`.
 * Resolving shows that the server answered without reading the rest.
 */
export function postPartly(url, { declared, sent, ms = 5000, headers = {} }) {
  return new Promise((resolve, reject) => {
    const { hostname, port, pathname } = new URL(url)
    const req = http.request({
      host: hostname,
      port,
      path: pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': declared, ...headers },
    })
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error(`no answer within ${ms} ms with ${sent} of ${declared} bytes sent`))
    }, ms)
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => {
        clearTimeout(timer)
        req.destroy()
        resolve({ status: res.statusCode, headers: res.headers, json: JSON.parse(text) })
      })
    })
    // The server may close the connection once it has answered.
    req.on('error', () => {})
    req.write(Buffer.alloc(sent, 0x20))
  })
}
