// A visit's whole lifecycle through the Node package, narrated: the same
// story as core/examples/lifecycle.rs, then a deploy that loses nothing (a
// snapshot, as core/examples/restart.rs). Run it with `make demo`. The
// clock is a mock clock that the demo moves by hand, so half an hour of
// idleness takes no time at all. (An application imports from 'sojourn'.)

import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { MockClock, Tracker } from '../../node/sojourn.mjs'

const MINUTE = 60_000
const WEEK = 7 * 24 * 60 * MINUTE
const SECRET = 'demo-secret-do-not-use-in-production'

// onEnd runs on the main thread once the call that ended a session has
// returned: wait two turns of the event loop for it to print.
const immediate = () => new Promise((resolve) => setImmediate(resolve))
const settle = async () => {
  await immediate()
  await immediate()
}

function printEnd(end) {
  const s = end.session
  console.log(
    `   onEnd: ${s.id} ${end.reason} after ${Math.floor(end.duration / MINUTE)} min: ` +
      `${s.viewSequence} views, ${s.eventSequence} events, user ${s.userId ?? '-'}, revivable ${end.revivable}`,
  )
}

const clock = new MockClock(new Date())
const tracker = new Tracker({
  clock,
  idleTimeout: 30 * MINUTE,
  // Sticky sessions: a client that comes back within a week keeps its
  // session and counters (the default window is the idle timeout).
  reviveWindow: WEEK,
  retention: WEEK,
  secret: SECRET,
  onEnd: printEnd,
})

console.log('1. A visitor arrives holding no token.')
const entry = { entry_page: '/pricing', referrer: 'https://news.example/', utm_source: 'newsletter' }
const { session, outcome } = tracker.resume(undefined, { attrs: entry })
console.log(`   ${outcome}: session ${session.id} (index ${session.sessionIndex})`)
console.log(`   the client keeps the signed token ${session.token.slice(0, 48)}…`)

console.log('2. It reads three pages and clicks once, then logs in.')
for (const page of ['/pricing', '/docs', '/signup']) {
  const tick = tracker.track(session.id, 'view')
  console.log(`   view ${page.padEnd(8)} -> view #${tick.viewSequence}, sequence ${tick.sequence}`)
  clock.advance(MINUTE)
}
let tick = tracker.track(session.id, 'event')
console.log(`   event click    -> event #${tick.eventSequence}, sequence ${tick.sequence}`)
tracker.identify(session.id, 'user-42')
console.log('   identified as user-42')

console.log('3. The tab sits idle for 45 minutes; the sweep reports the end:')
clock.advance(45 * MINUTE)
tracker.sweep()
await settle()

console.log('4. The visitor comes back the next day with its token.')
clock.advance(20 * 60 * MINUTE)
const back = tracker.resume(session.token)
console.log(
  `   ${back.outcome}: same id ${back.session.id === session.id}, revivals ${back.session.revivals}, ` +
    `user ${back.session.userId ?? '-'}`,
)
tick = tracker.track(session.id, 'view')
console.log(`   view /account -> view #${tick.viewSequence}, sequence ${tick.sequence} (counting on)`)

console.log('5. A restart without a snapshot forgets everything; the client\'s token and counters bring it back.')
const restarted = new Tracker({ clock, secret: SECRET, onEnd: printEnd })
const again = restarted.resume(session.token, {
  viewSequence: tick.viewSequence,
  eventSequence: tick.eventSequence,
})
console.log(
  `   ${again.outcome}: same id ${again.session.id === session.id}, ` +
    `views ${again.session.viewSequence}, events ${again.session.eventSequence}`,
)

console.log('6. A forged token starts a fresh session and is counted as rejected.')
const fresh = restarted.resume(`${session.id}.forged-signature`)
console.log(`   ${fresh.outcome}: new id ${fresh.session.id !== session.id}`)

console.log('7. The user logs out everywhere:')
restarted.identify(again.session.id, 'user-42')
const ended = restarted.endUser('user-42')
restarted.sweep()
await settle()
console.log(`   ${ended} session ended`)

const stats = restarted.stats()
console.log(
  `8. After the restart: ${stats.live} live, ${stats.started} started, ${stats.revived} revived, ` +
    `${stats.rejected} rejected, ${stats.ended.ended} ended.`,
)
console.log('9. Errors carry a stable code:')
try {
  restarted.track('not-a-session-id', 'view')
} catch (error) {
  console.log(`   ${error.code}: ${error.message}`)
}
tracker.close()
restarted.close()

// A restart that loses nothing: each process's tracker keeps its own
// snapshot, loaded when it is made and saved when it closes (or exits).
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'sojourn-demo-'))
const file = path.join(folder, 'sessions.snap')
const ends = []
const processTracker = () =>
  new Tracker({
    clock,
    secret: SECRET,
    snapshot: file,
    sweepInterval: 0,
    onEnd: (end) => {
      ends.push(end)
      printEnd(end)
    },
  })
const hhmm = (date) => date.toISOString().slice(11, 16)

console.log('10. A deploy: the tracker keeps a snapshot of its sessions ({ snapshot: file }).')
const before = processTracker()
const ann = before.start({ userId: 'ann', attrs: { plan: 'pro' } })
before.track(ann.id, 'view')
const idle = before.start()
console.log(`   ann's session ${ann.id} (1 view), and ${idle.id}, idle from now on`)
clock.advance(10 * MINUTE)
before.track(ann.id, 'view')
before.close()
console.log(`   the process stops: close() saves the snapshot (${fs.statSync(file).size} bytes)`)

clock.advance(25 * MINUTE)
console.log('11. 25 minutes later the new process loads it; the idle session ran out meanwhile:')
const after = processTracker()
after.sweep()
await settle()
console.log(
  `   it ended at ${hhmm(ends[0].endedAt)} UTC, its deadline, not when the new process started (${hhmm(clock.now())} UTC)`,
)
const { session: annBack, outcome: annOutcome } = after.resume(ann.token)
const annTick = after.track(annBack.id, 'view')
console.log(
  `   ann comes back: ${annOutcome}, user ${annBack.userId}, plan ${annBack.attrs.plan}, ` +
    `view #${annTick.viewSequence}; ${after.stats().loaded} sessions loaded`,
)
after.close()
fs.rmSync(folder, { recursive: true })
// `make test` runs this demo too: what it tells must be so.
assert.equal(annOutcome, 'existing')
assert.deepEqual([annBack.userId, annBack.attrs, annTick.viewSequence], ['ann', { plan: 'pro' }, 3])
assert.deepEqual(
  ends.map((end) => [end.session.id, end.reason, end.endedAt.getTime()]),
  [[idle.id, 'idle', idle.expiresAt.getTime()]],
)
