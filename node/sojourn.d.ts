// The package's types: the addon's, generated from the Rust doc comments
// into `index.d.ts`, and what `sojourn.js` adds to `Tracker`. The values
// exported are those of `sojourn.js`: `Tracker` and `MockClock`.
import * as native from './index'

export type * from './index'
export { MockClock } from './index'

/**
 * Tracks live sessions: their counters, user, timestamps and attributes,
 * their expiry, revival and ends (see the addon's `Tracker` for every
 * operation). `onEnd` is guarded: a function that throws is reported with
 * `process.emitWarning`, and the tracker goes on.
 */
export declare class Tracker extends native.Tracker {
  /** How many sessions are live (`count()`). */
  get size(): number
}
