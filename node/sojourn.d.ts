// The package's types: the addon's, generated from the Rust doc comments
// into `index.d.ts`, and what `sojourn.js` adds to `Tracker`. The values
// exported are those of `sojourn.js`: `Tracker`, `RedisTracker`, `MockClock`,
// `Web`, `testing`, and the browser client's `BROWSER_CLIENT` and
// `BROWSER_CLIENT_TYPE`.
import * as native from './index'

export type * from './index'
export { BROWSER_CLIENT, BROWSER_CLIENT_TYPE, MockClock } from './index'

/** The stable code of every error this package throws or returns. */
export type ErrorCode =
  | 'SESSION_NOT_FOUND'
  | 'INVALID_SESSION_ID'
  | 'SESSION_NOT_REVIVABLE'
  | 'INVALID_ARGUMENT'
  | 'STORE_ERROR'
  | 'SNAPSHOT_ERROR'

/**
 * An error of this package: a plain `Error` with a stable `code` (there is
 * no class of its own: test `error.code`, not `instanceof`). Thrown by
 * every operation, and returned, not thrown, for an item of `trackMany`.
 */
export interface SojournError extends Error {
  readonly code: ErrorCode
}

/**
 * Tracks live sessions: their counters, user, timestamps and attributes,
 * their expiry, revival and ends (see the addon's `Tracker` for every
 * operation). Session ends reach `onEnd` on the main thread: every end
 * pending on one turn of the event loop, and the rest at `close()`. A
 * function that throws is reported with `process.emitWarning`, and the
 * tracker goes on.
 */
export declare class Tracker extends native.Tracker {
  /**
   * A tracker with these options; throws `INVALID_ARGUMENT` for an option
   * out of range, of the wrong type, or unknown, and `SNAPSHOT_ERROR`
   * (naming the file) for a snapshot (`load`, `snapshot`) that cannot be
   * read whole. Without a secret and without `unsignedTokens: true` it
   * warns (`process.emitWarning`, a `SojournWarning` with code
   * `SOJOURN_UNSIGNED_TOKENS`).
   */
  constructor(options?: native.TrackerOptions)
  /**
   * A tracker made from the snapshot at `path`: the same as `new
   * Tracker({ ...options, load: path })`. Throws `SNAPSHOT_ERROR`, naming
   * the file, when it cannot be read whole (missing, truncated, corrupt,
   * not a snapshot, the wrong key or none, a plain file where a key is
   * given); no tracker is made then.
   */
  static load<T extends Tracker>(this: new (options?: native.TrackerOptions) => T, path: string, options?: Omit<native.TrackerOptions, 'load'>): T
  /** How many sessions are live (`count()`). */
  get size(): number
  /**
   * Counts one view or event on each id in turn, in one call. Returns, for
   * each id in order, its tick; `null` if its session is not live; or, for
   * any other error of that item (a counter at its maximum), a
   * `SojournError`, returned and not thrown, every other item being
   * tracked. A malformed id throws for the whole call, before anything is
   * tracked.
   */
  trackMany(ids: string[], kind: 'view' | 'event'): Array<native.Tick | null | SojournError>
  /**
   * Stops the background driver after a last sweep, and delivers every
   * pending end to `onEnd` before it returns, on this thread (for at most
   * `closeTimeout`; the ends still pending then are dropped and counted in
   * `stats().endsDropped`); then lets go of the threadsafe function.
   * Returns how many ends it dropped: 0 when all were delivered. With a
   * `snapshot`, it saves it (after the last sweep). The tracker still
   * answers calls; the ends of later calls are delivered by `sweep()` and
   * `close()`, at once. A tracker with a `snapshot` that is still open when
   * the process or worker thread exits is closed then, as by this.
   */
  close(): number
}

/**
 * Where a Redis tracker keeps its sessions: one Redis (`redisUrl`) or a
 * Redis Cluster (`redisCluster`, any of its nodes' URLs), exactly one.
 */
export type RedisTarget =
  | { redisUrl: string; redisCluster?: undefined }
  | { redisCluster: string[]; redisUrl?: undefined }

/**
 * The options of `RedisTracker.connect`: every option of a `Tracker`
 * (`TrackerOptions`), where Redis is (`RedisTarget`), and the store's own
 * (`RedisOptions`: `keyPrefix`, `storeTimeout`).
 */
export type RedisTrackerOptions = native.TrackerOptions & native.RedisOptions & RedisTarget

/**
 * A tracker whose sessions are in Redis (one server or a Cluster), shared
 * by every process and worker thread whose tracker has the same Redis and
 * `keyPrefix`: each session counted once across them, each end reported
 * once, by one of them. Made with `await RedisTracker.connect(options)`.
 * Every operation that reaches Redis returns a Promise, and waits on
 * libuv's thread pool, never on the main thread; a Promise rejects (never
 * throws) with the `SojournError` the memory tracker would throw: for a
 * bad argument (nothing is sent then), or `STORE_ERROR`, naming Redis's
 * address, when Redis does not answer within `storeTimeout`. `token(id)`
 * needs no store: it returns at once. Session ends reach `onEnd` on the
 * main thread, as with `Tracker`.
 */
