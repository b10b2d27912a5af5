// Types of Sojourn's browser client (`sojourn/browser`).

/** The session as the server last gave it (shared by the site's tabs). */
export interface BrowserSession {
  id: string
  /** What the server recognises the session by (kept in localStorage). */
  token: string
  view_sequence: number
  event_sequence: number
  session_index: number
  previous_id: string | null
}

export interface SojournOptions {
  /** The collect endpoint (default `/sojourn/collect`). */
  endpoint?: string
  /** The localStorage key (default `sojourn`). */
  storageKey?: string
  /** The cookie the counters are kept in for page requests (default `sojourn_hints`). */
  hintsCookie?: string
  /** How long events wait to be sent together, in ms, while a batch is on its way (default 1000). */
  flushInterval?: number
  /** Items kept at most while the server cannot be reached (default 100; the oldest go first). */
  maxQueue?: number
  /** Whether making the client counts a view of this page (default true). */
  pageView?: boolean
}

export declare class Sojourn {
  constructor(options?: SojournOptions)
  readonly options: Required<SojournOptions>
  /** The session as the server last gave it, or null before its first answer. */
  readonly session: BrowserSession | null
  /** Counts a view. */
  view(): void
  /** Counts an event (its name is sent; the server counts it). */
  event(name?: string): void
  /** Calls `listener` whenever the session changes, in any tab; returns a function that stops it. */
  subscribe(listener: (session: BrowserSession | null) => void): () => void
  /** Sends what is queued now; resolves to the session once the server answered (null if it did not). */
  flush(options?: { beacon?: boolean }): Promise<BrowserSession | null>
}
