import { RefreshingCache, type Clock, type Refreshed } from '../cache/refreshing.js'
import {
  failureOf,
  type AssetFetcher,
  type FetchOutcome,
  type ManifestFetcher,
  type Validators,
} from './fetch.js'
import { parseManifestInTurns, type ManifestEntry } from '../catalog/manifest.js'
import { rankOf, type FleetRevisions, type SharedRevision } from './fleet-revisions.js'
import type { Verify } from './signing-keys.js'
import { snapshotFile, withoutEntries, type SnapshotFile } from './snapshot-file.js'

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
 * - one refresh per release at a time: readers meanwhile share it;
 * - a copy is a revision: the manifest's bytes and its detached signatures,
 *   fetched together (the manifest read again after them, unchanged), and
 *   adopted only when admit() finds it whole; until then the adopted one is
 *   served (docs/using.md, "A consistent snapshot").
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
  /**
   * How long an unsigned revision may be held back for entries the origin
   * lacks; past it, it is adopted without them. Unset: held back until
   * staleMaxMs.
   */
  readonly holdMaxMs?: number
}

/** What a revision is read with besides its manifest: the signatures beside it. */
export interface RevisionParts {
  readonly fetchAsset: AssetFetcher
  /** The manifest's asset name in a release. */
  readonly assetOf: (release: string) => string
  /** Suffixes of the manifest's signature names, in the order clients probe them (`.gpg`). */
  readonly signatures: readonly string[]
  /**
   * The source's signing keys: a revision is adopted only when one of its
   * signatures verifies, and a signature that does not is never served.
   */
  readonly verify?: Verify | undefined
}

/** Why a newer revision is held back: files it adds are not at the origin, or no signature verifies. */
export type HoldCause = 'files' | 'signature'

/** A release whose newer revision is held back, and since when (the clock's ms). */
export interface Hold {
  readonly release: string
  readonly cause: HoldCause
  readonly reason: string
  readonly since: number
}

/**
 * Whether a new revision may be adopted: null when it is whole, else why it
 * is held back and which entries are missing (those may be left out of an
 * unsigned revision past holdMaxMs).
 */
export type Admit = (
  release: string,
  entries: readonly ManifestEntry[],
  adopted: readonly ManifestEntry[] | undefined,
) => Promise<{ readonly reason: string; readonly missing: readonly string[] } | null>

export type Snapshot =
  | {
      readonly state: 'ok'
      readonly entries: readonly ManifestEntry[]
      /** The manifest as served. */
      readonly file: SnapshotFile
      /** Its signatures by asset name: the file, or null where the origin has none (or it does not verify). */
      readonly signatures: ReadonlyMap<string, SnapshotFile | null>
    }
  | { readonly state: 'missing' }
  | { readonly state: 'unavailable'; readonly reason: string }

/** Work on a new copy of a release's manifest, before it is served. */
export type Prepare = (release: string, entries: readonly ManifestEntry[]) => Promise<void>

/** What a refresh of a release's manifest came to: a new copy, the same one (304), a 404, a failure. */
export type RefreshOutcome = 'fetched' | 'unchanged' | 'missing' | 'failed' | 'held'

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
  readonly file: SnapshotFile
  readonly signatures: ReadonlyMap<string, Signature>
  /** Its order among revisions (fleet-revisions.ts rankOf): the newest Last-Modified of its files. */
  readonly rank: number
}

/** A signature read with a revision: null where the origin has none. */
interface Signature {
  readonly file: SnapshotFile | null
  readonly validators: Validators
  /** Whether it verifies against the source's keys (always, for a source without keys). */
  readonly verified: boolean
}

/** What the store holds for a release. */
interface State {
  readonly good: Good | undefined
  /** What the last refresh found, when it found no good copy (or held a new one back). */
  readonly last: 'ok' | 'missing' | 'failed' | 'held'
  readonly reason: string
  /** Since when a revision has been held back (the clock's ms); unset when none is. */
  readonly heldSince?: number
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
  #parts: RevisionParts | undefined
  #admit: Admit | undefined
  #fleet: FleetRevisions | undefined
  /** The releases whose newer revision is held back (a metric and an alert read them). */
  readonly #holds = new Map<string, Hold>()

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

