// A typed use of every operation, checked by `tsc --noEmit` (`make
// node-test`): the types that `index.d.ts` and `sojourn.d.ts` declare must
// accept what the README shows and refuse what the addon refuses.
import { __napiBindingTarget, MockClock, RedisTracker, testing, Tracker } from 'sojourn'
import type {
  ErrorCode,
  FaultSwitch,
  Hints,
  RedisTrackerOptions,
  Resumed,
  Session,
  SessionEnd,
  SnapshotCounts,
  SojournError,
  Stats,
  Tick,
  TrackerOptions,
} from 'sojourn'

const clock = new MockClock(new Date('2026-01-01T00:00:00Z'))
clock.advance(1000)
clock.set(Date.parse('2026-01-02T00:00:00Z'))
const now: Date = clock.now()

const ends: SessionEnd[] = []
const options: TrackerOptions = {
  idleTimeout: 30 * 60_000,
  maxLifetime: 24 * 3_600_000,
  reviveWindow: 7 * 86_400_000,
  retention: 7 * 86_400_000,
  maxSessions: 1_000,
  maxDormant: 1_000,
  secrets: ['a secret of at least sixteen bytes', 'the previous secret, still verifying'],
  maxCounterHint: 10_000,
  sweepInterval: 0,
  maxPendingEnds: 50_000,
  closeTimeout: 2_000,
  maxAttrsBytes: 4096,
  clock,
  onEnd: (end) => {
    const reason: 'idle' | 'lifetime' | 'ended' | 'evicted' = end.reason
    const ms: number = end.duration
    const at: Date = end.endedAt
    const revivable: boolean = end.revivable
    ends.push(end)
    void [reason, ms, at, revivable]
  },
}
const tracker = new Tracker(options)
new Tracker()
new Tracker({ secret: 'a secret of at least sixteen bytes' })
new Tracker({ unsignedTokens: true })

// For tests: a store that fails on demand.
const faultSwitch: FaultSwitch = new testing.FaultSwitch()
faultSwitch.fail(true)
faultSwitch.fail(false)
new Tracker({ faultSwitch, unsignedTokens: true, sweepInterval: 0 })

const session: Session = tracker.start({ userId: 'u1', attrs: { page: '/', n: 1, ok: true, none: null } })
tracker.start()
const id: string = session.id
const token: string = session.token
const user: string | null = session.userId
const previous: string | null = session.previousId
const times: Date[] = [session.startedAt, session.lastSeen, session.expiresAt]
const counters: number[] = [session.viewSequence, session.eventSequence, session.sequence, session.sessionIndex, session.revivals]
const page: string | number | boolean | null = session.attrs['page']

const tick: Tick = tracker.track(id, 'view')
tracker.track(id, 'event')
const batch: (Tick | null | SojournError)[] = tracker.trackMany([id, id], 'view')
const item = batch[0]
const first: number | undefined = item instanceof Error ? undefined : item?.sequence
const failed: ErrorCode | undefined = item instanceof Error ? item.code : undefined
const found: Session | null = tracker.get(id)
const peeked: Session | null = tracker.peek(id)
const live: boolean = tracker.exists(id)
tracker.identify(id, 'u2')
tracker.setAttrs(id, { referrer: 'https://example.com/' })
const hints: Hints = { userId: 'u2', viewSequence: 3, eventSequence: 1, attrs: { page: '/back' } }
const revived: Session = tracker.revive(id, hints)
tracker.revive(id)
const resumed: Resumed = tracker.resume(token, hints)
const outcome: 'existing' | 'revived' | 'started' = resumed.outcome
tracker.resume(undefined)
tracker.resume(null)
tracker.resume()
const all: Session[] = tracker.sessions()
const mine: Session[] = tracker.sessions('u2')
const counts: number[] = [tracker.count(), tracker.count('u2'), tracker.size]
const ended: SessionEnd | null = tracker.end(id)
const moved: number = tracker.reassignUser('u1', 'u3')
const gone: number[] = [tracker.endUser('u3'), tracker.forgetUser('u3'), tracker.endAll(), tracker.sweep()]
const stats: Stats = tracker.stats()
const byReason: number[] = [stats.ended.idle, stats.ended.lifetime, stats.ended.ended, stats.ended.evicted]
const limits: number[] = [stats.hintsClamped, stats.attrsDropped, stats.endsDropped, stats.endsPending]
const signed: string = tracker.token(id)

