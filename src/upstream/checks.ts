import { RefreshingCache, type ReadResult, type Refreshed } from '../cache/refreshing.js'
import type { Dispatcher } from 'undici'
import type { Clock } from '../cache/refreshing.js'
import type { SharedStore } from '../fleet/store.js'
import { sharedRelease } from '../table/sources.js'
import type { CacheClass } from '../table/table.js'
import type { UpstreamConfig } from '../config/upstream.js'
import type { CheckOutcome, UpstreamEvents } from './head.js'
import { HELD_BACK, type CheckAsker, type HeldBack, type UpstreamGate } from './gate.js'
import { headCheck, mirrorOutcome } from './head.js'
import type { Mirrors } from '../table/resolve.js'

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
  /** Each source's mirrors (src/table/resolve.ts); a source without none is GitHub's alone. */
  readonly mirrors?: Readonly<Record<string, Mirrors>> | undefined
}

/**
 * What the checks know of a target: whether it exists, and where. `mirror`
 * is the base URL of the mirror that has it (null: GitHub's own word);
 * `github` says why a mirror answered: what GitHub said, or `mirrors-first`
 * for a client sent to the mirrors before GitHub.
 */
export interface Checked {
  readonly answer: CheckOutcome
  readonly mirror: string | null
  readonly github: CheckOutcome | HeldBack | 'mirrors-first' | null
}

/** GitHub could not say, and no mirror was asked (a request that waited too long). */
export const UNKNOWN: Checked = Object.freeze({ answer: 'unknown', mirror: null, github: null })

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
 * - When GitHub cannot say or says missing, a source's mirrors are asked in
 *   order, and the first that has the file answers (for as long as GitHub's
 *   own answer would have held, so GitHub is asked again as often as
 *   without mirrors). A client the source sends to its mirrors first
 *   (`mirrors-first`) has answers of its own, under another key.
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
      refresh: (key, last, target) => this.#check(target, last, this.#askerOf(target), key),
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
  lookupNow(target: CheckTarget, client?: string): Checked | Promise<Checked> {
    this.#client = client
    const entry = this.#cache.get(this.#keyOf(target, client), target, this.#counted)
    this.#client = undefined
    return entry
  }

  /** A target's key: its URL, or another for a client its source sends to the mirrors first. */
  #keyOf(target: CheckTarget, client: string | undefined): string {
    const first = this.#options.mirrors?.[target.source]?.first
    if (first === undefined || first === 'never') return target.location
    // A client's address is IPv6 when it has a colon (IPv4-mapped ones arrive as IPv4).
    const goes = first === 'all' || (client?.includes(':') ?? false)
    return goes ? `${MIRRORS_FIRST_KEY}${target.location}` : target.location
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
  answerNow(target: CheckTarget, client?: string): Checked | undefined {
    return this.#cache.now(this.#keyOf(target, client))
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
    key: string,
  ): Promise<Refreshed<Entry>> {
    const { shared, config } = this.#options
    // Keyed apart (#keyOf): a client its source sends to the mirrors first.
    const mirrorsFirst = key !== target.location
    if (shared === undefined) {
      const found = await this.#find(target, asker, mirrorsFirst)
      return this.#answer(found, target, last, this.#ttl(found, target))
    }
    const ask = async () => {
      const found = await this.#find(target, asker, mirrorsFirst)
      // Held back by this instance's own budget or pause is not news for the fleet.
      const share = !isHeld(found.answer)
      const value = Buffer.from(share ? sharedValue(found) : 'unknown')
      return { value, ttlMs: this.#ttl(found, target), share }
    }
    // An instance asking first is waited for as long as a check of our own could take.
    const waitMs = config.connectTimeoutMs + config.responseTimeoutMs
    const release = sharedRelease(target.source, target.release)
    const fresh = await shared.answer('check', release, key, ask, waitMs)
    shared.told('check', fresh.result)
    const mirrors = this.#mirrorsOf(target.source)
    return this.#answer(foundOf(fresh.value, mirrors), target, last, fresh.ttlMs)
  }

  /**
   * GitHub's word, or a mirror's where GitHub cannot say or says missing;
   * a client sent to the mirrors first asks them before GitHub.
   */
  async #find(
    target: CheckTarget,
    asker: CheckAsker | undefined,
    mirrorsFirst: boolean,
  ): Promise<Found> {
    const mirrors = this.#mirrorsOf(target.source)
    if (mirrorsFirst) {
      const mirror = await this.#askMirrors(target, mirrors)
      if (mirror !== null) return { answer: 'exists', mirror, github: 'mirrors-first' }
    }
    const said = await this.#ask(target, asker)
    if (said === 'exists' || mirrorsFirst || !mayAskMirrors(said, asker)) {
      return { answer: said, mirror: null, github: null }
    }
    const mirror = await this.#askMirrors(target, mirrors)
    if (mirror === null) return { answer: said, mirror: null, github: null }
    return { answer: 'exists', mirror, github: said }
  }

  /** The first mirror that has the target, asked in order; null: none has it (or none says). */
  async #askMirrors(target: CheckTarget, mirrors: readonly string[]): Promise<string | null> {
    const { config, dispatcher, log } = this.#options
    for (const base of mirrors) {
      const location = mirrorLocation(base, target)
      const result = await headCheck(dispatcher, location, config, undefined, mirrorOutcome(base))
      if (result.outcome === 'exists') return base
      if (result.outcome === 'unknown') {
        const { release, asset } = target
        log.warn(
          { release, asset, mirror: base, upstream: result.detail },
          'mirror check got no answer',
        )
      }
    }
    return null
  }

  /** A source's mirrors' base URLs, in order; none for a source without. */
  #mirrorsOf(source: string): readonly string[] {
    return this.#options.mirrors?.[source]?.bases ?? []
  }

  /** One HEAD to GitHub; why not when it may not go there now (paused, a budget spent). */
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
    found: Found,
    target: CheckTarget,
    last: Entry | undefined,
    ttlMs: number,
  ): Refreshed<Entry> {
    const { release, asset, source } = target
    const known = isHeld(found.answer) ? 'unknown' : found.answer
    // Nobody could say: the last known answer stays, wherever it came from.
    if (known === 'unknown' && last !== undefined) {
      const { answer, mirror, github } = last
      return { value: { answer, mirror, github, release, asset, source }, ttlMs }
    }
    const { mirror, github } = found
    return { value: { answer: known, mirror, github, release, asset, source }, ttlMs }
  }

  /**
   * How long an answer is fresh; after "unknown", how long until GitHub is
   * asked again. A mirror's answer where GitHub failed holds as long as
   * GitHub's own would have, so GitHub is asked again as often.
   */
  #ttl(found: Found, target: CheckTarget): number {
    const outcome =
      found.github === null || found.github === 'mirrors-first' ? found.answer : found.github
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