  /** Reads each revision with its signatures (the manifest read again after them). */
  readRevisions(parts: RevisionParts): void {
    this.#parts = parts
  }

  /** Shares each adoption with the fleet, and takes the fleet's newer revisions (REDIS_URL). */
  shareAdoptions(fleet: FleetRevisions): void {
    this.#fleet = fleet
  }

  /** Adopts a new revision only when `admit` finds it whole. */
  admitWith(admit: Admit): void {
    this.#admit = admit
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

  /**
   * The release changed (a webhook): it is read again at once, and the
   * adopted revision is served until the new one is adopted. True if it was
   * tracked.
   */
  invalidate(release: string): boolean {
    return this.#cache.invalidate((key) => key === release, 'refresh').length > 0
  }

  /** Whether reads of this release are served a copy whose last refresh failed. */
  isStale(release: string): boolean {
    const state = this.#cache.peek(release)
    return state !== undefined && state.last === 'failed' && state.good !== undefined
  }

  /** Why a newer revision of this release is held back; undefined when none is. */
  heldBack(release: string): string | undefined {
    return this.#holds.get(release)?.reason
  }

  /** Every release whose newer revision is held back now. */
  holds(): readonly Hold[] {
    return [...this.#holds.values()]
  }

  /** The entries of the revision adopted for the release, fresh or not; undefined when none is. */
  adoptedEntries(release: string): readonly ManifestEntry[] | undefined {
    return this.#cache.peek(release)?.good?.entries
  }

  has(release: string): boolean {
    return this.#cache.has(release)
  }

  /** Forgets every release not kept (extensions gone from the global list). */
  retain(keep: (release: string) => boolean): void {
    this.#cache.retain(keep)
    for (const release of this.#holds.keys()) if (!keep(release)) this.#holds.delete(release)
  }

  async #refresh(release: string, last: State | undefined): Promise<Refreshed<State>> {
    const good = last?.good
    // Another instance adopted a newer revision: it, without asking GitHub.
    const fleet = await this.#fleet?.read(release)
    if (fleet != null && fleet.rank > (good?.rank ?? -1)) {
      const taken = await this.#fromFleet(release, fleet)
      if (taken !== null) return taken
    }
    const outcome = await this.#fetch(release, good?.validators)
    // Another instance's answer lives as long as it has left: the fleet refreshes together.
    const ttlMs = outcome.freshForMs ?? this.#settings.ttlMs
    if (outcome.kind === 'body') return this.#revision(release, last, outcome, ttlMs)
    if (outcome.kind === 'not-modified' && good !== undefined) {
      return this.#revision(release, last, outcome, ttlMs)
    }
    if (outcome.kind === 'missing' && !this.#usable(good, this.#clock.now())) {
      // Gone for longer than a re-upload takes: it is missing (nothing is held back either).
      this.#holds.delete(release)
      this.#events?.refreshed('missing')
      return { value: { good: undefined, last: 'missing', reason: '' }, ttlMs }
    }
    const reason = failureOf(outcome)
    return this.#fail(release, good, reason)
  }

  /**
   * The fleet's revision, adopted here as it is (another instance found it
   * whole); null when it does not parse, or no signature of it verifies here.
   */
  async #fromFleet(release: string, fleet: SharedRevision): Promise<Refreshed<State> | null> {
    const parsed = await parseManifestInTurns(fleet.manifest)
    if (!parsed.ok) return null
    const file = snapshotFile(fleet.manifest, fleet.validators.lastModified)
    const signatures = new Map<string, Signature>()
    for (const { name, bytes, validators } of fleet.signatures) {
      const one = bytes === null ? null : snapshotFile(bytes, validators.lastModified)
      signatures.set(name, { file: one, validators, verified: true })
    }
    const verified = await this.#verified(file, signatures)
    if (!this.#covered(verified)) return null
    const good: Good = {
      entries: parsed.entries,
      validators: fleet.validators,
      confirmedAt: this.#clock.now(),
      file,
      signatures: verified,
      rank: fleet.rank,
    }
    return this.#take(release, good, this.#settings.ttlMs)
  }

  /** Serves a revision from now on (the index made from it first); nothing of it is held back. */
  async #take(release: string, good: Good, ttlMs: number): Promise<Refreshed<State>> {
    await this.#prepare(release, good.entries)
    this.#holds.delete(release)
    this.#events?.refreshed('fetched')
    return { value: { good, last: 'ok', reason: '' }, ttlMs }
  }

  /** Whether a revision's signatures cover it: one verifies, or the source has no keys. */
  #covered(signatures: ReadonlyMap<string, Signature>): boolean {
    if (this.#parts?.verify === undefined) return true
    return [...signatures.values()].some((one) => one.verified)
  }

  /** A manifest answered (new bytes, or a 304 for the held ones): its revision, adopted when whole. */
  async #revision(
    release: string,
    last: State | undefined,
    outcome: Extract<FetchOutcome, { kind: 'body' | 'not-modified' }>,
    ttlMs: number,
  ): Promise<Refreshed<State>> {
    const good = last?.good
    let entries = good?.entries
    let file = good?.file
    let validators = good?.validators ?? {}
    if (outcome.kind === 'body') {
      const parsed = await parseManifestInTurns(outcome.bytes)
      if (!parsed.ok) return this.#fail(release, good, `refused: ${parsed.reason}`)
      entries = parsed.entries
      file = snapshotFile(outcome.bytes, outcome.validators.lastModified)
      validators = outcome.validators
    }
    const signed = await this.#signatures(release, good)
    if (typeof signed === 'string') return this.#fail(release, good, signed)
    const changed = outcome.kind === 'body' || signed.changed
    if (!changed) {
      this.#events?.refreshed('unchanged')
      this.#holds.delete(release)
      const confirmed = { ...(good as Good), confirmedAt: this.#clock.now() }
      return { value: { good: confirmed, last: 'ok', reason: '' }, ttlMs }
    }
    // The manifest again, after its signatures: unchanged, or they may not be its own.
    if (signed.all.size > 0) {
      const again = await this.#fetch(release, validators)
      if (again.kind !== 'not-modified') {
        return this.#fail(release, good, 'the manifest changed while its signatures were read')
      }
    }
    const candidate: Good = {
      entries: entries as readonly ManifestEntry[],
      validators,
      confirmedAt: this.#clock.now(),
      file: file as SnapshotFile,
      signatures: await this.#verified(file as SnapshotFile, signed.all),
      rank: rankOf([validators, ...[...signed.all.values()].map((one) => one.validators)]),
    }
    if (!this.#covered(candidate.signatures)) {
      const names = [...candidate.signatures].map(
        ([name, one]) => `${name}: ${one.file === null ? 'none' : 'does not verify'}`,
      )
      const reason = `no signature verifies against the signing keys (${names.join(', ')})`
      return this.#holdBack(release, last, 'signature', reason)
    }
    return this.#adopt(release, last, candidate, ttlMs)
  }

  /** Each signature, marked whether it verifies over this manifest (a source without keys: all do). */
  async #verified(
    manifest: SnapshotFile,
    signatures: ReadonlyMap<string, Signature>,
  ): Promise<ReadonlyMap<string, Signature>> {
    const verify = this.#parts?.verify
    if (verify === undefined) return signatures
    const marked = new Map<string, Signature>()
    for (const [name, one] of signatures) {
      const verified = one.file !== null && (await verify(manifest.bytes, one.file.bytes))
      marked.set(name, { ...one, verified })
    }
    return marked
  }

