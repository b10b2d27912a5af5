// `make demo`'s Node narration runs, and tells its story in order (the
// ends printed by onEnd where the narration expects them), the deploy with
// a snapshot included.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

const DEMO = fileURLToPath(new URL('../../examples/node/lifecycle.mjs', import.meta.url))

test('the lifecycle demo runs and narrates in order', () => {
  const out = execFileSync(process.execPath, [DEMO], { encoding: 'utf8' })
  const lines = out.trimEnd().split('\n')
  const at = (pattern) => {
    const i = lines.findIndex((line) => pattern.test(line))
    assert.ok(i >= 0, `no line matches ${pattern}:\n${out}`)
    return i
  }
  assert.ok(at(/^3\. /) < at(/onEnd: .* idle after 3 min: 3 views, 1 events, user user-42, revivable true$/))
  assert.ok(at(/onEnd: .* idle after/) < at(/^4\. /))
  at(/^   revived: same id true, revivals 1, user user-42$/)
  at(/^   revived: same id true, views 4, events 1$/)
  assert.ok(at(/^7\. /) < at(/onEnd: .* ended after 1248 min/))
  assert.ok(at(/onEnd: .* ended after 1248 min/) < at(/^   1 session ended$/))
  assert.match(out, /8\. After the restart: 1 live, 1 started, 1 revived, 1 rejected, 1 ended\./)
  assert.match(out, /INVALID_SESSION_ID: invalid session id "not-a-session-id"/)
  // The deploy with a snapshot: the idle session's end is reported by the
  // new process, at its deadline, and ann goes on.
  assert.ok(at(/^10\. A deploy/) < at(/close\(\) saves the snapshot \(\d+ bytes\)$/))
  const loaded = at(/^11\. 25 minutes later the new process loads it/)
  assert.ok(loaded < at(/onEnd: .* idle after 0 min: 0 views, 0 events, user -, revivable false$/))
  const ended = /^   it ended at (\d\d):(\d\d) UTC, its deadline, not when the new process started \((\d\d):(\d\d) UTC\)$/.exec(
    lines[at(/^   it ended at/)],
  )
  assert.ok(ended, out)
  const [, h1, m1, h2, m2] = ended.map(Number)
  assert.equal((h2 * 60 + m2 - (h1 * 60 + m1) + 1440) % 1440, 5, 'the end was 5 minutes before the new process started')
  assert.ok(loaded < at(/^   ann comes back: existing, user ann, plan pro, view #3; 2 sessions loaded$/))
})