// What a stored mirror answer may say of GitHub (Checked['github']).
const WHY_A_MIRROR: readonly string[] = [...OUTCOMES, ...HELD_BACK, 'mirrors-first']

// Keys of answers for clients sent to the mirrors first; no URL starts with it.
const MIRRORS_FIRST_KEY = 'mirrors-first '

function isHeld(outcome: CheckOutcome | HeldBack): outcome is HeldBack {
  return (HELD_BACK as readonly string[]).includes(outcome)
}

/**
 * Whether a check GitHub did not confirm may go on to the mirrors: not when
 * the client's own share was spent, nor for names no manifest lists once
 * the budget is short (a client inventing names must not reach the mirrors
 * either).
 */
function mayAskMirrors(said: CheckOutcome | HeldBack, asker: CheckAsker | undefined): boolean {
  if (said === 'client') return false
  return said !== 'budget' || asker === undefined || asker.listed
}

/** The target's URL on a mirror laid out as GitHub's downloads. */
export function mirrorLocation(
  base: string,
  target: Pick<CheckTarget, 'release' | 'asset'>,
): string {
  return `${base}/${target.release}/${target.asset}`
}

/** What one check found: GitHub's word (perhaps held back), or a mirror's. */
interface Found {
  readonly answer: CheckOutcome | HeldBack
  readonly mirror: string | null
  readonly github: Checked['github']
}

/**
 * A found answer as the fleet's store holds it: the outcome alone, or
 * `exists <what GitHub said> <mirror>`.
 */
function sharedValue(found: Found): string {
  return found.mirror === null
    ? (found.answer as CheckOutcome)
    : `exists ${found.github as string} ${found.mirror}`
}

/** A stored answer again; anything else (another version's? a mirror no longer configured?) is "unknown". */
function foundOf(bytes: Buffer, mirrors: readonly string[]): Found {
  const text = bytes.toString()
  if (OUTCOMES.includes(text)) return { answer: text as CheckOutcome, mirror: null, github: null }
  const [answer, github, mirror, extra] = text.split(' ')
  if (answer !== 'exists' || extra !== undefined || !WHY_A_MIRROR.includes(github as string)) {
    return { answer: 'unknown', mirror: null, github: null }
  }
  if (!mirrors.includes(mirror as string)) return { answer: 'unknown', mirror: null, github: null }
  return { answer, mirror: mirror as string, github: github as Checked['github'] }
}

/** What the cache holds for a target. */
interface Entry extends Checked {
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
