// What the scenario runner shares with the tests of the runner itself:
// the partial matcher of tests/scenarios/README.md, the conversion of the
// Node API's results into the scenarios' snake_case shapes, and the wait
// for `onEnd` calls queued on the event loop.

// Partial matching: an object matches when every key it lists matches
// (`attrs` must match exactly); a list matches when it has the same length
// and its items match the actual items in some order; `{ "in_order": [...] }`
// matches a list item by item; `{ "not": X }` matches anything but X.
export function matches(expected, actual) {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && assign(expected, actual, [])
  }
  if (expected !== null && typeof expected === 'object') {
    const keys = Object.keys(expected)
    if (keys.length === 1 && keys[0] === 'not') return !matches(expected.not, actual)
    if (keys.length === 1 && keys[0] === 'in_order') {
      const items = expected.in_order
      return Array.isArray(actual) && items.length === actual.length && items.every((e, i) => matches(e, actual[i]))
    }
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false
    return keys.every((k) =>
      k === 'attrs' ? exactly(expected[k], actual[k] ?? null) : matches(expected[k], actual[k] ?? null),
    )
  }
  return expected === actual
}

// Whether each expected item matches a distinct actual item.
function assign(expected, actual, used) {
  if (expected.length === 0) return true
  const [first, ...rest] = expected
  return actual.some((item, i) => {
    if (used[i] || !matches(first, item)) return false
    used[i] = true
    if (assign(rest, actual, used)) return true
    used[i] = false
    return false
  })
}

function exactly(expected, actual) {
  if (expected === null || typeof expected !== 'object') return expected === actual
  if (actual === null || typeof actual !== 'object') return false
  const keys = Object.keys(expected)
  return keys.length === Object.keys(actual).length && keys.every((k) => k in actual && exactly(expected[k], actual[k]))
}

const snake = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

// A result of the Node API in the scenarios' shape: snake_case keys,
// timestamps as ISO strings, a session end flattened with `duration_ms`, an
// error returned as an item of `trackMany` as `{ error: CODE }`. Attribute
// keys are data and stay as they are.
export function scenarioShape(value) {
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Error) return { error: value.code }
  if (Array.isArray(value)) return value.map(scenarioShape)
  if (value === null || typeof value !== 'object') return value
  if ('session' in value && 'reason' in value) {
    const { session, duration, ...end } = value
    return { ...scenarioShape(session), ...scenarioShape(end), duration_ms: duration }
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [snake(k), k === 'attrs' ? v : scenarioShape(v)]),
  )
}

// `onEnd` is called from a threadsafe function, which a sweep that queues
// ends calls: every pending end is delivered on the main thread in the
// poll phase of the event loop. Two `setImmediate` turns always have a poll
// phase between them (one alone does not when it is set during a poll
// phase, as ES module code often is).
const immediate = () => new Promise((resolve) => setImmediate(resolve))
export async function flush() {
  await immediate()
  await immediate()
}
