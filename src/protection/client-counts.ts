import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import { LRUCache } from 'lru-cache'

/** A client's requests in its current window, and the milliseconds left of it. */
export interface Count {
  readonly current: number
  readonly ttl: number
}

interface Window {
  current: number
  startMs: number
}

/**
 * Requests per client in fixed windows, kept in this process: the counting
 * @fastify/rate-limit's own LocalStore does, but synchronous and reachable,
 * so that the redirect lane (src/lane/) and the plugin add to the same
 * counts. A window starts at a client's first request and lasts windowMs.
 * Bounded: past `clients` entries the least recently seen is forgotten.
 */
export class ClientCounts {
  readonly #windows: LRUCache<string, Window>
  readonly #windowMs: number
  readonly #now: () => number

  constructor(clients: number, windowMs: number, now: () => number = Date.now) {
    this.#windows = new LRUCache<string, Window>({ max: clients })
    this.#windowMs = windowMs
    this.#now = now
  }

  /** Counts one request of the client `key` and returns its count so far. */
  hit(key: string): Count {
    const now = this.#now()
    let window = this.#windows.get(key)
    if (window === undefined) {
      window = { current: 0, startMs: now }
      this.#windows.set(key, window)
    } else if (now - window.startMs >= this.#windowMs) {
      window.current = 0
      window.startMs = now
    }
    window.current += 1
    return { current: window.current, ttl: this.#windowMs - (now - window.startMs) }
  }

  /** These counts as the plugin's `store` option (a class it constructs). */
  storeClass(): FastifyRateLimitStoreCtor {
    const hit = (key: string): Count => this.hit(key)
    return class SharedStore implements FastifyRateLimitStore {
      incr(key: string, callback: (error: Error | null, result?: Count) => void): void {
        callback(null, hit(key))
      }

      // The plugin asks a child store per limiter; all share these counts.
      child(): FastifyRateLimitStore {
        return this
      }
    }
  }
}
