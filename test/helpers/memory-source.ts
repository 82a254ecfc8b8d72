import { imagesOf, publishedNames, type Extension } from '../../src/catalog/catalog.js'
import type { ManifestEntry } from '../../src/catalog/manifest.js'
import type { CatalogSource } from '../../src/catalog/newest.js'

const entries = (...names: string[]): ManifestEntry[] =>
  names.map((name) => ({ sha256: 'a'.repeat(64), name }))

/**
 * The catalog logic over manifests held in memory (the store and the fetcher
 * are tested against the fake GitHub in store.test.ts and index.test.ts).
 * It records every name looked up, to prove which names are asked for.
 */
export class MemorySource implements CatalogSource {
  readonly asked: string[] = []
  readonly #manifests: Map<string, ManifestEntry[]>

  constructor(manifests: Record<string, string[]>) {
    this.#manifests = new Map(Object.entries(manifests).map(([k, v]) => [k, entries(...v)]))
  }

  async candidates(): Promise<ReadonlySet<string>> {
    return new Set(this.#manifests.keys())
  }

  async extension(name: string): Promise<Extension | undefined> {
    this.asked.push(name)
    const images = imagesOf(name, this.#manifests.get(name) ?? [])
    return images.length === 0 ? undefined : { name, images }
  }

  /** Whether any manifest held lists images of the name, as the global one would. */
  async publishes(name: string): Promise<boolean> {
    return publishedNames([...this.#manifests.values()].flat()).has(name)
  }

  /** Copies behind these extensions past their refresh (tests set it). */
  staleNames = new Set<string>()

  stale(extensions: readonly string[]): boolean {
    return extensions.some((name) => this.staleNames.has(name))
  }

  async extensions(): Promise<readonly Extension[]> {
    const all = await Promise.all([...this.#manifests.keys()].map((name) => this.extension(name)))
    return all.filter((e) => e !== undefined)
  }
}

export const bakery = (): MemorySource =>
  new MemorySource({
    kubernetes: [
      'kubernetes-v1.31.4-x86-64.raw',
      'kubernetes-v1.31.4-arm64.raw',
      'kubernetes-v1.32.2-x86-64.raw',
      'kubernetes-v1.32.2-arm64.raw',
      'kubernetes-v1.32.10-x86-64.raw',
    ],
    docker: ['docker-28.0.1-x86-64.raw', 'docker-28.0.1-arm64.raw'],
    'docker-compose': ['docker-compose-2.34.0-x86-64.raw', 'docker-compose-2.33.1-x86-64.raw'],
    // A release named like an extension but holding one version's images.
    'crio-v1.30.0': ['crio-v1.30.0-x86-64.raw'],
    crio: ['crio-v1.30.0-x86-64.raw', 'crio-v1.30.0-rc1-x86-64.raw'],
    x86: ['x86-1.0-arm64.raw'],
    wasmtime: ['wasmtime-24.0.0-arm64.raw'],
  })
