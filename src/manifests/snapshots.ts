import { LRUCache } from 'lru-cache'
import { manifestAssetOf, type Manifests } from '../table/layers.js'
import type { HeldFile, HeldFiles } from './held-files.js'
import type { Hold, ManifestStore, Snapshot } from './store.js'

/**
 * A source's snapshot files, read from what the service adopted: a manifest
 * and its signatures from the manifest store (one revision, so a signature
 * is never served with a manifest it does not cover), any other file (a
 * transfer file) from the held files.
 */
export class Snapshots {
  readonly #store: ManifestStore
  readonly #files: HeldFiles
  readonly #manifests: Manifests
  /**
   * The revision of a release's manifest each client was last given, for a
   * short while: a client reads the manifest, then its signature, in two
   * requests, and the snapshot may move on between them (the one cut no
   * snapshot closes, systemd issue 38774). Asked for a signature, a client
   * gets the one of the revision it was given.
   */
  readonly #given = new LRUCache<string, Adopted>({ max: PINNED_MAX, ttl: PINNED_MS })

  constructor(store: ManifestStore, files: HeldFiles, manifests: Manifests) {
    this.#store = store
    this.#files = files
    this.#manifests = manifests
  }

  /**
   * The file as adopted, or a promise when it must be read first. `client`
   * (its address): the signatures it gets cover the manifest it was given.
   */
  read(release: string, asset: string, client?: string): HeldFile | Promise<HeldFile> {
    const kind = this.#kindOf(release, asset)
    if (kind === 'file') return this.#files.get(release, asset)
    return this.#store
      .get(release)
      .then((snapshot) => this.#serve(kind, release, asset, snapshot, client))
  }

  /** A manifest, remembered as given to the client; or a signature, of the revision it was given. */
  #serve(
    kind: 'manifest' | 'signature',
    release: string,
    asset: string,
    snapshot: Snapshot,
    client: string | undefined,
  ): HeldFile {
    if (kind === 'manifest') {
      // Remembered once per revision given (a poll of the same revision writes nothing).
      const key = client === undefined ? undefined : `${client}\0${release}`
      if (snapshot.state === 'ok' && key !== undefined && this.#given.peek(key) !== snapshot) {
        this.#given.set(key, snapshot)
      }
      return manifestOf(snapshot)
    }
    const given = client === undefined ? undefined : this.#given.get(`${client}\0${release}`)
    return signatureOf(given ?? snapshot, asset)
  }

  /** A release's manifest, one of its signatures, or any other file. */
  #kindOf(release: string, asset: string): 'manifest' | 'signature' | 'file' {
    const manifest = manifestAssetOf(this.#manifests, release)
    if (asset === manifest) return 'manifest'
    const suffix = asset.slice(manifest.length)
    if (asset.startsWith(manifest) && this.#manifests.signatures.includes(suffix)) {
      return 'signature'
    }
    return 'file'
  }

  /**
   * The file from memory while it is fresh there; else undefined (the lane
   * then hands the request to the route, whose read refreshes it).
   */
  readNow(release: string, asset: string, client?: string): HeldFile | undefined {
    const kind = this.#kindOf(release, asset)
    if (kind === 'file') return this.#files.now(release, asset)
    const snapshot = this.#store.now(release)
    if (snapshot === undefined) return undefined
    return this.#serve(kind, release, asset, snapshot, client)
  }

  /** A release changed (a webhook): its transfer files are read again, the held copies served meanwhile. */
  invalidate(release: string): number {
    return this.#files.invalidate(release)
  }

  /** Resolves once every read under way (a refresh behind a held copy too) has answered. */
  async settled(): Promise<void> {
    await Promise.all([this.#store.settled(), this.#files.settled()])
  }

  /** Every manifest whose newer revision is held back now (a metric reads them). */
  holds(): readonly Hold[] {
    return this.#store.holds()
  }

  /** Why a newer revision of a release's manifest is held back; undefined when none is. */
  heldBack(release: string): string | undefined {
    return this.#store.heldBack(release)
  }
}

/** An adopted revision of a manifest, as the store reads it. */
type Adopted = Extract<Snapshot, { state: 'ok' }>

// Clients remembered at once, and for how long: a sysupdate run reads its signature in
// well under a minute after its manifest.
const PINNED_MAX = 10_000
const PINNED_MS = 60_000

function manifestOf(snapshot: Snapshot): HeldFile {
  if (snapshot.state !== 'ok') return snapshot
  return { state: 'ok', file: snapshot.file }
}

function signatureOf(snapshot: Snapshot, asset: string): HeldFile {
  if (snapshot.state !== 'ok') return snapshot
  const file = snapshot.signatures.get(asset)
  return file == null ? { state: 'missing' } : { state: 'ok', file }
}
