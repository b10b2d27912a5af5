// The CommonJS view of the same types: `require('sojourn')` from TypeScript.
import sojourn = require('sojourn')

const tracker: sojourn.Tracker = new sojourn.Tracker({ sweepInterval: 0, unsignedTokens: true })
const session: sojourn.Session = tracker.start()
const size: number = tracker.size
const clock: sojourn.MockClock = new sojourn.MockClock(0)
const faultSwitch: sojourn.FaultSwitch = new sojourn.testing.FaultSwitch()
faultSwitch.fail(true)
const items: Array<sojourn.Tick | null | sojourn.SojournError> = tracker.trackMany([session.id], 'view')
const erased: number = tracker.forgetUser('u1')
const counts: sojourn.SnapshotCounts = tracker.saveSync('/tmp/sessions.snap')
const loaded: sojourn.Tracker = sojourn.Tracker.load('/tmp/sessions.snap', { unsignedTokens: true, snapshotKey: new Uint8Array(32) })
const dropped: number = tracker.close()
void [session, size, clock, items, erased, counts, loaded, dropped]

async function onRedis(): Promise<number> {
  const redis: sojourn.RedisTracker = await sojourn.RedisTracker.connect({ redisUrl: 'redis://127.0.0.1:6379', unsignedTokens: true })
  const started: sojourn.Session = await redis.start()
  const tick: sojourn.Tick = await redis.track(started.id, 'view')
  void tick
  return redis.close()
}
void onRedis
