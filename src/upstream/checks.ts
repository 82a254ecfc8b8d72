import { LRUCache } from 'lru-cache'
import type { Dispatcher } from 'undici'
import type { CacheClass } from '../table/table.js'
import type { UpstreamConfig } from './config.js'
import type { CheckOutcome, UpstreamEvents } from './events.js'
import { headCheck } from './head.js'

/** Milliseconds from any fixed point; tests move it to expire entries. Must be above zero. */
export interface Clock {
  now(): number
}

/** One redirect target: a release asset and the github.com URL that serves it. */
export interface CheckTarget {
  readonly release: string
  readonly asset: string
  /** The download URL the redirect would send (resolve()'s Location). */
  readonly location: string
  readonly cache: CacheClass
}

/** Picks cache entries by release tag and asset name (see invalidate). */
export type TargetFilter = (release: string, asset: string) => boolean

interface Entry {
  readonly release: string
  readonly asset: string
  readonly answer: CheckOutcome
}

interface Flight {
  readonly release: string
  readonly asset: string
  /** Set by invalidate: the answer still goes to those waiting, not into the cache. */
  discarded: boolean
  readonly answer: Promise<CheckOutcome>
}

export interface UpstreamChecksOptions {
  readonly config: Pick<
    UpstreamConfig,
    'connectTimeoutMs' | 'responseTimeoutMs' | 'ttlMs' | 'cacheMax'
  >
  readonly dispatcher: Dispatcher
  readonly clock: Clock
  readonly events: UpstreamEvents
  /** Where a check that could not get an answer is reported. */
  readonly log: { warn(details: object, message: string): void }
}

/**
 * Whether redirect targets exist on GitHub, remembered in a bounded cache.
 *
 * - A fresh answer is served from the cache.
 * - An expired "exists" is served at once while one refresh runs in the
 *   background (stale while revalidate): a published file rarely vanishes.
 * - An expired "missing" or "unknown" waits for the refresh, so a newly
 *   published asset is found as soon as the negative lifetime has passed.
 * - Concurrent lookups of one target share one HEAD.
 * - When GitHub cannot say, the last known answer stays (stale if error) and
 *   GitHub is not asked again for the `unknown` lifetime.
 */
export class UpstreamChecks {
  readonly #options: UpstreamChecksOptions
  readonly #store: LRUCache<string, Entry>
  readonly #flights = new Map<string, Flight>()

  constructor(options: UpstreamChecksOptions) {
    this.#options = options
    this.#store = new LRUCache<string, Entry>({
      max: options.config.cacheMax,
      perf: options.clock,
      // Read the clock on every lookup: lru-cache would otherwise reuse a
      // reading for 1 ms of real time, which an injected clock does not follow.
      ttlResolution: 0,
      allowStale: true,
      noDeleteOnStaleGet: true,
    })
  }

  /** Targets remembered, fresh or stale. */
  get size(): number {
    return this.#store.size
  }

  /** Checks in flight upstream. */
  get inFlight(): number {
    return this.#flights.size
  }

  /**
   * Whether GitHub has the target: at once, without a promise, when the
   * cache can answer (a fresh answer, or an expired "exists"): the common
   * case on the redirect path.
   */
  lookupNow(target: CheckTarget): CheckOutcome | Promise<CheckOutcome> {
    const { events } = this.#options
    const key = target.location
    const status: LRUCache.Status<string, Entry> = {}
    const entry = this.#store.get(key, { status })
    if (entry !== undefined && status.get === 'hit') {
      events.cache('hit')
      return entry.answer
    }
    if (entry?.answer === 'exists') {
      events.cache('stale')
      void this.#refresh(key, target, entry.answer)
      return entry.answer
    }
    events.cache('miss')
    return this.#refresh(key, target, entry?.answer)
  }

  /**
   * What lookupNow would answer at once, from the cache, or undefined when
   * it would wait for GitHub. Changes, counts and starts nothing: the
   * redirect lane (src/lane/) asks first, and looks up only when it answers,
   * so each lookup is counted once whichever path answers.
   */
  answerNow(target: CheckTarget): CheckOutcome | undefined {
    const key = target.location
    const entry = this.#store.peek(key, { allowStale: true })
    if (entry === undefined) return undefined
    // An expired "exists" is served while it is refreshed; nothing else is.
    if (entry.answer === 'exists' || this.#store.getRemainingTTL(key) > 0) return entry.answer
    return undefined
  }

  /**
   * Forgets answers so the next lookup asks GitHub again: those of one
   * release tag, those a filter picks, or (no argument) all of them. Checks
   * in flight for those targets still answer their waiters but are not
   * remembered. Returns how many cache entries were dropped.
   */
  invalidate(which?: string | TargetFilter): number {
    const picks: TargetFilter =
      which === undefined
        ? () => true
        : typeof which === 'string'
          ? (release) => release === which
          : which
    for (const [key, flight] of this.#flights) {
      if (picks(flight.release, flight.asset)) {
        flight.discarded = true
        this.#flights.delete(key)
      }
    }
    const keys = [...this.#store.entries()]
      .filter(([, entry]) => picks(entry.release, entry.asset))
      .map(([key]) => key)
    for (const key of keys) this.#store.delete(key)
    return keys.length
  }

  /** One HEAD per target at a time; everyone asking meanwhile shares it. */
  #refresh(
    key: string,
    target: CheckTarget,
    last: CheckOutcome | undefined,
  ): Promise<CheckOutcome> {
    const running = this.#flights.get(key)
    if (running !== undefined) return running.answer
    const flight: Flight = {
      release: target.release,
      asset: target.asset,
      discarded: false,
      answer: this.#check(target).then((outcome) => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key)
        const answer = outcome === 'unknown' && last !== undefined ? last : outcome
        if (!flight.discarded) {
          const entry = { release: target.release, asset: target.asset, answer }
          this.#store.set(key, entry, { ttl: this.#ttl(outcome, target) })
        }
        return answer
      }),
    }
    this.#flights.set(key, flight)
    return flight.answer
  }

  async #check(target: CheckTarget): Promise<CheckOutcome> {
    const { config, dispatcher, events, log } = this.#options
    const started = performance.now()
    const result = await headCheck(dispatcher, target.location, config)
    events.check(result.outcome, (performance.now() - started) / 1000)
    if (result.outcome === 'unknown') {
      log.warn(
        { release: target.release, asset: target.asset, upstream: result.detail },
        'upstream check got no answer',
      )
    }
    return result.outcome
  }

  /** How long an answer is fresh; after "unknown", how long until GitHub is asked again. */
  #ttl(outcome: CheckOutcome, target: CheckTarget): number {
    const { ttlMs } = this.#options.config
    if (outcome !== 'exists') return ttlMs[outcome]
    return target.cache === 'versioned' ? ttlMs.versioned : ttlMs.mutable
  }
}