  /** Adopts a revision the admission finds whole; else holds it back (the adopted one stays). */
  async #adopt(
    release: string,
    last: State | undefined,
    candidate: Good,
    ttlMs: number,
  ): Promise<Refreshed<State>> {
    const good = last?.good
    const held = await this.#admit?.(release, candidate.entries, good?.entries)
    let adopted = candidate
    if (held != null) {
      const since = last?.heldSince ?? this.#clock.now()
      const signed =
        this.#parts?.verify !== undefined ||
        [...candidate.signatures.values()].some((one) => one.file !== null)
      const bound = this.#settings.holdMaxMs
      if (signed || bound === undefined || this.#clock.now() - since < bound) {
        return this.#holdBack(release, last, 'files', held.reason)
      }
      // Unsigned and past the bound: served without what the origin still lacks.
      adopted = omitting(candidate, held.missing)
      this.#log.warn(
        { release, omitted: held.missing, reason: held.reason },
        'adopting a manifest without entries the origin still lacks',
      )
    }
    const taken = await this.#take(release, adopted, ttlMs)
    this.#fleet?.offer(release, sharedOf(adopted))
    return taken
  }

  /** The adopted revision stays; the held one is tried again after `retryMs`. */
  #holdBack(
    release: string,
    last: State | undefined,
    cause: HoldCause,
    reason: string,
  ): Refreshed<State> {
    const since = last?.heldSince ?? this.#clock.now()
    this.#holds.set(release, { release, cause, reason, since })
    this.#events?.refreshed('held')
    this.#log.warn({ release, cause, reason }, 'holding back a new revision of a manifest')
    const good = last?.good
    return {
      value: { good, last: 'held', reason, heldSince: since },
      ttlMs: this.#settings.retryMs,
    }
  }

  /**
   * The manifest's signatures, each revalidated against the copy held: all
   * of them, whether any changed, or why they could not be read (the first
   * that could not, in the table's order).
   */
  async #signatures(
    release: string,
    good: Good | undefined,
  ): Promise<{ all: ReadonlyMap<string, Signature>; changed: boolean } | string> {
    const all = new Map<string, Signature>()
    let changed = false
    const parts = this.#parts
    if (parts === undefined) return { all, changed }
    const asset = parts.assetOf(release)
    // Asked together: when the origin hangs, one wait for all of them, not one each.
    const outcomes = await Promise.all(
      parts.signatures.map((suffix) =>
        parts.fetchAsset(release, asset + suffix, good?.signatures.get(asset + suffix)?.validators),
      ),
    )
    for (const [index, suffix] of parts.signatures.entries()) {
      const name = asset + suffix
      const held = good?.signatures.get(name)
      const outcome = outcomes[index] as FetchOutcome
      if (outcome.kind === 'failed') return `signature ${name}: ${outcome.reason}`
      if (outcome.kind === 'not-modified' && held !== undefined) {
        all.set(name, held)
        continue
      }
      const file =
        outcome.kind === 'body'
          ? snapshotFile(outcome.bytes, outcome.validators.lastModified)
          : null
      const validators = outcome.kind === 'body' ? outcome.validators : {}
      changed ||= held === undefined || held.file?.etag !== file?.etag
      all.set(name, { file, validators, verified: true })
    }
    return { all, changed }
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
    const good = state.good
    if (this.#usable(good, this.#clock.now())) return servedOf(good)
    if (state.last === 'missing') return { state: 'missing' }
    return { state: 'unavailable', reason: state.reason }
  }
}

