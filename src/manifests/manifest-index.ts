import { RedirectorError } from '../core/errors.js'
import { DEFAULT_MANIFESTS, type Manifests } from '../table/layers.js'
import { renderOutput } from '../table/template.js'
import {
  candidateNames,
  extensionInTurns,
  publishedNames,
  type Extension,
} from '../catalog/catalog.js'
import type { ManifestEntry } from '../catalog/manifest.js'
import { readingsFor, type CatalogSource, type Interpretation } from '../catalog/newest.js'
import type { ManifestStore, Snapshot } from './store.js'

/** The release holding the Flatcar bakery's global SHA256SUMS. */
export const GLOBAL_RELEASE = DEFAULT_MANIFESTS.global.release

export interface IndexLimits {
  /** The most extension names taken from the global manifest. */
  readonly maxExtensions: number
  /** Manifests fetched at once when the whole catalog is wanted. */
  readonly concurrency: number
  /** Where the manifests live (the table's `manifests`); default the Flatcar layout. */
  readonly manifests?: Manifests
}

export interface IndexLog {
  warn(details: object, message: string): void
}

/**
 * The extensions the bakery publishes, told apart by its manifests: the
 * global SHA256SUMS names the candidates (`docker` and `docker-compose` for
 * `docker-compose-2.34.0-x86-64.raw`), and a candidate is an extension when
 * its own release's SHA256SUMS lists images under its name. Only candidates
 * are ever fetched, so no request path makes us ask GitHub for a release the
 * global manifest does not mention.
 */
const NO_NAMES: ReadonlySet<string> = new Set()

export class ManifestIndex implements CatalogSource {
  readonly #store: ManifestStore
  readonly #limits: IndexLimits
  readonly #log: IndexLog
  readonly #globalRelease: string
  readonly #releaseOf: (extension: string) => string
  // Derived data, recomputed only when a manifest's content changes.
  readonly #candidates = new WeakMap<readonly ManifestEntry[], ReadonlySet<string>>()
  readonly #published = new WeakMap<readonly ManifestEntry[], ReadonlySet<string>>()
  readonly #extensions = new WeakMap<readonly ManifestEntry[], Map<string, Derivation>>()
  readonly #names = new WeakMap<readonly ManifestEntry[], ReadonlySet<string>>()
  /** The candidates of the last global manifest read, for preparing new copies. */
  #lastCandidates: ReadonlySet<string> = new Set()

