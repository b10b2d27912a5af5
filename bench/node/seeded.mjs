// Seeded inputs the Node benchmarks share (ops.mjs, micro.mjs): the same
// numbers and ids for every contender and run of a seed.

/** A seeded generator of 32-bit numbers (mulberry32). */
export function random(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/** A uuid4's text from `next`. */
export function uuid4(next) {
  const b = Buffer.alloc(16)
  for (let i = 0; i < 16; i += 4) b.writeUInt32LE(next(), i)
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = b.toString('hex')
  // Flat, as a parser's strings are: a template literal makes a rope (a
  // ConsString), which its first reader (Map's hashing, Node-API's copy)
  // pays about 0.2 µs to walk or flatten.
  return Buffer.from(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`, 'latin1').toString('latin1')
}
