// The types of `sojourn/fastify` (fastify.js): the plugin, and
// `request.sojourn` on Fastify's `FastifyRequest`.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'

import type { MiddlewareOptions, RedisTracker, Tracker, WebSession } from './sojourn'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The session of a page request and its API (`sojourn/fastify`);
     * `null` on a request the plugin left alone (what the filter or `skip`
     * skips).
     */
    sojourn: WebSession | null
  }
}

/**
 * The Fastify plugin over `options.tracker` (a `Tracker` or a
 * `RedisTracker`), wrapped with `fastify-plugin`: `app.register(sojourn, {
 * tracker })`. It answers the collect endpoint, leaves alone what the
 * filter skips, and gives a page its session (`request.sojourn`) and the
 * session cookie. The other options are `Web`'s, and `skip`. A bad option
 * fails the registration (`INVALID_ARGUMENT`).
 */
declare const sojourn: FastifyPluginAsync<sojourn.Options>

declare namespace sojourn {
  /** The options of the plugin. */
  type Options<T extends Tracker | RedisTracker = Tracker | RedisTracker> = MiddlewareOptions<T, FastifyRequest>
}

export = sojourn