  constructor(store: ManifestStore, limits: IndexLimits, log: IndexLog) {
    this.#store = store
    this.#limits = limits
    this.#log = log
    const manifests = limits.manifests ?? DEFAULT_MANIFESTS
    this.#globalRelease = manifests.global.release
    this.#releaseOf = (ext) => renderOutput(manifests.extension.release, { ext })
    store.prepareCopies((release, entries) => this.#prepare(release, entries))
  }

  candidates(): Promise<ReadonlySet<string>> {
    return this.#candidateSet()
  }

  async extension(name: string): Promise<Extension | undefined> {
    const candidates = await this.#candidateSet()
    if (!candidates.has(name)) return undefined
    const release = this.#releaseOf(name)
    const entries = entriesOf(await this.#store.get(release), release)
    return entries === null ? undefined : this.#derivation(name, entries).ready
  }

  /**
   * What a newest-version image name asks for, when every manifest it needs
   * is fresh in memory: `{ found }` at once, else undefined (read it with
   * interpret(), which waits). Throws as the reads do when GitHub cannot say.
   */
  readingNow(file: string): { found: Interpretation | undefined } | undefined {
    const candidates = this.#candidatesNow()
    if (candidates === undefined) return undefined
    for (const { name, arch, stream } of readingsFor(file, candidates)) {
      const held = this.#heldExtension(name)
      if (held === undefined) return undefined
      if (held.found !== undefined) return { found: { extension: held.found, arch, stream } }
    }
    return { found: undefined }
  }

  /** Whether the global manifest lists images of this name (catalog.ts, publishedNames). */
  async publishes(name: string): Promise<boolean> {
    return this.#publishedOf(await this.#store.get(this.#globalRelease)).has(name)
  }

  /** publishes() when the global manifest is fresh in memory: `{ found }` at once, else undefined. */
  publishesNow(name: string): { found: boolean } | undefined {
    const global = this.#store.now(this.#globalRelease)
    return global === undefined ? undefined : { found: this.#publishedOf(global).has(name) }
  }

  /**
   * Whether an adopted manifest lists `asset`: the global one, or the one of
   * the release it is in; undefined while neither is adopted (nothing is
   * known yet). From memory, fresh or not: it orders upstream checks.
   */
  listsNow(release: string, asset: string): boolean | undefined {
    const global = this.#store.adoptedEntries(this.#globalRelease)
    const own = this.#store.adoptedEntries(release)
    if (global === undefined && own === undefined) return undefined
    return this.#namesOf(global).has(asset) || this.#namesOf(own).has(asset)
  }

  #namesOf(entries: readonly ManifestEntry[] | undefined): ReadonlySet<string> {
    if (entries === undefined) return NO_NAMES
    let names = this.#names.get(entries)
    if (names === undefined) {
      names = new Set(entries.map((entry) => entry.name))
      this.#names.set(entries, names)
    }
    return names
  }

  /** The names a copy of the global manifest publishes, worked out once per copy. */
  #publishedOf(snapshot: Snapshot): ReadonlySet<string> {
    const entries = entriesOf(snapshot, this.#globalRelease)
    if (entries === null) return new Set()
    let names = this.#published.get(entries)
    if (names === undefined) {
      names = publishedNames(entries)
      this.#published.set(entries, names)
    }
    return names
  }

  /** extension() when the manifests it needs are fresh in memory: `{ found }` at once, else undefined. */
  extensionNow(name: string): { found: Extension | undefined } | undefined {
    const candidates = this.#candidatesNow()
    if (candidates === undefined) return undefined
    return candidates.has(name) ? this.#heldExtension(name) : { found: undefined }
  }

  /** extensions() when every manifest is fresh in memory: `{ found }` at once, else undefined. */
  extensionsNow(): { found: readonly Extension[] } | undefined {
    const candidates = this.#candidatesNow()
    if (candidates === undefined) return undefined
    const found: Extension[] = []
    for (const name of candidates) {
      const held = this.#heldExtension(name)
      if (held === undefined) return undefined
      if (held.found !== undefined) found.push(held.found)
    }
    return { found }
  }

  /** The candidates, when the global manifest is fresh in memory. */
  #candidatesNow(): ReadonlySet<string> | undefined {
    const global = this.#store.now(this.#globalRelease)
    return global === undefined ? undefined : this.#candidatesOf(global)
  }

  /** A candidate's extension, when its manifest is fresh in memory and made into one. */
  #heldExtension(name: string): { found: Extension | undefined } | undefined {
    const release = this.#releaseOf(name)
    const snapshot = this.#store.now(release)
    if (snapshot === undefined) return undefined
    const entries = entriesOf(snapshot, release)
    if (entries === null) return { found: undefined }
    // Still being made (in turns): the read that waits (extension()) shares that work.
    return this.#extensions.get(entries)?.get(name)?.made
  }