/** What a revision serves, made once per revision: every read of a snapshot file gets the same. */
const served = new WeakMap<Good, Snapshot>()

function servedOf(good: Good): Snapshot {
  let snapshot = served.get(good)
  if (snapshot === undefined) {
    // A signature that does not verify over this manifest is never served beside it.
    const signatures = new Map<string, SnapshotFile | null>()
    for (const [name, one] of good.signatures) signatures.set(name, one.verified ? one.file : null)
    snapshot = { state: 'ok', entries: good.entries, file: good.file, signatures }
    served.set(good, snapshot)
  }
  return snapshot
}

/**
 * What a manifest held costs, estimated from above: each entry's name (up to
 * two bytes a character) and hash (64 one-byte characters), and about 100
 * bytes of objects around them; the validators and the state besides.
 */
export function stateSize(release: string, state: State): number {
  let bytes = 2 * release.length + 300
  for (const entry of state.good?.entries ?? []) bytes += 2 * entry.name.length + 64 + 100
  // The bytes served besides: the manifest and its signatures.
  bytes += state.good?.file.bytes.length ?? 0
  for (const one of state.good?.signatures.values() ?? []) bytes += one.file?.bytes.length ?? 0
  return bytes
}

/** A revision as the fleet keeps it. */
function sharedOf(good: Good): SharedRevision {
  const signatures = [...good.signatures].map(([name, one]) => ({
    name,
    bytes: one.file?.bytes ?? null,
    validators: one.validators,
  }))
  return { rank: good.rank, manifest: good.file.bytes, validators: good.validators, signatures }
}

/** A revision without some entries: its manifest rewritten without their lines. */
function omitting(good: Good, missing: readonly string[]): Good {
  const gone = new Set(missing)
  const file = withoutEntries(good.file, gone)
  return { ...good, entries: good.entries.filter((entry) => !gone.has(entry.name)), file }
}
