// One track call per event against `trackMany` with batches: the speedup of
// crossing into the core once per batch. Prints one JSON line.
//
//     node bench/node/batch.mjs [--sessions N] [--events E] [--batch B] [--runs R]

import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

const require = createRequire(import.meta.url)
const { Tracker } = require('../../node/sojourn.js')

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100000' },
    events: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '100' },
    runs: { type: 'string', default: '5' },
  },
})
const [sessions, n, size, runs] = [values.sessions, values.events, values.batch, values.runs].map(Number)

const tracker = new Tracker({ unsignedTokens: true })
const ids = Array.from({ length: sessions }, () => tracker.start().id)
let seed = 7
const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648)
const events = Array.from({ length: n }, () => ids[next() % ids.length])
const batches = []
for (let i = 0; i < n; i += size) batches.push(events.slice(i, i + size))

const perSec = (f) => {
  const began = process.hrtime.bigint()
  f()
  return n / (Number(process.hrtime.bigint() - began) / 1e9)
}
const single = []
const batched = []
for (let r = 0; r < runs; r++) {
  single.push(perSec(() => events.forEach((id) => tracker.track(id, 'view'))))
  batched.push(perSec(() => batches.forEach((b) => tracker.trackMany(b, 'view'))))
}
tracker.close()
console.log(JSON.stringify({ language: 'node', batch: size, single_per_sec: single, batched_per_sec: batched }))
