'use strict'
// `sojourn/express`: the middleware for Express 5 (and any framework of
// Node's `(req, res, next)` middleware).
//
//   const sojourn = require('sojourn/express')   // or: import sojourn from 'sojourn/express'
//   app.use(sojourn({ tracker }))
//
// On each request, unless `skip(req)` says so: the collect endpoint is
// answered here (its body read up to its bound, without a body parser);
// so is a `GET` of the browser client (`clientPath`), with the module;
// a request the filter skips passes on untouched; a page gets its session
// on `req.sojourn` and the session cookie, appended to any `Set-Cookie`
// the app sets, when its headers are written. HTTPS is Express's
// `req.secure` (behind a proxy, set `trust proxy`). With a `RedisTracker`,
// a failing store is the request's error (`next(error)`, `STORE_ERROR`).

const { Middleware, readBody, andThen, JSON_TYPE, BROWSER_CLIENT, CLIENT_HEADERS } = require('./web.js')

/** Adds `cookie` to the `Set-Cookie` header, keeping every one already there. */
function appendCookie(res, cookie) {
  const previous = res.getHeader('set-cookie')
  const cookies = previous === undefined ? [cookie] : [].concat(previous, cookie)
  res.setHeader('set-cookie', cookies)
}

/**
 * Appends `cookie` to the `Set-Cookie` header when the headers are written
 * (an explicit or implicit `res.writeHead`): after the app's own cookies,
 * however it set them, even in the headers given to `writeHead`.
 */
function appendWhenWritten(res, cookie) {
  const writeHead = res.writeHead
  res.writeHead = function writeHeadWithSojourn(statusCode, ...rest) {
    res.writeHead = writeHead
    // Headers given to `writeHead` replace those set before: the cookie
    // then goes among them.
    const i = rest.findIndex((a) => a !== null && typeof a === 'object' && !Array.isArray(a))
    const key = i === -1 ? undefined : Object.keys(rest[i]).find((k) => k.toLowerCase() === 'set-cookie')
    if (key !== undefined) {
      rest[i] = { ...rest[i], [key]: [].concat(rest[i][key], cookie) }
    } else {
      appendCookie(this, cookie)
    }
    return writeHead.call(this, statusCode, ...rest)
  }
}

/**
 * The body of a collect request: read here, or, if a body parser came
 * first and read it, what it made of it.
 */
function bodyOf(req, bound) {
  if (!req.readableEnded && !req.readableAborted) return readBody(req, bound)
  const parsed = req.body
  let body
  if (Buffer.isBuffer(parsed)) body = parsed
  else if (typeof parsed === 'string') body = Buffer.from(parsed)
  else if (parsed !== null && typeof parsed === 'object') body = Buffer.from(JSON.stringify(parsed))
  else body = Buffer.alloc(0)
  return Promise.resolve({ body, whole: true })
}

/**
 * Express middleware over `options.tracker` (a `Tracker` or a
 * `RedisTracker`); the other options are `Web`'s, and `skip`, a function
 * of the request that returns true for a request to leave alone. Throws
 * `INVALID_ARGUMENT` for a bad option.
 */
function sojourn(options) {
  const m = new Middleware(options)
  const { web, tracker, skip } = m

  async function collect(req, res, parts) {
    const { body, whole } = await bodyOf(req, m.readBound)
    const reply = await web.collect(tracker, parts, body)
    res.statusCode = reply.status
    res.setHeader('content-type', JSON_TYPE)
    if (reply.setCookie !== null) appendCookie(res, reply.setCookie)
    // The rest of the body is left unread: the connection cannot go on.
    if (!whole) res.setHeader('connection', 'close')
    res.end(reply.body)
  }

  return function sojournMiddleware(req, res, next) {
    try {
      if (skip !== undefined && skip(req)) return next()
      const parts = m.parts(req.method, req.originalUrl ?? req.url, req.secure === true, req.headers)
      const route = web.route(parts)
      if (route === 'skip') return next()
      if (route === 'collect') return void collect(req, res, parts).catch(next)
      if (route === 'client') {
        res.writeHead(200, CLIENT_HEADERS)
        return void res.end(BROWSER_CLIENT)
      }
      const page = andThen(web.visit(tracker, parts), (visit) => {
        req.sojourn = m.api(visit)
        appendWhenWritten(res, visit.setCookie)
        next()
      })
      if (page instanceof Promise) page.catch(next)
    } catch (error) {
      next(error)
    }
  }
}

module.exports = sojourn
