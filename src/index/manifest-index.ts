import { RedirectorError } from '../errors.js'
import { DEFAULT_MANIFESTS, type Manifests } from '../table/layers.js'
import { renderOutput } from '../table/template.js'
import { candidateNames, imagesOf, type Extension } from './catalog.js'
import type { ManifestEntry } from './manifest.js'
import { readingsFor, type CatalogSource, type Interpretation } from './newest.js'
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
export class ManifestIndex implements CatalogSource {
  readonly #store: ManifestStore
  readonly #limits: IndexLimits
  readonly #log: IndexLog
  readonly #globalRelease: string
  readonly #releaseOf: (extension: string) => string
  // Derived data, recomputed only when a manifest's content changes.
  readonly #candidates = new WeakMap<readonly ManifestEntry[], ReadonlySet<string>>()
  readonly #extensions = new WeakMap<readonly ManifestEntry[], Extension | null>()

  constructor(store: ManifestStore, limits: IndexLimits, log: IndexLog) {
    this.#store = store
    this.#limits = limits
    this.#log = log
    const manifests = limits.manifests ?? DEFAULT_MANIFESTS
    this.#globalRelease = manifests.global.release
    this.#releaseOf = (ext) => renderOutput(manifests.extension.release, { ext })
  }

  candidates(): Promise<ReadonlySet<string>> {
    return this.#candidateSet()
  }

  async extension(name: string): Promise<Extension | undefined> {
    const candidates = await this.#candidateSet()
    if (!candidates.has(name)) return undefined
    const release = this.#releaseOf(name)
    return this.#extensionOf(name, await this.#store.get(release))
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

  /** A candidate's extension, when its manifest is fresh in memory. */
  #heldExtension(name: string): { found: Extension | undefined } | undefined {
    const snapshot = this.#store.now(this.#releaseOf(name))
    return snapshot === undefined ? undefined : { found: this.#extensionOf(name, snapshot) }
  }

  /** An extension from its manifest; undefined when missing or naming no image of it. */
  #extensionOf(name: string, snapshot: Snapshot): Extension | undefined {
    const entries = entriesOf(snapshot, this.#releaseOf(name))
    if (entries === null) return undefined
    let extension = this.#extensions.get(entries)
    if (extension === undefined) {
      const images = imagesOf(name, entries)
      extension = images.length === 0 ? null : { name, images }
      this.#extensions.set(entries, extension)
    }
    return extension ?? undefined
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
    const releases = new Set([this.#globalRelease, tag])
    for (let dash = tag.indexOf('-'); dash > 0; dash = tag.indexOf('-', dash + 1)) {
      releases.add(this.#releaseOf(tag.slice(0, dash)))
    }
    return [...releases].filter((release) => this.#store.invalidate(release))
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

/** The entries of a manifest; null when it is missing; throws when GitHub cannot say. */
function entriesOf(snapshot: Snapshot, release: string): readonly ManifestEntry[] | null {
  if (snapshot.state === 'ok') return snapshot.entries
  if (snapshot.state === 'missing') return null
  throw new RedirectorError(
    'SR_INDEX_UNAVAILABLE',
    `the index of release ${release} is not available: ${snapshot.reason}`,
  )
}