export declare class RedisTracker extends native.RedisTracker {
  /** Made by `RedisTracker.connect` alone. */
  private constructor(connection: native.RedisConnection, onEnd?: (end: native.SessionEnd) => void)
  /**
   * Connects to Redis and resolves to the tracker. Rejects with
   * `INVALID_ARGUMENT` for an option out of range, of the wrong type, or
   * unknown, or with neither or both of `redisUrl` and `redisCluster`;
   * with `STORE_ERROR`, naming the address, when Redis does not answer
   * within `storeTimeout`.
   */
  static connect(options: RedisTrackerOptions): Promise<RedisTracker>
  /**
   * Counts one view or event on each id in turn, in one call. Resolves,
   * for each id in order, to its tick; `null` if its session is not live;
   * or, for any other error of that item, a `SojournError`, in its place.
   * A malformed id rejects the whole call, before anything is tracked.
   */
  trackMany(ids: string[], kind: 'view' | 'event'): Promise<Array<native.Tick | null | SojournError>>
  /**
   * Processes every due expiry in Redis now; resolves to how many
   * sessions departed. Their ends go to `onEnd` on a later turn of the
   * event loop (after `close()`, before it resolves).
   */
  sweep(): Promise<number>
  /**
   * Stops the background driver after a last sweep, delivers every
   * pending end to `onEnd` (for at most `closeTimeout`), and lets go of
   * the threadsafe functions: nothing of the tracker keeps the process
   * alive then. With a `snapshot`, it saves it (after the last sweep).
   * Resolves to how many ends it dropped: 0 when all were delivered. The
   * tracker still answers calls.
   */
  close(): Promise<number>
}

/**
 * The web layer's rules with one set of options, for a framework's
 * middleware (`sojourn/express` and `sojourn/fastify` are made of it):
 * which requests make a session, where the token comes from, the cookie
 * sent back, and the collect endpoint (see the addon's `Web`). With a
 * `Tracker`, `visit` and `collect` return at once; with a `RedisTracker`,
 * each returns a Promise, the call waiting on libuv's thread pool.
 */
export declare class Web extends native.Web {
  /**
   * Resumes the session of a page request and gives the `Set-Cookie` value
   * to send back (a bad or forged token starts a new session, never an
   * error). Throws `STORE_ERROR` when the store fails.
   */
  visit(tracker: Tracker, request: native.WebRequest): native.Visit
  /** As with a `Tracker`, as a Promise; rejects with `STORE_ERROR` when Redis fails. */
  visit(tracker: RedisTracker, request: native.WebRequest): Promise<native.Visit>
  visit(tracker: Tracker | RedisTracker, request: native.WebRequest): native.Visit | Promise<native.Visit>
  /**
   * Answers a collect request whose body's bytes (up to `maxBodyBytes`,
   * and one more to tell that it is over) are `body`: a reply with its
   * status and JSON body, never an error for what the client sent.
   */
  collect(tracker: Tracker, request: native.WebRequest, body: Uint8Array): native.Reply
  /** As with a `Tracker`, as a Promise. */
  collect(tracker: RedisTracker, request: native.WebRequest, body: Uint8Array): Promise<native.Reply>
  collect(tracker: Tracker | RedisTracker, request: native.WebRequest, body: Uint8Array): native.Reply | Promise<native.Reply>
}

/** What a call of `T` gives: at once with a `Tracker`, as a Promise with a `RedisTracker`. */
export type Answer<T extends Tracker | RedisTracker, R> = T extends RedisTracker ? Promise<R> : R

/**
 * What the middlewares of `sojourn/express` and `sojourn/fastify` put on a
 * page request (`req.sojourn`, `request.sojourn`): its session and a small
 * API on it. With a `RedisTracker`, `track` and `identify` return Promises.
 */
export interface WebSession<T extends Tracker | RedisTracker = Tracker | RedisTracker> {
  /** The session, as of the request's start. */
  readonly session: native.Session
  /** How it was found: `started`, `existing` or `revived`. */
  readonly outcome: 'existing' | 'revived' | 'started'
  /** Counts a view or an event now; the counters right after it. */
  track(kind: 'view' | 'event'): Answer<T, native.Tick>
  /** Sets the session's user (at most 256 bytes); the session then. */
  identify(userId: string): Answer<T, native.Session>
}

/**
 * The options of the middlewares of `sojourn/express` and
 * `sojourn/fastify`: the tracker, `skip`, and every option of `Web`.
 */
export interface MiddlewareOptions<T extends Tracker | RedisTracker, R> extends native.WebOptions {
  /** The tracker of the sessions: a `Tracker`, or a `RedisTracker`. */
  tracker: T
  /**
   * Returns true for a request to leave alone, as the filter leaves static
   * files alone: no session, no cookie, the collect endpoint not answered.
   * Asked first, on every request.
   */
  skip?: (request: R) => boolean
}

/**
 * What tests need and applications do not. `FaultSwitch`, given to a
 * tracker as the option `faultSwitch`, makes its store fail on demand: while
 * it is on, every call that reaches the store throws `STORE_ERROR` and
 * changes nothing, as with an unreachable Redis.
 */
export declare const testing: {
  readonly FaultSwitch: typeof native.FaultSwitch
}
