import { LRUCache } from 'lru-cache'

/** Milliseconds from any fixed point; tests move it to expire entries. */
export interface Clock {
  now(): number
}

/** What a refresh found: the value to hold, and for how long it is fresh. */
export interface Refreshed<V> {
  readonly value: V
  readonly ttlMs: number
}

/**
 * `A` is what a reader asks about a key, handed to the refresh it starts
 * (the check target behind a URL); `undefined` where the key says it all.
 */
export interface RefreshingOptions<V, A = undefined> {
  readonly clock: Clock
  /** The most keys held; the least recently used is forgotten first. */
  readonly max: number
  /**
   * The most bytes held, by `sizeOf`'s estimate of each key and value; the
   * least recently used is forgotten first. Unset: bounded by `max` alone.
   */
  readonly maxBytes?: number
  readonly sizeOf?: (key: string, value: V) => number
  /**
   * Asks the source about a key. `last` is the value held, fresh or not, so
   * that a refresh can revalidate it (a 304) or keep it when the source
   * cannot answer (stale if error): that policy is the caller's. Must not
   * reject: a failure is a value too.
   */
  readonly refresh: (key: string, last: V | undefined, about: A) => Promise<Refreshed<V>>
  /** Whether an expired value is served at once while it is refreshed (stale while revalidate); default never. */
  readonly serveExpired?: (value: V) => boolean
  /**
   * After an invalidation, whether readers already waiting on the refresh
   * it discarded wait for a new one (its answer may predate the change), or
   * take its answer; default take it.
   */
  readonly rereadAfterInvalidation?: boolean
}

/** How a read was answered: fresh, expired but served while refreshed, or after waiting. */
export type ReadResult = 'hit' | 'stale' | 'miss'

interface Held<V> {
  readonly value: V
  freshUntil: number
  /** Expired by invalidate: the source said it changed, so it is never served expired. */
  invalidated?: true
}

interface Flight<V, A> {
  /** What the reader that started it asked about (for invalidate's pick). */
  readonly about: A
  /** Set by invalidate: the answer goes to those waiting, not into the cache. */
  discarded: boolean
  readonly answer: Promise<V>
}

/**
 * Values kept fresh from a slow source (GitHub), one mechanism for the
 * existence checks (src/upstream/checks.ts) and the manifest store
 * (src/manifests/store.ts):
 *
 * - a fresh value is read synchronously, with no promise;
 * - one refresh per key at a time, shared by everyone asking meanwhile;
 * - an expired value is served while it is refreshed, where serveExpired
 *   says so; otherwise readers wait for the refresh;
 * - the refresh sees the last value, to revalidate it or keep it on failure;
 * - invalidate drops or expires values and discards refreshes in flight.
 *
 * Synchronous reads are why this is not lru-cache's fetch(), which always
 * returns a promise: the redirect lane answers from memory or not at all.
 */
export class RefreshingCache<V, A = undefined> {
  readonly #options: RefreshingOptions<V, A>
  readonly #held: LRUCache<string, Held<V>>
  readonly #flights = new Map<string, Flight<V, A>>()

