// Per-operation benchmark in Node: Sojourn against the `Map` peer
// (peers.mjs), one operation at a time. Prints one JSON line:
//
//     node bench/node/ops.mjs [--runs R] [--ops track,get,...] [--sessions N] [--count M]
//
//     {"sessions":100000,"count":200000,"runs":5,
//      "ns_per_op":{"track":{"sojourn":..,"map":..},...},
//      "cpu_ns_per_op":{...}, "samples":{"track":{"sojourn":[..],"map":[..]},...}}
//
// `ns_per_op` is the median of the runs' wall-clock times; map ÷ sojourn
// is Sojourn's speed-up (below 1, slower). `cpu_ns_per_op`, the median of
// the process's CPU time (user and system, all its threads) over the
// timed calls: on a machine shared with other work, it moves less. Each run of an operation, for each
// contender: a fresh tracker with N live sessions (default 100,000),
// started before the clock, then M timed operations (default 200,000) on
// sessions picked at random (seeded, the same picks for both contenders),
// every argument made before the clock.
//
// Each (operation, contender) runs in a process of its own, so that V8's
// type feedback of one never shapes another's code; the process warms up
// on a smaller tracker first (20,000 sessions, 50,000 operations), then
// times one run. The runs go in rounds, every operation and contender
// once per round, so that a slow spell of the machine falls on all of
// them alike.
//
// Operations: track (view), get, peek, identify (10,000 user ids), start,
// revive_unknown (an id never seen), revive_hints (the same, with counter
// hints), resume_existing (a live session's token; unsigned tokens),
// resume_signed (a live session's signed token: Sojourn with a 32-byte
// secret, the peer verifying an HMAC-SHA256 with node:crypto), and
// resume_revived (an unknown token, with hints). Sojourn's trackers take
// `unsignedTokens: true` but for resume_signed.

import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

import { MapTracker, SignedMapTracker } from './peers.mjs'
import { random, uuid4 } from './seeded.mjs'

const require = createRequire(import.meta.url)
// The package measured: node/ of this tree, or the copy of it at
// $SOJOURN_NODE (to hold one build while node/ is rebuilt, or to compare two).
const PACKAGE = process.env.SOJOURN_NODE ?? '../../node'

export const OPS = [
  'track',
  'get',
  'peek',
  'identify',
  'start',
  'revive_unknown',
  'revive_hints',
  'resume_existing',
  'resume_signed',
  'resume_revived',
]
const CONTENDERS = ['sojourn', 'map']
const SECRET = 'bench-secret-0123456789abcdefghij' // 32 bytes
const USERS = 10_000
const SEED = 20260102

function tracker(contender, op) {
  const signed = op === 'resume_signed'
  if (contender === 'sojourn') {
    const { Tracker } = require(`${PACKAGE}/sojourn.js`)
    return new Tracker(signed ? { secret: SECRET } : { unsignedTokens: true })
  }
  if (contender === 'map') return signed ? new SignedMapTracker(SECRET) : new MapTracker()
  throw new Error(`unknown contender ${contender}`)
}

/**
 * A fresh tracker with `sessions` live, and the arguments of `count`
 * calls of `op`, made before the clock.
 */
function setup(contender, op, sessions, count, seed) {
  const t = tracker(contender, op)
  const next = random(seed)
  const ids = new Array(sessions)
  const tokens = new Array(sessions)
  for (let i = 0; i < sessions; i++) {
    const s = t.start()
    ids[i] = s.id
    tokens[i] = contender === 'sojourn' ? s.token : op === 'resume_signed' ? t.token(s.id) : s.id
  }
  const a = new Array(count)
  let b = null
  if (op === 'start') {
    // No argument.
  } else if (op === 'revive_unknown' || op === 'revive_hints' || op === 'resume_revived') {
    for (let i = 0; i < count; i++) a[i] = uuid4(next)
    if (op !== 'revive_unknown') {
      b = new Array(count)
      for (let i = 0; i < count; i++) b[i] = { viewSequence: 1 + (next() % 30), eventSequence: next() % 61 }
    }
  } else {
    const from = op.startsWith('resume') ? tokens : ids
    for (let i = 0; i < count; i++) a[i] = from[next() % sessions]
    if (op === 'identify') {
      const users = Array.from({ length: USERS }, (_, i) => `user-${i}`)
      b = new Array(count)
      for (let i = 0; i < count; i++) b[i] = users[next() % USERS]
    }
  }
  return { t, a, b, view: contender === 'sojourn' ? 'view' : true }
}

