import type { Clock } from '../upstream/checks.js'
import type { FetchOutcome, ManifestFetcher, Validators } from './fetch.js'
import { parseManifest, type ManifestEntry } from './manifest.js'

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
 */
export interface StoreSettings {
  readonly ttlMs: number
  readonly retryMs: number
  readonly staleMaxMs: number
}

export type Snapshot =
  | { readonly state: 'ok'; readonly entries: readonly ManifestEntry[] }
  | { readonly state: 'missing' }
  | { readonly state: 'unavailable'; readonly reason: string }

export interface StoreLog {
  warn(details: object, message: string): void
}

interface Good {
  readonly entries: readonly ManifestEntry[]
  readonly validators: Validators
  /** When GitHub last confirmed this copy (a 200 or a 304). */
  confirmedAt: number
}

interface Entry {
  good: Good | undefined
  /** What the last refresh found, when it found no good copy. */
  last: 'ok' | 'missing' | 'failed'
  reason: string
  /** When a read must refresh first; -Infinity until the first fetch. */
  nextCheck: number
  /** Set by invalidate, cleared by a refresh that started after it. */
  dirty: boolean
  generation: number
  flight: Promise<void> | undefined
}

export class ManifestStore {
  readonly #fetch: ManifestFetcher
  readonly #clock: Clock
  readonly #settings: StoreSettings
  readonly #log: StoreLog
  readonly #entries = new Map<string, Entry>()

  constructor(fetch: ManifestFetcher, clock: Clock, settings: StoreSettings, log: StoreLog) {
    this.#fetch = fetch
    this.#clock = clock
    this.#settings = settings
    this.#log = log
  }

  /** Releases tracked. */
  get size(): number {
    return this.#entries.size
  }

  async get(release: string): Promise<Snapshot> {
    let entry = this.#entries.get(release)
    if (entry === undefined) {
      entry = {
        good: undefined,
        last: 'failed',
        reason: 'not fetched yet',
        nextCheck: -Infinity,
        dirty: false,
        generation: 0,
        flight: undefined,
      }
      this.#entries.set(release, entry)
    }
    // An invalidation during a refresh leaves the entry dirty: refresh again.
    while (entry.dirty || this.#clock.now() >= entry.nextCheck) {
      entry.flight ??= this.#refresh(release, entry).finally(() => {
        ;(entry as Entry).flight = undefined
      })
      await entry.flight
    }
    return this.#snapshot(entry)
  }

  /** The next read of this release waits for GitHub. True if it was tracked. */
  invalidate(release: string): boolean {
    const entry = this.#entries.get(release)
    if (entry === undefined) return false
    entry.dirty = true
    entry.generation++
    return true
  }

  /** Whether reads of this release are served a copy whose last refresh failed. */
  isStale(release: string): boolean {
    const entry = this.#entries.get(release)
    return entry !== undefined && entry.last === 'failed' && entry.good !== undefined
  }

  has(release: string): boolean {
    return this.#entries.has(release)
  }

  /** Forgets every release not kept (extensions gone from the global list). */
  retain(keep: (release: string) => boolean): void {
    for (const release of this.#entries.keys()) {
      if (!keep(release)) this.#entries.delete(release)
    }
  }

  async #refresh(release: string, entry: Entry): Promise<void> {
    const generation = entry.generation
    const outcome = await this.#fetch(release, entry.good?.validators)
    this.#apply(release, entry, outcome)
    if (entry.generation === generation) entry.dirty = false
  }

  #apply(release: string, entry: Entry, outcome: FetchOutcome): void {
    const now = this.#clock.now()
    const { ttlMs, retryMs } = this.#settings
    if (outcome.kind === 'body') {
      const parsed = parseManifest(outcome.bytes)
      if (parsed.ok) {
        entry.good = { entries: parsed.entries, validators: outcome.validators, confirmedAt: now }
        entry.last = 'ok'
        entry.nextCheck = now + ttlMs
        return
      }
      return this.#fail(release, entry, `refused: ${parsed.reason}`, now + retryMs)
    }
    if (outcome.kind === 'not-modified' && entry.good !== undefined) {
      entry.good.confirmedAt = now
      entry.last = 'ok'
      entry.nextCheck = now + ttlMs
      return
    }
    if (outcome.kind === 'missing' && !this.#usable(entry.good, now)) {
      // Gone for longer than a re-upload takes: it is missing.
      entry.good = undefined
      entry.last = 'missing'
      entry.nextCheck = now + ttlMs
      return
    }
    const reason =
      outcome.kind === 'failed'
        ? outcome.reason
        : outcome.kind === 'missing'
          ? 'GitHub answered 404'
          : '304 for a copy we do not hold'
    this.#fail(release, entry, reason, now + retryMs)
  }

  #fail(release: string, entry: Entry, reason: string, nextCheck: number): void {
    const keeping = entry.good !== undefined ? 'keeping the last good copy' : 'no good copy'
    this.#log.warn({ release, reason }, `manifest refresh failed; ${keeping}`)
    entry.last = 'failed'
    entry.reason = reason
    entry.nextCheck = nextCheck
  }

  #usable(good: Good | undefined, now: number): good is Good {
    return good !== undefined && now - good.confirmedAt <= this.#settings.staleMaxMs
  }

  #snapshot(entry: Entry): Snapshot {
    if (this.#usable(entry.good, this.#clock.now())) {
      return { state: 'ok', entries: entry.good.entries }
    }
    if (entry.last === 'missing') return { state: 'missing' }
    return { state: 'unavailable', reason: entry.reason }
  }
}
