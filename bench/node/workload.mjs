// Loads the W1 file written by bench/workload.py (format described there).

import { readFileSync } from 'node:fs'

const hex = (bytes) => Buffer.from(bytes).toString('hex')

export function load(path) {
  const data = readFileSync(path)
  if (data.toString('latin1', 0, 4) !== 'SJW1') throw new Error(`${path}: not a W1 file`)
  const prestart = data.readUInt32LE(8)
  const n = data.readUInt32LE(12)
  const nUsers = data.readUInt32LE(16)
  let at = 20
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
    const h = hex(data.subarray(at, at + 16))
    revives.push(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`)
    at += 16
  }
  const users = Array.from({ length: nUsers }, (_, i) => `user-${i}`)
  return { prestart, ops, target, user, users, revives }
}