  constructor(options: RefreshingOptions<V, A>) {
    this.#options = options
    const { max, maxBytes, sizeOf } = options
    this.#held = new LRUCache<string, Held<V>>(
      maxBytes === undefined || sizeOf === undefined
        ? { max }
        : { max, maxSize: maxBytes, sizeCalculation: (held, key) => sizeOf(key, held.value) },
    )
  }

  /** Keys held, fresh or expired. */
  get size(): number {
    return this.#held.size
  }

  /** Resolves once every refresh under way (background ones included) has answered. */
  async settled(): Promise<void> {
    while (this.#flights.size > 0) {
      await Promise.all([...this.#flights.values()].map((flight) => flight.answer))
    }
  }

  /** Bytes held, by sizeOf's estimate; 0 without a byte budget. */
  get bytes(): number {
    return this.#held.calculatedSize
  }

  /** Refreshes under way. */
  get inFlight(): number {
    return this.#flights.size
  }

  has(key: string): boolean {
    return this.#held.has(key)
  }

  /** The value held, fresh or expired; changes nothing. */
  peek(key: string): V | undefined {
    return this.#held.peek(key)?.value
  }

  /** The value while it is fresh, else undefined; changes nothing. */
  fresh(key: string): V | undefined {
    const held = this.#held.peek(key)
    return held !== undefined && this.#fresh(held) ? held.value : undefined
  }

  /** What get() would answer at once, or undefined when it would wait; changes nothing. */
  now(key: string): V | undefined {
    const held = this.#held.peek(key)
    if (held === undefined) return undefined
    if (this.#fresh(held) || this.#servesExpired(held)) return held.value
    return undefined
  }

  /**
   * The value: at once when fresh or served expired, else once the shared
   * refresh answers. `about` goes to a refresh this read starts.
   */
  get(key: string, about: A, told?: (result: ReadResult) => void): V | Promise<V> {
    const held = this.#held.get(key)
    if (held !== undefined && this.#fresh(held)) {
      told?.('hit')
      return held.value
    }
    if (held !== undefined && this.#servesExpired(held)) {
      told?.('stale')
      void this.#refresh(key, about).answer
      return held.value
    }
    told?.('miss')
    return this.#wait(key, about)
  }

  /**
   * Drops (the next read waits for the source, with nothing to fall back
   * on) or expires (the next read waits, even where serveExpired would serve
   * it, but the refresh still sees the value) or refreshes (read again at
   * once, served expired meanwhile where serveExpired says so) what `pick`
   * chooses, and discards refreshes in flight for those keys (pick sees what
   * their reader asked about). Returns the keys of the values picked.
   */
  invalidate(
    pick: (key: string, value: V | undefined, about?: A) => boolean,
    how: 'drop' | 'expire' | 'refresh',
  ): string[] {
    for (const [key, flight] of this.#flights) {
      if (pick(key, this.#held.peek(key)?.value, flight.about)) {
        flight.discarded = true
        this.#flights.delete(key)
      }
    }
    const picked = [...this.#held.entries()]
      .filter(([key, held]) => pick(key, held.value))
      .map(([key]) => key)
    for (const key of picked) {
      if (how === 'drop') {
        this.#held.delete(key)
      } else if (how === 'refresh') {
        // Served as an expired value (where serveExpired says so) while read again now.
        ;(this.#held.peek(key) as Held<V>).freshUntil = -Infinity
        void this.#refresh(key, undefined as A).answer
      } else {
        const held = this.#held.peek(key) as Held<V>
        held.freshUntil = -Infinity
        held.invalidated = true
      }
    }
    return picked
  }

  /** Forgets every key not kept. */
  retain(keep: (key: string) => boolean): void {
    for (const key of [...this.#held.keys()]) if (!keep(key)) this.#held.delete(key)
  }

  async #wait(key: string, about: A): Promise<V> {
    for (;;) {
      const flight = this.#refresh(key, about)
      const value = await flight.answer
      if (!flight.discarded || this.#options.rereadAfterInvalidation !== true) return value
      const held = this.#held.peek(key)
      if (held !== undefined && this.#fresh(held)) return held.value
    }
  }

  #refresh(key: string, about: A): Flight<V, A> {
    const running = this.#flights.get(key)
    if (running !== undefined) return running
    const { refresh, clock } = this.#options
    const flight: Flight<V, A> = {
      about,
      discarded: false,
      answer: refresh(key, this.#held.peek(key)?.value, about).then(({ value, ttlMs }) => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key)
        if (!flight.discarded) this.#held.set(key, { value, freshUntil: clock.now() + ttlMs })
        return value
      }),
    }
    this.#flights.set(key, flight)
    return flight
  }

  #fresh(held: Held<V>): boolean {
    return this.#options.clock.now() < held.freshUntil
  }

  #servesExpired(held: Held<V>): boolean {
    return held.invalidated !== true && (this.#options.serveExpired?.(held.value) ?? false)
  }
}
