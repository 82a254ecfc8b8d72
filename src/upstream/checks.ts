import { RefreshingCache, type ReadResult, type Refreshed } from '../cache/refreshing.js'
import type { Dispatcher } from 'undici'
import type { Clock } from '../cache/refreshing.js'
import type { SharedStore } from '../fleet/store.js'
import { sharedRelease } from '../table/sources.js'
import type { CacheClass } from '../table/table.js'
import type { UpstreamConfig } from '../config/upstream.js'
import type { CheckOutcome, UpstreamEvents } from './head.js'
import { HELD_BACK, type CheckAsker, type HeldBack, type UpstreamGate } from './gate.js'
import { headCheck } from './head.js'

export type { Clock } from '../cache/refreshing.js'

/** One redirect target: a release asset and the github.com URL that serves it. */
export interface CheckTarget {
  /** The table's source (repository) the release is in. */
  readonly source: string
  readonly release: string
  readonly asset: string
  /** The download URL the redirect would send (resolve()'s Location). */
  readonly location: string
  readonly cache: CacheClass
}

/** Whether an adopted manifest lists the target's file (src/manifests/); such checks come first. */
export type ListedTarget = (target: CheckTarget) => boolean

/** Picks cache entries by release tag, asset name and source (see invalidate). */
export type TargetFilter = (release: string, asset: string, source: string) => boolean

export interface UpstreamChecksOptions {
  readonly config: Pick<
    UpstreamConfig,
    'connectTimeoutMs' | 'responseTimeoutMs' | 'ttlMs' | 'cacheMax' | 'cacheMaxBytes'
  >
  readonly dispatcher: Dispatcher
  readonly clock: Clock
  readonly events: UpstreamEvents
  /** What may go to GitHub now: its pauses and the per-second budget (src/upstream/gate.ts). */
  readonly gate: UpstreamGate
  /** Where a check that could not get an answer is reported. */
  readonly log: { warn(details: object, message: string): void }
  /** The fleet's answers (REDIS_URL); undefined: this instance alone. */
  readonly shared?: SharedStore | undefined
}

