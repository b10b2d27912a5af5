// The types of `sojourn/express` (express.js): the middleware, and
// `req.sojourn` on Express's `Request`.
import type { Request, RequestHandler } from 'express'

import type { MiddlewareOptions, RedisTracker, Tracker, WebSession } from './sojourn'

declare global {
  namespace Express {
    interface Request {
      /**
       * The session of a page request and its API (`sojourn/express`);
       * `undefined` on a request the middleware passed on untouched (what
       * the filter or `skip` skips).
       */
      sojourn?: WebSession
    }
  }
}

/**
 * Express middleware over `options.tracker` (a `Tracker` or a
 * `RedisTracker`): `app.use(sojourn({ tracker }))`. It answers the collect
 * endpoint, leaves alone what the filter skips, and gives a page its
 * session (`req.sojourn`) and the session cookie. The other options are
 * `Web`'s, and `skip`. Throws `INVALID_ARGUMENT` for a bad option.
 */
declare function sojourn<T extends Tracker | RedisTracker>(options: sojourn.Options<T>): RequestHandler

declare namespace sojourn {
  /** The options of the middleware. */
  type Options<T extends Tracker | RedisTracker = Tracker | RedisTracker> = MiddlewareOptions<T, Request>
}

export = sojourn