// Snapshots: the options, Tracker.load (of the subclass it is called on), save and saveSync.
const snapshotKey: Uint8Array = new Uint8Array(32)
const snapshotOptions: TrackerOptions = {
  secret: 'a secret of at least sixteen bytes',
  snapshot: '/var/lib/app/sessions.snap',
  snapshotInterval: 30_000,
  snapshotKey,
}
new Tracker({ ...snapshotOptions, load: '/var/lib/app/old.snap' })
const loaded: Tracker = Tracker.load('/var/lib/app/sessions.snap')
Tracker.load('/var/lib/app/sessions.snap', { secret: 'a secret of at least sixteen bytes', snapshotKey })
class AppTracker extends Tracker {}
const appTracker: AppTracker = AppTracker.load('/var/lib/app/sessions.snap', snapshotOptions)
async function saving(): Promise<number> {
  const counts: SnapshotCounts = await tracker.save('/var/lib/app/sessions.snap')
  return counts.live + counts.dormant
}
const savedNow: SnapshotCounts = tracker.saveSync('/var/lib/app/sessions.snap')
const snapshotCode: ErrorCode = 'SNAPSHOT_ERROR'
void [loaded, appTracker, saving, savedNow, snapshotCode]

const dropped: number = tracker.close()

// What the types refuse.
// @ts-expect-error: a kind is 'view' or 'event'
tracker.track(id, 'click')
// @ts-expect-error: ids are strings
tracker.get(42)
// @ts-expect-error: a batch is an array of ids
tracker.trackMany(id, 'view')
// @ts-expect-error: of string ids
tracker.trackMany([id, 42], 'event')
// @ts-expect-error: an item may be null: check it before use
tracker.trackMany([id], 'view')[0].sequence
// @ts-expect-error: or an error: check that too
tracker.trackMany([id], 'view')[0]!.sequence
// @ts-expect-error: attribute values are scalars
tracker.setAttrs(id, { nested: { a: 1 } })
// @ts-expect-error: durations are numbers of milliseconds
new Tracker({ idleTimeout: '30m' })
// @ts-expect-error: the clock is a MockClock
new Tracker({ clock: Date })
// @ts-expect-error: unsigned tokens are chosen with a boolean
new Tracker({ unsignedTokens: 'yes' })
// @ts-expect-error: the fault switch is a FaultSwitch
new Tracker({ faultSwitch: true })
// @ts-expect-error: and it is switched with a boolean
faultSwitch.fail('yes')
// @ts-expect-error: options are spelt as declared (refused at run time too)
new Tracker({ secert: 'a secret of at least sixteen bytes' })
// @ts-expect-error: the second argument is the package's own
new Tracker({}, () => {})
// @ts-expect-error: `size` is read-only
tracker.size = 3
// @ts-expect-error: the key is bytes, not text
new Tracker({ snapshotKey: 'do-not-show-this-key-0123456789!' })
// @ts-expect-error: the interval is milliseconds
new Tracker({ snapshotInterval: '60s' })
// @ts-expect-error: a path is a string
new Tracker({ snapshot: new URL('file:///var/lib/app/sessions.snap') })
// @ts-expect-error: save is a Promise: await it
void tracker.save('/tmp/s.snap').live
// @ts-expect-error: saveSync is not
void tracker.saveSync('/tmp/s.snap').then
// @ts-expect-error: Tracker.load takes the path first
void Tracker.load({ load: '/tmp/s.snap' })
// @ts-expect-error: and the path beside the options, not among them
void Tracker.load('/tmp/s.snap', { load: '/tmp/other.snap' })
// @ts-expect-error: not a code of this package
const notACode: ErrorCode = 'SNAPSHOT_FAILED'
void notACode

void [now, user, previous, times, counters, page, tick, batch, first, failed, found, peeked, live, revived, outcome]
void [all, mine, counts, ended, moved, gone, byReason, limits, signed, dropped]