/**
 * Whether redirect targets exist on GitHub, remembered in a bounded cache
 * (src/cache/refreshing.ts), keyed by the github.com URL.
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
  /** Keyed by the target's URL; a refresh is told the whole target. */
  readonly #cache: RefreshingCache<Entry, CheckTarget>
  /** Each lookup counted as the cache answered it; made once, not a closure per lookup. */
  readonly #counted: (result: ReadResult) => void
  /** The client of the lookup under way: a check it starts is on that client's share. */
  #client: string | undefined
  #listed: ListedTarget | undefined

  constructor(options: UpstreamChecksOptions) {
    this.#options = options
    this.#counted = (result) => options.events.cache(result)
    this.#cache = new RefreshingCache<Entry, CheckTarget>({
      clock: options.clock,
      max: options.config.cacheMax,
      // Names come from clients: a budget in bytes, so long invented names cannot fill memory.
      maxBytes: options.config.cacheMaxBytes,
      sizeOf: entrySize,
      // Called within get(), so #client is the client of the lookup that starts it.
      refresh: (_key, last, target) => this.#check(target, last, this.#askerOf(target)),
      serveExpired: (entry) => entry.answer === 'exists',
    })
  }

  /** Targets remembered, fresh or stale. */
  get size(): number {
    return this.#cache.size
  }

  /** Bytes the remembered targets take, by entrySize's estimate. */
  get bytes(): number {
    return this.#cache.bytes
  }

  /** Checks in flight upstream. */
  get inFlight(): number {
    return this.#cache.inFlight
  }

  /**
   * Whether GitHub has the target: at once, without a promise, when the
   * cache can answer (a fresh answer, or an expired "exists"): the common
   * case on the redirect path.
   */
  lookupNow(target: CheckTarget, client?: string): CheckOutcome | Promise<CheckOutcome> {
    this.#client = client
    const entry = this.#cache.get(target.location, target, this.#counted)
    this.#client = undefined
    return entry instanceof Promise ? entry.then((found) => found.answer) : entry.answer
  }

  /**
   * Tells the checks which targets an adopted manifest lists (the index is
   * made after them): those are checked first when the budget runs low.
   */
  prioritiseWith(listed: ListedTarget): void {
    this.#listed = listed
  }

  /** Who a check is for: undefined for the service's own (no client's share, first in line). */
  #askerOf(target: CheckTarget): CheckAsker | undefined {
    const client = this.#client
    if (client === undefined) return undefined
    // Told nothing of manifests (checks without the app): every name counts as listed.
    return { client, listed: this.#listed?.(target) ?? true }
  }

  /**
   * What lookupNow would answer at once, from the cache, or undefined when
   * it would wait for GitHub. Changes, counts and starts nothing: the
   * redirect lane (src/lane/) asks first, and looks up only when it answers,
   * so each lookup is counted once whichever path answers.
   */
  answerNow(target: CheckTarget): CheckOutcome | undefined {
    return this.#cache.now(target.location)?.answer
  }

  /**
   * Forgets answers so the next lookup asks GitHub again: those of one
   * release tag (of one source, or of any), those a filter picks, or (no
   * argument) all of them. Checks in flight for those targets still answer
   * their waiters but are not remembered. Returns how many cache entries
   * were dropped.
   */
  invalidate(which?: string | TargetFilter, source?: string): number {
    const picks: TargetFilter =
      which === undefined
        ? () => true
        : typeof which === 'string'
          ? (release, _asset, from) => release === which && (source ?? from) === from
          : which
    // A held answer names its target; a check in flight, the target it was asked about.
    const pick = (_key: string, entry: Entry | undefined, asked?: CheckTarget): boolean => {
      const { release, asset, source } = (entry ?? asked) as CheckTarget
      return picks(release, asset, source)
    }
    return this.#cache.invalidate(pick, 'drop').length
  }

  /**
   * What GitHub says of the target, from the fleet when another instance
   * asked it lately; when it cannot say, the last known answer stays for
   * the `unknown` lifetime.
   */
  async #check(
    target: CheckTarget,
    last: Entry | undefined,
    asker: CheckAsker | undefined,
  ): Promise<Refreshed<Entry>> {
    const { shared, config } = this.#options
    if (shared === undefined) {
      const outcome = await this.#ask(target, asker)
      return this.#answer(outcome, target, last, this.#ttl(outcome, target))
    }
    const ask = async () => {
      const outcome = await this.#ask(target, asker)
      // Held back by this instance's own budget or pause is not news for the fleet.
      const share = !isHeld(outcome)
      const value = Buffer.from(share ? outcome : 'unknown')
      return { value, ttlMs: this.#ttl(outcome, target), share }
    }
    // An instance asking first is waited for as long as a check of our own could take.
    const waitMs = config.connectTimeoutMs + config.responseTimeoutMs
    const release = sharedRelease(target.source, target.release)
    const fresh = await shared.answer('check', release, target.location, ask, waitMs)
    shared.told('check', fresh.result)
    return this.#answer(outcomeOf(fresh.value), target, last, fresh.ttlMs)
  }

  /** One HEAD; why not when it may not go to GitHub now (paused, a budget spent). */
  async #ask(target: CheckTarget, asker: CheckAsker | undefined): Promise<CheckOutcome | HeldBack> {
    const { config, dispatcher, events, gate, log } = this.#options
    const held = gate.admitCheck(asker)
    if (held !== null) return held
    const started = performance.now()
    const observe = (status: number, headers: Readonly<Record<string, unknown>>): void =>
      gate.observe(status, headers)
    const result = await headCheck(dispatcher, target.location, config, observe)
    events.check(result.outcome, (performance.now() - started) / 1000)
    if (result.outcome === 'unknown') {
      log.warn(
        { release: target.release, asset: target.asset, upstream: result.detail },
        'upstream check got no answer',
      )
    }
    return result.outcome
  }

  #answer(
    outcome: CheckOutcome | HeldBack,
    target: CheckTarget,
    last: Entry | undefined,
    ttlMs: number,
  ): Refreshed<Entry> {
    const known = isHeld(outcome) ? 'unknown' : outcome
    const answer = known === 'unknown' && last !== undefined ? last.answer : known
    const { release, asset, source } = target
    return { value: { answer, release, asset, source }, ttlMs }
  }

  /** How long an answer is fresh; after "unknown", how long until GitHub is asked again. */
  #ttl(outcome: CheckOutcome | HeldBack, target: CheckTarget): number {
    const { ttlMs } = this.#options.config
    // One client's share spent says nothing for the others: the next asker tries again.
    if (outcome === 'client') return 0
    if (outcome === 'unknown' || isHeld(outcome)) return ttlMs.unknown
    // A signature's 404 is as certain as its 302: both hold until the release changes.
    if (target.cache === 'signature') return ttlMs.signature
    if (outcome === 'missing') return ttlMs.missing
    return target.cache === 'versioned' ? ttlMs.versioned : ttlMs.mutable
  }
}

const OUTCOMES: readonly string[] = ['exists', 'missing', 'unknown'] satisfies CheckOutcome[]

function isHeld(outcome: CheckOutcome | HeldBack): outcome is HeldBack {
  return (HELD_BACK as readonly string[]).includes(outcome)
}

/** An outcome as the store holds it; anything else (another version's?) is "unknown". */
function outcomeOf(bytes: Buffer): CheckOutcome {
  const text = bytes.toString()
  return OUTCOMES.includes(text) ? (text as CheckOutcome) : 'unknown'
}

/** What the cache holds for a target. */
interface Entry {
  readonly answer: CheckOutcome
  readonly release: string
  readonly asset: string
  readonly source: string
}

/**
 * What an entry costs, estimated from above: its key (the URL) and the two
 * names as strings of up to two bytes a character, and the objects around
 * them (the entry, the cache's node and the LRU's links, about 200 bytes).
 */
export function entrySize(key: string, entry: Entry): number {
  // The source's name is the table's own string, shared by every entry: not counted.
  return 2 * (key.length + entry.release.length + entry.asset.length) + ENTRY_OVERHEAD
}

const ENTRY_OVERHEAD = 200
