import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'

/**
 * Deliveries already handled, known by the digest of their signed body: a
 * delivery replayed, by GitHub's "redeliver" or by anyone who captured it,
 * is acknowledged and changes nothing, whatever X-GitHub-Delivery it comes
 * with (the signature does not cover that header, so a replay can carry any
 * id). The most recent bodies are kept, each for `windowMs`: a body seen
 * again after that is acted on again, so two genuine deliveries that happen
 * to be identical are not merged for longer than the window.
 */
export class SeenDeliveries {
  readonly #seen: LRUCache<string, true>

  constructor(max: number, windowMs: number, clock?: { now(): number }) {
    this.#seen = new LRUCache<string, true>({
      max,
      ttl: windowMs,
      // Read the clock on every look: deliveries are few, and a test's clock moves at once.
      ttlResolution: 0,
      ...(clock === undefined ? {} : { perf: clock }),
    })
  }

  /** True if a delivery with this body was handled within the window; remembers it either way. */
  repeat(body: Buffer): boolean {
    const digest = createHash('sha256').update(body).digest('base64')
    if (this.#seen.has(digest)) return true
    this.#seen.set(digest, true)
    return false
  }
}

export interface MergeClock {
  now(): number
}

/** Runs a merged follow-up later: Node's timers, or a test's, which it fires itself. */
export interface Timers {
  set(run: () => void, ms: number): unknown
  clear(timer: unknown): void
}

const NODE_TIMERS: Timers = {
  set: (run, ms) => setTimeout(run, ms).unref(),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
}

/**
 * Invalidations of one release at most once per window: the first change is
 * acted on at once; those that follow within the window are merged into one
 * more at its end (whatever they were, the bytes to read are the latest), so
 * a storm of deliveries makes readers wait for at most one refresh a window.
 */
export class MergedInvalidations {
  readonly #windowMs: number
  readonly #clock: MergeClock
  readonly #timers: Timers
  /** When each release was last invalidated, and its merged follow-up if one is due. */
  readonly #last = new Map<string, { at: number; timer?: unknown }>()

  constructor(windowMs: number, clock: MergeClock, timers: Timers = NODE_TIMERS) {
    this.#windowMs = windowMs
    this.#clock = clock
    this.#timers = timers
  }

  /**
   * Invalidates `tag` now (`run` is called, its result returned), or, within
   * the window of the last time, once more at the window's end (null now).
   */
  request<T>(tag: string, run: () => T): T | null {
    const now = this.#clock.now()
    const last = this.#last.get(tag)
    if (last === undefined || now - last.at >= this.#windowMs) {
      if (last?.timer !== undefined) this.#timers.clear(last.timer)
      this.#last.set(tag, { at: now })
      this.#forgetOld(now)
      return run()
    }
    last.timer ??= this.#timers.set(
      () => {
        this.#last.set(tag, { at: this.#clock.now() })
        run()
      },
      this.#windowMs - (now - last.at),
    )
    return null
  }

  /** Drops every follow-up still due (the app is closing). */
  close(): void {
    for (const last of this.#last.values()) {
      if (last.timer !== undefined) this.#timers.clear(last.timer)
    }
    this.#last.clear()
  }

  // Only releases within a window matter; the rest would only grow the map.
  #forgetOld(now: number): void {
    for (const [tag, last] of this.#last) {
      if (now - last.at >= this.#windowMs && last.timer === undefined) this.#last.delete(tag)
    }
  }
}