// The Redis tracker: every option of a tracker, and where Redis is; every
// operation that reaches Redis a Promise of exactly what the memory
// tracker returns.
async function onRedis(): Promise<void> {
  const redisOptions: RedisTrackerOptions = {
    ...options,
    redisUrl: 'redis://127.0.0.1:6379/0',
    keyPrefix: 'shop',
    storeTimeout: 250,
  }
  const redis: RedisTracker = await RedisTracker.connect(redisOptions)
  await RedisTracker.connect({ redisCluster: ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001'] })
  await RedisTracker.connect({ redisUrl: 'redis://127.0.0.1:6379', secret: 'a secret of at least sixteen bytes', onEnd: (end: SessionEnd) => void end })
  const started: Promise<Session> = redis.start({ userId: 'u1', attrs: { page: '/' } })
  const s: Session = await started
  const tick: Tick = await redis.track(s.id, 'view')
  const batch: Array<Tick | null | SojournError> = await redis.trackMany([s.id], 'event')
  const item = batch[0]
  const failed: ErrorCode | undefined = item instanceof Error ? item.code : undefined
  const found: Session | null = await redis.get(s.id)
  const peeked: Session | null = await redis.peek(s.id)
  const live: boolean = await redis.exists(s.id)
  const identified: Session = await redis.identify(s.id, 'u2')
  const withAttrs: Session = await redis.setAttrs(s.id, { referrer: 'https://example.com/' })
  const revived: Session = await redis.revive(s.id, { viewSequence: 3 })
  const resumed: Resumed = await redis.resume(s.token, { attrs: { page: '/back' } })
  await redis.resume()
  await redis.resume(null)
  const ended: SessionEnd | null = await redis.end(s.id)
  const all: Session[] = await redis.sessions()
  const mine: Session[] = await redis.sessions('u2')
  const counts: number[] = [await redis.count(), await redis.count('u2')]
  const gone: number[] = [
    await redis.endUser('u2'),
    await redis.forgetUser('u2'),
    await redis.endAll(),
    await redis.reassignUser('u1', 'u3'),
    await redis.sweep(),
  ]
  const stats: Stats = await redis.stats()
  const exported: SnapshotCounts = await redis.save('/var/lib/app/redis.snap')
  await RedisTracker.connect({ redisUrl: 'redis://127.0.0.1:6379', load: '/var/lib/app/redis.snap', snapshotKey: new Uint8Array(32) })
  void exported
  const token: string = redis.token(s.id)
  const dropped: number = await redis.close()
  void [tick, failed, found, peeked, live, identified, withAttrs, revived, resumed, ended, all, mine, counts, gone, stats, token, dropped]

  // What the types refuse.
  // @ts-expect-error: a Promise of a session, not a session
  const notYet: Session = redis.start()
  // @ts-expect-error: a Promise has no counters: await it
  void redis.track(s.id, 'view').sequence
  // @ts-expect-error: the token needs no Redis: a string, not a Promise
  const later: Promise<string> = redis.token(s.id)
  // @ts-expect-error: a kind is 'view' or 'event'
  void redis.track(s.id, 'click')
  // @ts-expect-error: connected, not constructed
  new RedisTracker()
  // @ts-expect-error: where Redis is, to begin with
  void RedisTracker.connect({ keyPrefix: 'shop' })
  // @ts-expect-error: one Redis or a Cluster, not both
  void RedisTracker.connect({ redisUrl: 'redis://127.0.0.1', redisCluster: ['redis://127.0.0.1'] })
  // @ts-expect-error: a Cluster is a list of URLs
  void RedisTracker.connect({ redisCluster: 'redis://127.0.0.1:7000' })
  // @ts-expect-error: the prefix is a string
  void RedisTracker.connect({ redisUrl: 'redis://127.0.0.1', keyPrefix: 5 })
  // @ts-expect-error: the timeout is milliseconds
  void RedisTracker.connect({ redisUrl: 'redis://127.0.0.1', storeTimeout: '250ms' })
  // @ts-expect-error: options are spelt as declared
  void RedisTracker.connect({ redisURL: 'redis://127.0.0.1' })
  // @ts-expect-error: and a memory tracker takes no Redis
  new Tracker({ redisUrl: 'redis://127.0.0.1' })
  void [notYet, later]
}
void onRedis

// Only what sojourn.js exports is a value: not the loader's own export.
// @ts-expect-error: exported as a type only
void __napiBindingTarget
