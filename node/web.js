'use strict'
// What the middlewares of `sojourn/express` (express.js) and
// `sojourn/fastify` (fastify.js) share. Each converts its framework's
// request into the parts the addon's `Web` looks at, and the answers back;
// every rule, default and limit is the core's (`Web`): which requests make a
// session, where the token comes from, the cookie and its attributes, the
// collect endpoint's body, bounds and replies. With a `Tracker` every call
// returns at once; with a `RedisTracker`, each is a Promise.

const { BROWSER_CLIENT, BROWSER_CLIENT_TYPE, RedisTracker, Tracker, Web } = require('./sojourn.js')

/** An error of a bad option, as the addon throws one. */
function invalid(name, reason) {
  const error = new Error(`invalid ${name}: ${reason}`)
  error.code = 'INVALID_ARGUMENT'
  return error
}

/** A middleware's options read: the tracker, `skip`, and the `Web` of the others. */
class Middleware {
  /**
   * `options`: `{ tracker, skip, ...web }`, the `Web`'s options being
   * checked by the addon (INVALID_ARGUMENT for any out of range or unknown).
   */
  constructor(options) {
    if (options === null || typeof options !== 'object') {
      throw invalid('options', 'expected an object with a tracker: { tracker, ...options }')
    }
    const { tracker, skip, ...web } = options
    if (!(tracker instanceof Tracker) && !(tracker instanceof RedisTracker)) {
      throw invalid('tracker', 'expected a Tracker or a RedisTracker')
    }
    if (skip !== undefined && typeof skip !== 'function') {
      throw invalid('skip', 'expected a function of the request that returns true to skip it')
    }
    this.web = new Web(web)
    this.tracker = tracker
    this.skip = skip
    const config = this.web.options()
    /** The header the token comes in, as Node names it (lower case). */
    this.tokenHeader = config.tokenHeader
    /** How much of a collect body is read: one byte over tells the core that it is too large. */
    this.readBound = config.maxBodyBytes + 1
  }

  /** The parts of a request for `Web`. */
  parts(method, path, https, headers) {
    return {
      method,
      path,
      https,
      cookie: headers.cookie,
      tokenHeader: headers[this.tokenHeader],
      userAgent: headers['user-agent'],
    }
  }

  /** What the request gets on it: its session and a small API. */
  api(visit) {
    const tracker = this.tracker
    const { session, outcome } = visit
    const id = session.id
    return {
      session,
      outcome,
      track: (kind) => tracker.track(id, kind),
      identify: (userId) => tracker.identify(id, userId),
    }
  }
}

/**
 * The body of `stream` (a Node request), read up to `bound` bytes: a
 * Promise of `{ body, whole }`, `whole` false when it stopped there and left
 * the rest unread (the stream is paused; the connection should then close).
 */
function readBody(stream, bound) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    const done = () => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.off('close', onClose)
    }
    const onData = (chunk) => {
      chunks.push(chunk)
      size += chunk.length
      if (size >= bound) {
        done()
        stream.pause()
        resolve({ body: Buffer.concat(chunks, size), whole: false })
      }
    }
    const onEnd = () => {
      done()
      resolve({ body: Buffer.concat(chunks, size), whole: true })
    }
    const onError = (error) => {
      done()
      reject(error)
    }
    // The client went away before the end.
    const onClose = () => {
      done()
      const error = new Error('the request was aborted before its body was read')
      error.code = 'ECONNRESET'
      reject(error)
    }
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onError)
    stream.on('close', onClose)
  })
}

/** The JSON content type of every reply of the collect endpoint. */
const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * The headers of the browser client's answer (the `'client'` route):
 * the module's text, cached for an hour; no session, no cookie.
 */
const CLIENT_HEADERS = Object.freeze({
  'content-type': BROWSER_CLIENT_TYPE,
  'cache-control': 'public, max-age=3600',
})

/** Calls `then` with `value`, or once it settles if it is a Promise (a RedisTracker's answer). */
function andThen(value, then) {
  return value instanceof Promise ? value.then(then) : then(value)
}

module.exports = { Middleware, readBody, andThen, JSON_TYPE, BROWSER_CLIENT, CLIENT_HEADERS }
