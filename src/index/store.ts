import { RefreshingCache, type Clock, type Refreshed } from '../cache/refreshing.js'
import type { ManifestFetcher, Validators } from './fetch.js'
import { parseManifestInTurns, type ManifestEntry } from './manifest.js'

/**
 * The SHA256SUMS of each release we track, fetched on demand and kept:
 *
 * - a copy is used without asking GitHub for `ttlMs` after it was fetched or
 *   revalidated (a 304 costs two small requests and no body);
 * - when a refresh fails (GitHub down, a 5xx, a timeout, a body too large or
 *   one sysupdate would refuse) the last good copy stays in use, up to
 *   `staleMaxMs` after it was last confirmed, and GitHub is asked again after
 *   `retryMs`;
 * - a 404 is remembered as "missing" for `ttlMs`, except while a good copy
 *   is still usable: then it counts as a failure, since a metadata release's
 *   assets are briefly absent while they are re-uploaded;
 * - invalidate() makes the next read wait for a fresh answer (webhooks);
 * - one refresh per release at a time: readers meanwhile share it.
 *
 * The holding, sharing and expiring is src/cache/refreshing.ts, as for the
 * existence checks; this module says what a fetch outcome means.
 */
export interface StoreSettings {
  readonly ttlMs: number
  readonly retryMs: number
  readonly staleMaxMs: number
  /** The most bytes the manifests held take, by stateSize's estimate; unset: no byte bound. */
  readonly cacheMaxBytes?: number
}

export type Snapshot =
  | { readonly state: 'ok'; readonly entries: readonly ManifestEntry[] }
  | { readonly state: 'missing' }
  | { readonly state: 'unavailable'; readonly reason: string }

/** Work on a new copy of a release's manifest, before it is served. */
export type Prepare = (release: string, entries: readonly ManifestEntry[]) => Promise<void>

/** What a refresh of a release's manifest came to: a new copy, the same one (304), a 404, a failure. */
export type RefreshOutcome = 'fetched' | 'unchanged' | 'missing' | 'failed'

/** Told each refresh's outcome (the metrics count them). */
export interface StoreEvents {
  refreshed(outcome: RefreshOutcome): void
}

export interface StoreLog {
  warn(details: object, message: string): void
}

interface Good {
  readonly entries: readonly ManifestEntry[]
  readonly validators: Validators
  /** When GitHub last confirmed this copy (a 200 or a 304). */
  readonly confirmedAt: number
}

/** What the store holds for a release. */
interface State {
  readonly good: Good | undefined
  /** What the last refresh found, when it found no good copy. */
  readonly last: 'ok' | 'missing' | 'failed'
  readonly reason: string
}

// Releases held at most: far more than a bakery has extensions.
const MAX_RELEASES = 10_000

export class ManifestStore {
  readonly #fetch: ManifestFetcher
  readonly #clock: Clock
  readonly #settings: StoreSettings
  readonly #log: StoreLog
  readonly #events: StoreEvents | undefined
  readonly #cache: RefreshingCache<State>
  #prepare: Prepare = () => Promise.resolve()

