import { LRUCache } from 'lru-cache'

/**
 * Delivery ids already handled (`X-GitHub-Delivery`): a signed delivery
 * replayed, by GitHub's "redeliver" or by anyone who captured it, is
 * acknowledged and changes nothing. The most recent ids are kept.
 */
export class SeenDeliveries {
  readonly #seen: LRUCache<string, true>

  constructor(max: number) {
    this.#seen = new LRUCache<string, true>({ max })
  }

  /** True if `id` was handled before; remembers it either way. */
  repeat(id: string): boolean {
    if (this.#seen.has(id)) return true
    this.#seen.set(id, true)
    return false
  }
}

export interface MergeClock {
  now(): number
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
  /** When each release was last invalidated, and its merged follow-up if one is due. */
  readonly #last = new Map<string, { at: number; timer?: NodeJS.Timeout }>()

  constructor(windowMs: number, clock: MergeClock) {
    this.#windowMs = windowMs
    this.#clock = clock
  }

  /**
   * Invalidates `tag` now (`run` is called, its result returned), or, within
   * the window of the last time, once more at the window's end (null now).
   */
  request<T>(tag: string, run: () => T): T | null {
    const now = this.#clock.now()
    const last = this.#last.get(tag)
    if (last === undefined || now - last.at >= this.#windowMs) {
      clearTimeout(last?.timer)
      this.#last.set(tag, { at: now })
      this.#forgetOld(now)
      return run()
    }
    last.timer ??= setTimeout(
      () => {
        this.#last.set(tag, { at: this.#clock.now() })
        run()
      },
      this.#windowMs - (now - last.at),
    ).unref()
    return null
  }

  /** Drops every follow-up still due (the app is closing). */
  close(): void {
    for (const last of this.#last.values()) clearTimeout(last.timer)
    this.#last.clear()
  }

  // Only releases within a window matter; the rest would only grow the map.
  #forgetOld(now: number): void {
    for (const [tag, last] of this.#last) {
      if (now - last.at >= this.#windowMs && last.timer === undefined) this.#last.delete(tag)
    }
  }
}
