'use strict'
// `sojourn/fastify`: the plugin for Fastify 5, wrapped with
// `fastify-plugin` so that its hook sees every route of the app.
//
//   const sojourn = require('sojourn/fastify')   // or: import sojourn from 'sojourn/fastify'
//   app.register(sojourn, { tracker })
//
// An `onRequest` hook, on each request unless `skip(request)` says so: the
// collect endpoint is answered there (its body read from the raw request
// up to its bound, before Fastify parses anything, whether or not a route
// has its path); so is a `GET` of the browser client (`clientPath`), with
// the module; a request the filter skips passes on untouched; a page
// gets its session on `request.sojourn` (`null` otherwise) and the session
// cookie on the reply (`reply.header('set-cookie', …)`, which Fastify
// appends to any other). HTTPS is Fastify's `request.protocol` (behind a
// proxy, set `trustProxy`). With a `RedisTracker`, a failing store is the
// request's error (`STORE_ERROR`).

const fastifyPlugin = require('fastify-plugin')

const { Middleware, readBody, JSON_TYPE, BROWSER_CLIENT, CLIENT_HEADERS } = require('./web.js')

/**
 * The plugin: its options are the tracker (`Tracker` or `RedisTracker`),
 * `skip` (a function of the request that returns true for a request to
 * leave alone), and `Web`'s. A bad option fails the registration
 * (`INVALID_ARGUMENT`).
 */
async function sojourn(fastify, options) {
  const m = new Middleware(options)
  const { web, tracker, skip } = m

  fastify.decorateRequest('sojourn', null)
  fastify.addHook('onRequest', async function sojournHook(request, reply) {
    if (skip !== undefined && skip(request)) return
    const parts = m.parts(request.method, request.url, request.protocol === 'https', request.headers)
    const route = web.route(parts)
    if (route === 'skip') return
    if (route === 'collect') {
      const { body, whole } = await readBody(request.raw, m.readBound)
      const answer = await web.collect(tracker, parts, body)
      reply.code(answer.status).header('content-type', JSON_TYPE)
      if (answer.setCookie !== null) reply.header('set-cookie', answer.setCookie)
      // The rest of the body is left unread: the connection cannot go on.
      if (!whole) reply.header('connection', 'close')
      return reply.send(answer.body)
    }
    if (route === 'client') return reply.code(200).headers(CLIENT_HEADERS).send(BROWSER_CLIENT)
    const visit = await web.visit(tracker, parts)
    request.sojourn = m.api(visit)
    reply.header('set-cookie', visit.setCookie)
  })
}

module.exports = fastifyPlugin(sojourn, { fastify: '5.x', name: 'sojourn' })