// One timed loop a operation, each with its own call site.
const LOOPS = {
  track: (t, a, b, view) => {
    for (let i = 0; i < a.length; i++) t.track(a[i], view)
  },
  get: (t, a) => {
    for (let i = 0; i < a.length; i++) t.get(a[i])
  },
  peek: (t, a) => {
    for (let i = 0; i < a.length; i++) t.peek(a[i])
  },
  identify: (t, a, b) => {
    for (let i = 0; i < a.length; i++) t.identify(a[i], b[i])
  },
  start: (t, a) => {
    for (let i = 0; i < a.length; i++) t.start()
  },
  revive_unknown: (t, a) => {
    for (let i = 0; i < a.length; i++) t.revive(a[i])
  },
  revive_hints: (t, a, b) => {
    for (let i = 0; i < a.length; i++) t.revive(a[i], b[i])
  },
  resume_existing: (t, a) => {
    for (let i = 0; i < a.length; i++) t.resume(a[i])
  },
  resume_signed: (t, a) => {
    for (let i = 0; i < a.length; i++) t.resume(a[i])
  },
  resume_revived: (t, a, b) => {
    for (let i = 0; i < a.length; i++) t.resume(a[i], b[i])
  },
}

/** One run: ns per operation, wall-clock and the process's CPU time. */
function run(contender, op, sessions, count, seed, gc) {
  const { t, a, b, view } = setup(contender, op, sessions, count, seed)
  gc()
  const loop = LOOPS[op]
  const cpu = process.cpuUsage()
  const began = process.hrtime.bigint()
  loop(t, a, b, view)
  const ns = Number(process.hrtime.bigint() - began) / count
  const used = process.cpuUsage(cpu)
  if (typeof t.close === 'function') t.close()
  return [ns, ((used.user + used.system) * 1000) / count]
}

/** Checks that the contender's results are what the operation should give. */
function check(contender, op) {
  const { t, a, b, view } = setup(contender, op, 10, 3, 1)
  const s =
    op === 'track' ? t.track(a[0], view)
    : op === 'start' ? t.start()
    : op === 'identify' ? t.identify(a[0], b[0])
    : op.startsWith('resume') ? t.resume(a[0], b?.[0])
    : op.startsWith('revive') ? t.revive(a[0], b?.[0])
    : t[op](a[0])
  const session = op.startsWith('resume') ? s.session : s
  const outcome = op.startsWith('resume') ? s.outcome : null
  const want = { resume_existing: 'existing', resume_signed: 'existing', resume_revived: 'revived' }[op] ?? null
  if (outcome !== want) throw new Error(`${contender} ${op}: outcome ${outcome}, not ${want}`)
  if (b !== null && op !== 'identify' && session.viewSequence !== b[0].viewSequence) {
    throw new Error(`${contender} ${op}: viewSequence ${session.viewSequence}, not ${b[0].viewSequence}`)
  }
  if (op === 'track' && session.viewSequence !== 1) throw new Error(`${contender} track: no view counted`)
  if (typeof t.close === 'function') t.close()
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    ops: { type: 'string', default: OPS.join(',') },
    sessions: { type: 'string', default: '100000' },
    count: { type: 'string', default: '200000' },
    // In a child: one operation and contender, and the run's seed.
    child: { type: 'string' },
    contender: { type: 'string' },
    seed: { type: 'string' },
  },
})
const sessions = Number(values.sessions)
const count = Number(values.count)

if (values.child) {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc')
  const op = values.child
  const contender = values.contender
  check(contender, op)
  run(contender, op, Math.min(sessions, 20_000), Math.min(count, 50_000), 7, gc)
  console.log(JSON.stringify(run(contender, op, sessions, count, Number(values.seed), gc)))
} else {
  const ops = values.ops.split(',')
  for (const op of ops) if (!OPS.includes(op)) throw new Error(`unknown operation ${op}`)
  const runs = Number(values.runs)
  const perOp = () => Object.fromEntries(ops.map((op) => [op, Object.fromEntries(CONTENDERS.map((c) => [c, []]))]))
  const samples = perOp()
  const cpuSamples = perOp()
  const self = fileURLToPath(import.meta.url)
  for (let r = 0; r < runs; r++) {
    for (const op of ops) {
      for (const contender of CONTENDERS) {
        const args = [self, '--child', op, '--contender', contender, '--seed', String(SEED + r)]
        args.push('--sessions', String(sessions), '--count', String(count))
        const [ns, cpu] = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }))
        samples[op][contender].push(ns)
        cpuSamples[op][contender].push(cpu)
      }
    }
  }
  const medians = (xs) => Object.fromEntries(ops.map((op) => [op, Object.fromEntries(CONTENDERS.map((c) => [c, median(xs[op][c])]))]))
  console.log(
    JSON.stringify({ sessions, count, runs, ns_per_op: medians(samples), cpu_ns_per_op: medians(cpuSamples), samples }),
  )
}