  /**
   * The extension a manifest copy gives `name`, made once per copy in turns
   * of the event loop (extensionInTurns), so even 100,000 versions never
   * hold /healthz or the requests beside it.
   */
  #derivation(name: string, entries: readonly ManifestEntry[]): Derivation {
    let byName = this.#extensions.get(entries)
    if (byName === undefined) {
      byName = new Map()
      this.#extensions.set(entries, byName)
    }
    let derivation = byName.get(name)
    if (derivation === undefined) {
      const made: Derivation = {
        made: undefined,
        ready: extensionInTurns(name, entries).then((found) => {
          made.made = { found }
          return found
        }),
      }
      derivation = made
      byName.set(name, derivation)
    }
    return derivation
  }

  /**
   * A new copy of a release, before the store serves it: the extensions it
   * belongs to are made from it first, so no read finds it half made, and
   * while this runs the reads are served the copy before it.
   */
  async #prepare(release: string, entries: readonly ManifestEntry[]): Promise<void> {
    for (const name of this.#lastCandidates) {
      if (this.#releaseOf(name) === release) await this.#derivation(name, entries).ready
    }
  }

  /** Every extension, by name. */
  async extensions(): Promise<readonly Extension[]> {
    const names = [...(await this.#candidateSet())]
    const found: (Extension | undefined)[] = new Array(names.length)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        const i = next++
        found[i] = await this.extension(names[i] as string)
      }
    }
    const workers = Math.min(this.#limits.concurrency, names.length)
    await Promise.all(Array.from({ length: workers }, worker))
    return found.filter((extension) => extension !== undefined)
  }

  /** Whether the global list, or a manifest of these extensions, is a copy past its refresh. */
  stale(extensions: readonly string[]): boolean {
    return [this.#globalRelease, ...extensions.map((name) => this.#releaseOf(name))].some(
      (release) => this.#store.isStale(release),
    )
  }

  /**
   * After a release event for `tag`: the next read asks GitHub again for the
   * global manifest, the tag's own and those of the extensions the tag could
   * belong to (`kubernetes` for `kubernetes-v1.33.0`). Returns what it dropped.
   */
  invalidate(tag: string): string[] {
    return this.touchedBy(tag).filter((release) => this.#store.invalidate(release))
  }

  /** The manifests a release event for `tag` may have changed (see invalidate). */
  touchedBy(tag: string): string[] {
    const releases = new Set([this.#globalRelease, tag])
    for (let dash = tag.indexOf('-'); dash > 0; dash = tag.indexOf('-', dash + 1)) {
      releases.add(this.#releaseOf(tag.slice(0, dash)))
    }
    return [...releases]
  }

  async #candidateSet(): Promise<ReadonlySet<string>> {
    return this.#candidatesOf(await this.#store.get(this.#globalRelease))
  }

  /** The candidate names the global manifest gives, worked out once per copy of it. */
  #candidatesOf(snapshot: Snapshot): ReadonlySet<string> {
    const global = this.#globalRelease
    const entries = entriesOf(snapshot, global)
    if (entries === null) return new Set()
    let candidates = this.#candidates.get(entries)
    if (candidates === undefined) {
      candidates = this.#limit(candidateNames(entries))
      this.#candidates.set(entries, candidates)
      this.#lastCandidates = candidates
      const kept = new Set([global, ...[...candidates].map(this.#releaseOf)])
      this.#store.retain((release) => kept.has(release))
    }
    return candidates
  }

  #limit(names: string[]): ReadonlySet<string> {
    const { maxExtensions } = this.#limits
    if (names.length > maxExtensions) {
      this.#log.warn(
        { candidates: names.length, kept: maxExtensions },
        'the global manifest names more extensions than INDEX_MAX_EXTENSIONS; ignoring the rest',
      )
    }
    return new Set(names.slice(0, maxExtensions))
  }
}

/** An extension being made from a manifest copy; `made` once it is. */
interface Derivation {
  made: { readonly found: Extension | undefined } | undefined
  readonly ready: Promise<Extension | undefined>
}

/** The entries of a manifest; null when it is missing; throws when GitHub cannot say. */
function entriesOf(snapshot: Snapshot, release: string): readonly ManifestEntry[] | null {
  if (snapshot.state === 'ok') return snapshot.entries
  if (snapshot.state === 'missing') return null
  throw new RedirectorError(
    'SR_INDEX_UNAVAILABLE',
    `the index of release ${release} is not available: ${snapshot.reason}`,
  )
}