  constructor(
    fetch: ManifestFetcher,
    clock: Clock,
    settings: StoreSettings,
    log: StoreLog,
    events?: StoreEvents,
  ) {
    this.#fetch = fetch
    this.#clock = clock
    this.#settings = settings
    this.#log = log
    this.#events = events
    this.#cache = new RefreshingCache<State>({
      clock,
      max: MAX_RELEASES,
      maxBytes: settings.cacheMaxBytes,
      sizeOf: (release, state) => stateSize(release, state),
      refresh: (release, last) => this.#refresh(release, last),
      // Past its lifetime, a good copy is served at once while it is refreshed, so no read
      // waits on a slow GitHub; not after a webhook said the release changed (invalidate):
      // then the next read waits for the new bytes.
      serveExpired: (state) => this.#usable(state.good, this.#clock.now()),
      // An invalidated refresh may have read the old bytes: read again.
      rereadAfterInvalidation: true,
    })
  }

  /**
   * Work done on each new copy before it is served (the index makes its
   * extensions from it): meanwhile, reads are served the copy before it, as
   * during the fetch.
   */
  prepareCopies(prepare: Prepare): void {
    this.#prepare = prepare
  }

  /** Resolves once every refresh under way (those behind a stale read too) has answered. */
  settled(): Promise<void> {
    return this.#cache.settled()
  }

  /** Releases tracked. */
  get size(): number {
    return this.#cache.size
  }

  async get(release: string): Promise<Snapshot> {
    return this.#snapshot(await this.#cache.get(release, undefined))
  }

  /**
   * The copy held while it is fresh; else undefined. Not an expired copy,
   * though get() serves one at once: a read from memory starts no refresh,
   * so the lane must hand an expired manifest's requests to a read that does.
   */
  now(release: string): Snapshot | undefined {
    const state = this.#cache.fresh(release)
    return state === undefined ? undefined : this.#snapshot(state)
  }

  /** The next read of this release waits for GitHub. True if it was tracked. */
  invalidate(release: string): boolean {
    return this.#cache.invalidate((key) => key === release, 'expire').length > 0
  }

  /** Whether reads of this release are served a copy whose last refresh failed. */
  isStale(release: string): boolean {
    const state = this.#cache.peek(release)
    return state !== undefined && state.last === 'failed' && state.good !== undefined
  }

  has(release: string): boolean {
    return this.#cache.has(release)
  }

  /** Forgets every release not kept (extensions gone from the global list). */
  retain(keep: (release: string) => boolean): void {
    this.#cache.retain(keep)
  }

  async #refresh(release: string, last: State | undefined): Promise<Refreshed<State>> {
    const good = last?.good
    const outcome = await this.#fetch(release, good?.validators)
    const now = this.#clock.now()
    // Another instance's answer lives as long as it has left: the fleet refreshes together.
    const ttlMs = outcome.freshForMs ?? this.#settings.ttlMs
    if (outcome.kind === 'body') {
      const parsed = await parseManifestInTurns(outcome.bytes)
      if (parsed.ok) {
        await this.#prepare(release, parsed.entries)
        const fresh = { entries: parsed.entries, validators: outcome.validators, confirmedAt: now }
        this.#events?.refreshed('fetched')
        return { value: { good: fresh, last: 'ok', reason: '' }, ttlMs }
      }
      return this.#fail(release, good, `refused: ${parsed.reason}`)
    }
    if (outcome.kind === 'not-modified' && good !== undefined) {
      const confirmed = { ...good, confirmedAt: now }
      this.#events?.refreshed('unchanged')
      return { value: { good: confirmed, last: 'ok', reason: '' }, ttlMs }
    }
    if (outcome.kind === 'missing' && !this.#usable(good, now)) {
      // Gone for longer than a re-upload takes: it is missing.
      this.#events?.refreshed('missing')
      return { value: { good: undefined, last: 'missing', reason: '' }, ttlMs }
    }
    const reason =
      outcome.kind === 'failed'
        ? outcome.reason
        : outcome.kind === 'missing'
          ? 'GitHub answered 404'
          : '304 for a copy we do not hold'
    return this.#fail(release, good, reason)
  }

  /** The last good copy stays (stale if error); GitHub is asked again after `retryMs`. */
  #fail(release: string, good: Good | undefined, reason: string): Refreshed<State> {
    const keeping = good !== undefined ? 'keeping the last good copy' : 'no good copy'
    this.#events?.refreshed('failed')
    this.#log.warn({ release, reason }, `manifest refresh failed; ${keeping}`)
    return { value: { good, last: 'failed', reason }, ttlMs: this.#settings.retryMs }
  }

  #usable(good: Good | undefined, now: number): good is Good {
    return good !== undefined && now - good.confirmedAt <= this.#settings.staleMaxMs
  }

  #snapshot(state: State): Snapshot {
    if (this.#usable(state.good, this.#clock.now())) {
      return { state: 'ok', entries: state.good.entries }
    }
    if (state.last === 'missing') return { state: 'missing' }
    return { state: 'unavailable', reason: state.reason }
  }
}

/**
 * What a manifest held costs, estimated from above: each entry's name (up to
 * two bytes a character) and hash (64 one-byte characters), and about 100
 * bytes of objects around them; the validators and the state besides.
 */
export function stateSize(release: string, state: State): number {
  let bytes = 2 * release.length + 300
  for (const entry of state.good?.entries ?? []) bytes += 2 * entry.name.length + 64 + 100
  return bytes
}
