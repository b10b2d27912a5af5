// stress/node_workers.mjs: the `ticks` check from Node worker threads.
//
// A Node `Tracker` serves one thread (node/README.md, Process model): a
// worker thread cannot use another thread's tracker. Sessions shared by
// worker threads live in Redis: each of the 8 workers connects its own
// `RedisTracker` on one key prefix (SOJOURN_REDIS_URL, from
// scripts/with-redis), and they track the same 500 sessions at once
// (25,000 tracks a worker at STRESS_SCALE=1), with a short idle timeout
// (1.5 s, while the workers' hot window moves on), eviction
// (maxSessions 300) and revival of the sessions found gone.
//
// Checked: each tick as it comes (sequence = views + events, strictly
// increasing per session as one worker sees it); at the end, per session,
// the sequences of all workers are exactly 1..n, n the counter Redis holds
// (read by reviving each session, which keeps its counters); one end per
// life (revivals 0..R each once, R the last life), each reported by one
// worker's onEnd. Prints one line of figures; exits 1 on any failure.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { RedisTracker } = require('../node/sojourn.js')

const WORKERS = 8
const POOL = 500
const WINDOW = 200
const OPTIONS = { idleTimeout: 1500, maxSessions: 300, sweepInterval: 50, unsignedTokens: true, closeTimeout: 30_000 }

if (isMainThread) {
  await main()
} else {
  await worker(workerData)
}

async function connect(keyPrefix, onEnd) {
  return RedisTracker.connect({ redisUrl: process.env.SOJOURN_REDIS_URL, keyPrefix, onEnd, ...OPTIONS })
}

async function worker({ keyPrefix, ids, tracks, seed }) {
  const ends = []
  const tracker = await connect(keyPrefix, (end) => ends.push([end.session.id, end.session.revivals, end.reason]))
  let state = seed
  const rnd = (n) => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n
  }
  const last = new Map()
  const ticks = []
  const failures = []
  let views = 0
  let misses = 0
  const began = Date.now()
  for (let done = 0; done < tracks; ) {
    const phase = Math.floor((Date.now() - began) / 1000)
    const idx = (phase * 50 + rnd(WINDOW)) % POOL
    const id = ids[idx]
    const kind = rnd(3) === 0 ? 'event' : 'view'
    let tick
    try {
      tick = await tracker.track(id, kind)
    } catch (e) {
      if (e.code !== 'SESSION_NOT_FOUND') throw e
      misses++
      await tracker.revive(id)
      continue
    }
    done++
    const q = tick.sequence
    if (q !== tick.viewSequence + tick.eventSequence || (last.get(idx) ?? 0) >= q) {
      failures.push(`${id}: ${q} after ${last.get(idx)}`)
    }
    last.set(idx, q)
    ticks.push(idx, q)
    if (kind === 'view') views++
  }
  const dropped = await tracker.close()
  parentPort.postMessage({ ticks, ends, failures, misses, views, dropped })
}

async function main() {
  const scale = Number(process.env.STRESS_SCALE ?? '1')
  const tracks = Math.max(Math.round(25_000 * scale), 200)
  const keyPrefix = `stress-workers-${process.pid}`
  const endsHere = []
  const starter = await connect(keyPrefix, (end) => endsHere.push([end.session.id, end.session.revivals, end.reason]))
  const ids = []
  for (let i = 0; i < POOL; i++) ids.push((await starter.start()).id)
  const began = Date.now()
  const results = await Promise.all(
    Array.from({ length: WORKERS }, (_, w) =>
      new Promise((resolve, reject) => {
        const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { keyPrefix, ids, tracks, seed: w * 7919 + 1 } })
        worker.once('message', resolve)
        worker.once('error', reject)
      }),
    ),
  )
  const elapsed = (Date.now() - began) / 1000
  // Redis's counters: each session revived (counters kept), then ended.
  const finals = []
  for (const id of ids) {
    const s = await starter.revive(id)
    finals.push([s.revivals, s.sequence])
  }
  await starter.endAll()
  const failures = []
  failures.push(...results.flatMap((r) => r.failures))
  if ((await starter.close()) !== 0 || results.some((r) => r.dropped !== 0)) failures.push('ends dropped')

  const index = new Map(ids.map((id, i) => [id, i]))
  const lives = ids.map(() => new Map())
  const allEnds = [...endsHere, ...results.flatMap((r) => r.ends)]
  const byReason = {}
  for (const [id, revivals, reason] of allEnds) {
    const l = lives[index.get(id)]
    l.set(revivals, (l.get(revivals) ?? 0) + 1)
    byReason[reason] = (byReason[reason] ?? 0) + 1
  }
  const seen = ids.map(() => [])
  let checked = 0
  for (const r of results) {
    for (let i = 0; i < r.ticks.length; i += 2) {
      seen[r.ticks[i]].push(r.ticks[i + 1])
      checked++
    }
  }
  let expected = 0
  for (let i = 0; i < POOL; i++) {
    const [last, total] = finals[i]
    expected += last + 1
    for (let life = 0; life <= last; life++) {
      const n = lives[i].get(life) ?? 0
      if (n !== 1) failures.push(`${ids[i]}: life ${life} reported ${n} times`)
    }
    const got = seen[i].sort((a, b) => a - b)
    if (got.length !== total || got.some((q, k) => q !== k + 1)) {
      failures.push(`${ids[i]}: counter ${total}, ticks seen ${got.length} (${got.slice(0, 5)}...)`)
    }
  }
  const misses = results.reduce((n, r) => n + r.misses, 0)
  const calls = checked + 2 * misses
  const figures =
    `workers=${WORKERS} (a RedisTracker each, one Redis) sessions=${POOL} tracks=${checked.toLocaleString('en')} ` +
    `(${tracks.toLocaleString('en')} a worker) calls/s=${Math.round(calls / elapsed).toLocaleString('en')} in ${elapsed.toFixed(1)}s; ` +
    `ticks checked=${checked.toLocaleString('en')} misses=${misses.toLocaleString('en')}; ` +
    `departures delivered/expected=${allEnds.length.toLocaleString('en')}/${expected.toLocaleString('en')} ` +
    `(${Object.entries(byReason).map(([k, v]) => `${k}=${v}`).join(' ')})`
  if (failures.length > 0) {
    console.log(`stress node-workers: FAIL (${failures.length} failures) ${figures}`)
    for (const f of failures.slice(0, 20)) console.error(`  node-workers: ${f}`)
    process.exit(1)
  }
  console.log(`stress node-workers: PASS ${figures}`)
}
