// Loads the W1 and W2 files written by bench/workload.py (formats
// described there).

import { readFileSync } from 'node:fs'

const hex = (bytes) => Buffer.from(bytes).toString('hex')

/** The hyphenated text of the 16-byte uuid at `at` in `data`. */
function uuid(data, at) {
  const h = hex(data.subarray(at, at + 16))
  // Flat, as a parser's strings are: a template literal makes a rope (a
  // ConsString), which its first reader (Map's hashing, Node-API's copy)
  // pays about 0.2 µs to walk or flatten.
  return Buffer.from(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`, 'latin1').toString('latin1')
}

/**
 * The workload in `path`: `{ workload: 'W1', prestart, ops, target, user,
 * users, revives }` for W1; for W2 `prestart` is 0, and `returning` (the
 * ids), `views` and `events` (their hints) are added.
 */
export function load(path) {
  const data = readFileSync(path)
  const magic = data.toString('latin1', 0, 4)
  if (magic !== 'SJW1' && magic !== 'SJW2') throw new Error(`${path}: not a W1 or W2 file`)
  const w2 = magic === 'SJW2'
  const first = data.readUInt32LE(8)
  const n = data.readUInt32LE(12)
  const nUsers = data.readUInt32LE(16)
  let at = 20
  let returning = null
  let views = null
  let events = null
  if (w2) {
    returning = Array.from({ length: first }, (_, i) => uuid(data, at + 16 * i))
    at += 16 * first
    views = new Uint32Array(first)
    events = new Uint32Array(first)
    for (let i = 0; i < first; i++) views[i] = data.readUInt32LE(at + 4 * i)
    at += 4 * first
    for (let i = 0; i < first; i++) events[i] = data.readUInt32LE(at + 4 * i)
    at += 4 * first
  }
  const ops = Uint8Array.from(data.subarray(at, at + n))
  at += n
  const target = new Uint32Array(n)
  const user = new Uint32Array(n)
  for (let i = 0; i < n; i++) target[i] = data.readUInt32LE(at + 4 * i)
  at += 4 * n
  for (let i = 0; i < n; i++) user[i] = data.readUInt32LE(at + 4 * i)
  at += 4 * n
  const revives = []
  for (let i = 0; i < n; i++) {
    if (ops[i] !== 5) continue
    revives.push(uuid(data, at))
    at += 16
  }
  const users = Array.from({ length: nUsers }, (_, i) => `user-${i}`)
  const w = { workload: w2 ? 'W2' : 'W1', prestart: w2 ? 0 : first, ops, target, user, users, revives }
  if (w2) Object.assign(w, { returning, views, events })
  return w
}
