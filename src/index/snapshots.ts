import type { Manifests } from '../table/layers.js'
import type { HeldFile, HeldFiles } from './held-files.js'
import type { ManifestStore, Snapshot } from './store.js'

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

  constructor(store: ManifestStore, files: HeldFiles, manifests: Manifests) {
    this.#store = store
    this.#files = files
    this.#manifests = manifests
  }

  /** The file as adopted, or a promise when it must be read first. */
  read(release: string, asset: string): HeldFile | Promise<HeldFile> {
    const manifest = this.manifestAsset(release)
    if (asset === manifest) return this.#store.get(release).then(manifestOf)
    if (
      asset.startsWith(manifest) &&
      this.#manifests.signatures.includes(asset.slice(manifest.length))
    ) {
      return this.#store.get(release).then((snapshot) => signatureOf(snapshot, asset))
    }
    return this.#files.get(release, asset)
  }

  /** The manifest's asset name in a release: the global one's, or an extension's. */
  manifestAsset(release: string): string {
    const { global, extension } = this.#manifests
    return release === global.release ? global.asset : extension.asset
  }

  /** A release changed (a webhook): its transfer files are read again, the held copies served meanwhile. */
  invalidate(release: string): number {
    return this.#files.invalidate(release)
  }

  /** Resolves once every read under way (a refresh behind a held copy too) has answered. */
  async settled(): Promise<void> {
    await Promise.all([this.#store.settled(), this.#files.settled()])
  }

  /** Why a newer revision of a release's manifest is held back; undefined when none is. */
  heldBack(release: string): string | undefined {
    return this.#store.heldBack(release)
  }
}

function manifestOf(snapshot: Snapshot): HeldFile {
  if (snapshot.state !== 'ok') return snapshot
  return { state: 'ok', file: snapshot.file as NonNullable<typeof snapshot.file> }
}

function signatureOf(snapshot: Snapshot, asset: string): HeldFile {
  if (snapshot.state !== 'ok') return snapshot
  const file = snapshot.signatures?.get(asset)
  return file == null ? { state: 'missing' } : { state: 'ok', file }
}
