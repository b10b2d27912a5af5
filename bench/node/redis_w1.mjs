// Replays the start of W1 on Redis from one process or several, and
// prints one JSON line: bench/rust/src/bin/redis_w1.rs in Node.
//
//     node bench/node/redis_w1.mjs WORKLOAD CONTENDER URL [--ops N]
//         [--prestart P] [--processes K] [--runs R]
//
// CONTENDER is `sojourn` (`await RedisTracker.connect(...)`, each call
// awaited as a request handler would) or `ioredis` (what a user writes
// with ioredis: a hash a session, each operation one pipeline of
// HSET/HINCRBY and PEXPIRE, the TTL as the idle timeout; no end is ever
// reported). The sessions are made before the clock runs under ids every
// process derives alike; each process replays its K-th of the operations.

import { spawn } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { load } from './workload.mjs'

const require = createRequire(import.meta.url)
const IDLE_MS = 30 * 60 * 1000

// The i-th prestarted session's id: a uuid4 every process derives alike.
function derived(i) {
  const b = createHash('md5').update(String(i)).digest()
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

class IoredisTracker {
  constructor(url, prefix) {
    const Redis = require('ioredis')
    this.r = new Redis(url)
    this.prefix = prefix
  }
  async create(id) {
    const now = Date.now()
    const key = `${this.prefix}:${id}`
    await this.r.pipeline().hset(key, { started_at: now, last_seen: now, views: 0, events: 0 }).pexpire(key, IDLE_MS).exec()
    return id
  }
  start() { return this.create(randomUUID()) }
  revive(id) { return this.create(id) }
  async track(id, kind) {
    const key = `${this.prefix}:${id}`
    const [[, n]] = await this.r.pipeline().hincrby(key, kind === 'view' ? 'views' : 'events', 1)
      .hset(key, 'last_seen', Date.now()).pexpire(key, IDLE_MS).exec()
    return n
  }
  get(id) { return this.r.hgetall(`${this.prefix}:${id}`) }
  async identify(id, user) {
    const key = `${this.prefix}:${id}`
    await this.r.pipeline().hset(key, 'user_id', user).pexpire(key, IDLE_MS).exec()
  }
  close() { this.r.disconnect() }
}

class SojournTracker {
  static async connect(url, prefix) {
    const { RedisTracker } = require('../../node/sojourn.js')
    const s = new SojournTracker()
    s.t = await RedisTracker.connect({ unsignedTokens: true, redisUrl: url, keyPrefix: prefix })
    return s
  }
  async start() { return (await this.t.start()).id }
  async revive(id) { await this.t.revive(id); return id }
  track(id, kind) { return this.t.track(id, kind) }
  get(id) { return this.t.get(id) }
  identify(id, user) { return this.t.identify(id, user) }
  close() { return this.t.close() }
}

function make(name, url, prefix) {
  if (name === 'sojourn') return SojournTracker.connect(url, prefix)
  if (name === 'ioredis') return new IoredisTracker(url, prefix)
  throw new Error(`unknown contender ${name}`)
}

async function part(c, w, k, n, ops, prestart) {
  const ids = Array.from({ length: prestart }, (_, i) => derived(i))
  const chunk = Math.ceil(ops / n)
  const lo = k * chunk
  const hi = Math.min((k + 1) * chunk, ops)
  let reviveAt = 0
  for (let i = 0; i < lo; i++) if (w.ops[i] === 5) reviveAt++
  const began = process.hrtime.bigint() + wallOffset()
  for (let i = lo; i < hi; i++) {
    const op = w.ops[i]
    const t = w.target[i] % ids.length
    if (op === 0) await c.track(ids[t], 'view')
    else if (op === 1) await c.track(ids[t], 'event')
    else if (op === 2) await c.get(ids[t])
    else if (op === 3) ids.push(await c.start())
    else if (op === 4) await c.identify(ids[t], w.users[w.user[i]])
    else await c.revive(w.revives[reviveAt++])
  }
  return [began, process.hrtime.bigint() + wallOffset()]
}

// hrtime is per process: an offset to the wall clock in ns, so that the
// spans of several processes compare.
let offset
function wallOffset() {
  if (offset === undefined) offset = BigInt(Date.now()) * 1000000n - process.hrtime.bigint()
  return offset
}

const { values: a, positionals: [workload, contender, url] } = parseArgs({
  allowPositionals: true,
  options: {
    ops: { type: 'string', default: '20000' },
    prestart: { type: 'string', default: '10000' },
    processes: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    child: { type: 'string' },
    prefix: { type: 'string' },
  },
})
const w = load(workload)
const ops = Math.min(Number(a.ops), w.ops.length)
const prestart = Math.min(Number(a.prestart), w.prestart)
const processes = Number(a.processes)

if (a.child !== undefined) {
  const c = await make(contender, url, a.prefix)
  const [began, ended] = await part(c, w, Number(a.child), processes, ops, prestart)
  await c.close()
  console.log(JSON.stringify({ began: String(began), ended: String(ended) }))
} else {
  const figures = []
  for (let run = 0; run < Number(a.runs); run++) {
    const prefix = `w1node-${contender}-${process.pid}-${run}`
    const c = await make(contender, url, prefix)
    for (let i = 0; i < prestart; i++) await c.revive(derived(i))
    await c.close()
    const spans = await Promise.all(Array.from({ length: processes }, (_, k) => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), workload, contender, url,
        '--ops', String(ops), '--prestart', String(prestart), '--processes', String(processes),
        '--child', String(k), '--prefix', prefix], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (d) => { out += d })
      child.on('exit', (code) => code === 0 ? resolve(JSON.parse(out)) : reject(new Error('a replay process failed')))
    })))
    const first = spans.map((s) => BigInt(s.began)).reduce((x, y) => (x < y ? x : y))
    const last = spans.map((s) => BigInt(s.ended)).reduce((x, y) => (x > y ? x : y))
    figures.push(ops / (Number(last - first) / 1e9))
  }
  console.log(JSON.stringify({ contender, processes, ops, ops_per_sec: figures }))
}
