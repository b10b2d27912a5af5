// Replays W1 or W2 (whichever WORKLOAD holds) with one Node contender and
// prints one JSON line.
//
//     node --expose-gc bench/node/w1.mjs WORKLOAD CONTENDER [--runs R] [--memory N]
//
// CONTENDER is `sojourn`, `map` or `lru-cache`. With `--memory N` it
// measures RSS growth per session over N starts instead.
//
// W1: the prestarted sessions are started before the clock; ops/s is
// n_ops / elapsed. W2: nothing before the clock but the hints' objects;
// the clock runs from the first returning visitor's revive (each revived
// with its hints) through W1's operations on them; ops/s is (returning +
// n_ops) / elapsed.

import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

import { LruTracker, MapTracker } from './peers.mjs'
import { load } from './workload.mjs'

const require = createRequire(import.meta.url)

function make(name) {
  if (name === 'sojourn') {
    const { Tracker } = require('../../node/sojourn.js')
    return { c: new Tracker({ unsignedTokens: true }), view: 'view', event: 'event' }
  }
  if (name === 'map') return { c: new MapTracker(), view: true, event: false }
  if (name === 'lru-cache') return { c: new LruTracker(), view: true, event: false }
  throw new Error(`unknown contender ${name}`)
}

function replay({ c, view, event }, w) {
  // W2's sessions are its returning visitors' ids, then those started.
  const ids = w.workload === 'W2' ? w.returning.slice() : []
  for (let i = 0; i < w.prestart; i++) ids.push(c.start().id)
  let hints = null
  if (w.workload === 'W2') {
    const { views, events } = w
    hints = Array.from(w.returning, (_, i) => ({ viewSequence: views[i], eventSequence: events[i] }))
  }
  globalThis.gc?.()
  const began = process.hrtime.bigint()
  if (hints !== null) {
    const { returning } = w
    for (let i = 0; i < returning.length; i++) c.revive(returning[i], hints[i])
  }
  mix({ c, view, event }, w, ids)
  const seconds = Number(process.hrtime.bigint() - began) / 1e9
  if (typeof c.close === 'function') c.close()
  return (w.ops.length + (hints?.length ?? 0)) / seconds
}

/** W1's operations, on the sessions of `ids` (to which starts are added). */
function mix({ c, view, event }, w, ids) {
  const { ops, target, user, users, revives } = w
  let nextRevive = 0
  for (let i = 0; i < ops.length; i++) {
    switch (ops[i]) {
      case 0:
        c.track(ids[target[i]], view)
        break
      case 1:
        c.track(ids[target[i]], event)
        break
      case 2:
        c.get(ids[target[i]])
        break
      case 3:
        ids.push(c.start().id)
        break
      case 4:
        c.identify(ids[target[i]], users[user[i]])
        break
      default:
        c.revive(revives[nextRevive++])
    }
  }
}

function memory({ c }, n) {
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  for (let i = 0; i < n; i++) c.start()
  globalThis.gc?.()
  const perSession = (process.memoryUsage().rss - before) / n
  if (typeof c.close === 'function') c.close()
  return perSession
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, memory: { type: 'string' } },
})
const [path, name] = positionals
if (values.memory) {
  const n = Number(values.memory)
  console.log(JSON.stringify({ contender: name, sessions: n, bytes_per_session: memory(make(name), n) }))
} else {
  const w = load(path)
  const runs = []
  for (let r = 0; r < Number(values.runs); r++) runs.push(replay(make(name), w))
  console.log(JSON.stringify({ contender: name, workload: w.workload, threads: 1, ops_per_sec: runs }))
}
