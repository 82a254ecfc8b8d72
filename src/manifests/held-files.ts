import { RefreshingCache, type Clock, type Refreshed } from '../cache/refreshing.js'
import { failureOf, type AssetFetcher, type Validators } from './fetch.js'
import { snapshotFile, type SnapshotFile } from './snapshot-file.js'

/**
 * The snapshot's files that are not manifests (transfer files: `.conf`,
 * `.transfer`), kept as the manifest store keeps manifests: fresh for
 * `ttlMs`, revalidated with a 304, and held through the publish windows: a
 * 404 or a failure while a good copy is younger than `staleMaxMs` keeps the
 * copy (a metadata release deleted and made again, an asset re-uploaded).
 */
export interface HeldFileSettings {
  readonly ttlMs: number
  readonly retryMs: number
  readonly staleMaxMs: number
  readonly cacheMaxBytes: number
}

export type HeldFile =
  | { readonly state: 'ok'; readonly file: SnapshotFile }
  | { readonly state: 'missing' }
  | { readonly state: 'unavailable'; readonly reason: string }

/** A copy held: its file, the validators to revalidate it, when GitHub last confirmed it. */
interface Good {
  readonly file: SnapshotFile
  readonly validators: Validators
  readonly confirmedAt: number
}

interface State {
  readonly good: Good | undefined
  readonly last: 'ok' | 'missing' | 'failed'
  readonly reason: string
}

interface Wanted {
  readonly release: string
  readonly asset: string
}

// Files held at most: far more than a bakery publishes transfer files.
const MAX_FILES = 10_000

export class HeldFiles {
  readonly #fetch: AssetFetcher
  readonly #clock: Clock
  readonly #settings: HeldFileSettings
  readonly #log: { warn(details: object, message: string): void }
  readonly #cache: RefreshingCache<State>

  constructor(
    fetch: AssetFetcher,
    clock: Clock,
    settings: HeldFileSettings,
    log: { warn(details: object, message: string): void },
  ) {
    this.#fetch = fetch
    this.#clock = clock
    this.#settings = settings
    this.#log = log
    this.#cache = new RefreshingCache<State>({
      clock,
      max: MAX_FILES,
      maxBytes: settings.cacheMaxBytes,
      sizeOf: (key, state) => 2 * key.length + 300 + (state.good?.file.bytes.length ?? 0),
      refresh: (key, last) => this.#refresh(wantedOf(key), last),
      // A held copy is served at once while it is refreshed, after a webhook too: a
      // window of the origin's never reaches a client.
      serveExpired: (state) => this.#usable(state, this.#clock.now()),
    })
  }

  /** The file as held, or a promise when it must be read first. */
  get(release: string, asset: string): HeldFile | Promise<HeldFile> {
    const state = this.#cache.get(keyOf(release, asset), undefined)
    return state instanceof Promise ? state.then((one) => this.#held(one)) : this.#held(state)
  }

  /** The file while it is fresh in memory; else undefined (a read that refreshes it must come first). */
  now(release: string, asset: string): HeldFile | undefined {
    const state = this.#cache.fresh(keyOf(release, asset))
    return state === undefined ? undefined : this.#held(state)
  }

  /** Resolves once every refresh under way has answered. */
  settled(): Promise<void> {
    return this.#cache.settled()
  }

  /** A release changed: its files are read again at once, the held copies served meanwhile. */
  invalidate(release: string): number {
    const prefix = keyOf(release, '')
    return this.#cache.invalidate((key) => key.startsWith(prefix), 'refresh').length
  }

  async #refresh(wanted: Wanted, last: State | undefined): Promise<Refreshed<State>> {
    const good = last?.good
    const outcome = await this.#fetch(wanted.release, wanted.asset, good?.validators)
    const now = this.#clock.now()
    const { ttlMs } = this.#settings
    if (outcome.kind === 'body') {
      const file = snapshotFile(outcome.bytes, outcome.validators.lastModified)
      const fresh = { file, validators: outcome.validators, confirmedAt: now }
      return { value: { good: fresh, last: 'ok', reason: '' }, ttlMs }
    }
    if (outcome.kind === 'not-modified' && good !== undefined) {
      return { value: { good: { ...good, confirmedAt: now }, last: 'ok', reason: '' }, ttlMs }
    }
    if (outcome.kind === 'missing' && !this.#usable(last, now)) {
      return { value: { good: undefined, last: 'missing', reason: '' }, ttlMs }
    }
    const reason = failureOf(outcome)
    const keeping = good !== undefined ? 'keeping the last good copy' : 'no good copy'
    this.#log.warn({ ...wanted, reason }, `snapshot file refresh failed; ${keeping}`)
    return { value: { good, last: 'failed', reason }, ttlMs: this.#settings.retryMs }
  }

  #usable(state: State | undefined, now: number): state is State & { good: Good } {
    return state?.good !== undefined && now - state.good.confirmedAt <= this.#settings.staleMaxMs
  }

  #held(state: State): HeldFile {
    if (this.#usable(state, this.#clock.now())) {
      return { state: 'ok', file: state.good.file }
    }
    if (state.last === 'missing') return { state: 'missing' }
    return { state: 'unavailable', reason: state.reason }
  }
}

function keyOf(release: string, asset: string): string {
  return `${release}\0${asset}`
}

function wantedOf(key: string): Wanted {
  const split = key.indexOf('\0')
  return { release: key.slice(0, split), asset: key.slice(split + 1) }
}
