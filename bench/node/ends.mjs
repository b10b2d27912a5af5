// Sessions that keep expiring: how many session ends per second reach a
// Node `onEnd` callback. Prints one JSON line.
//
//     node bench/node/ends.mjs [--sessions N] [--rounds R]
//
// Each round starts N sessions, moves a mock clock past the idle timeout
// and sweeps; the time runs until the last end of the round has reached the
// callback on the main thread.

import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

const require = createRequire(import.meta.url)
const { MockClock, Tracker } = require('../../node/sojourn.js')

const { values } = parseArgs({
  options: { sessions: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' } },
})
const sessions = Number(values.sessions)
const rounds = Number(values.rounds)

let delivered = 0
let roundDone = null
const clock = new MockClock(new Date())
const tracker = new Tracker({
  unsignedTokens: true,
  clock,
  idleTimeout: 1000,
  sweepInterval: 0,
  onEnd: () => {
    delivered++
    if (delivered % sessions === 0) roundDone?.()
  },
})

// The callback does not hold the event loop open by itself: hold it while
// waiting for a round's ends.
const keepAlive = setInterval(() => {}, 1000)
const rates = []
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < sessions; i++) tracker.start()
  clock.advance(1000)
  const done = new Promise((resolve) => {
    roundDone = resolve
  })
  const began = process.hrtime.bigint()
  const ended = tracker.sweep()
  await done
  const seconds = Number(process.hrtime.bigint() - began) / 1e9
  if (ended !== sessions) throw new Error(`${ended} ended of ${sessions}`)
  rates.push(ended / seconds)
}
clearInterval(keepAlive)
tracker.close()
console.log(JSON.stringify({ language: 'node', sessions, ends_per_sec: rates }))
