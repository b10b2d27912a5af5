// Sojourn behind Express, with the browser client on the page:
//
//     node server.mjs [--port 3000] [--snapshot FILE] [--redis URL]
//
// On the memory store by default; `--snapshot FILE` keeps the sessions
// across restarts (saved on exit, loaded at start), `--redis URL` keeps
// them in Redis for every process. Open http://127.0.0.1:3000/.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import express from 'express'
import { RedisTracker, Tracker } from 'sojourn'
import sojourn from 'sojourn/express'

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    snapshot: { type: 'string' },
    redis: { type: 'string' }
  }
})

const options = {
  secret: process.env.SOJOURN_SECRET ?? 'an example secret, at least sixteen bytes',
  onEnd: (end) => console.log(`session ${end.session.id} ended (${end.reason})`)
}
const tracker = args.redis
  ? await RedisTracker.connect({ ...options, redisUrl: args.redis })
  : new Tracker({ ...options, snapshot: args.snapshot })

const page = readFileSync(new URL('../page.html', import.meta.url), 'utf8')

const app = express()
// The session on every page, the collect endpoint (POST /sojourn/collect)
// and the browser client (GET /sojourn/browser.js): one line.
app.use(sojourn({ tracker }))
app.get('/', (req, res) => res.type('html').send(page))
// The server's own view of the visit, for the page (and its tests).
app.get('/api/session', (req, res) => {
  const { session, outcome } = req.sojourn
  res.json({
    outcome,
    session: {
      id: session.id,
      session_index: session.sessionIndex,
      view_sequence: session.viewSequence,
      event_sequence: session.eventSequence
    }
  })
})

const server = app.listen(Number(args.port), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${args.port}/`)
})

// A deploy stops the process with SIGTERM: close the server, then the
// tracker (which saves the snapshot and delivers the last ends).
process.on('SIGTERM', () => {
  server.close()
  server.closeAllConnections()
  Promise.resolve(tracker.close()).then(() => process.exit(0))
})
