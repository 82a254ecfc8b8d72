import type { FastifyInstance } from 'fastify'
import { Agent, type Dispatcher } from 'undici'
import type { Config } from '../config/service.js'
import type { SharedStore } from '../fleet/store.js'
import { manifestAssetOf, type Manifests } from '../table/layers.js'
import type { Mirrors } from '../table/resolve.js'
import { sharedRelease } from '../table/sources.js'
import type { Clock } from '../upstream/checks.js'
import type { UpstreamGate } from '../upstream/gate.js'
import { assetFetcher, manifestFetcher } from './fetch.js'
import { fleetRevisions } from './fleet-revisions.js'
import { HeldFiles } from './held-files.js'
import { sharedFetcher } from './shared-fetch.js'
import { ManifestIndex, type IndexLog } from './manifest-index.js'
import type { Verify } from './signing-keys.js'
import { Snapshots } from './snapshots.js'
import { ManifestStore, type Admit, type StoreEvents } from './store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The default source's manifest index; null with MANIFEST_INDEX=false. */
    manifestIndex: ManifestIndex | null
    /** Every source's manifest index, by source name (empty with MANIFEST_INDEX=false). */
    manifestIndexes: ReadonlyMap<string, ManifestIndex>
    /** Every source's adopted snapshot files, by source name (empty with MANIFEST_INDEX=false). */
    snapshots: ReadonlyMap<string, Snapshots>
  }
}

/** What the service knows of one source's manifests: the index, and the snapshot files served. */
export interface SourceIndex {
  readonly index: ManifestIndex
  readonly snapshots: Snapshots
}

export interface IndexDeps {
  /** Where manifest fetches go; default a keep-alive Agent of the app's own. */
  readonly dispatcher?: Dispatcher | undefined
  /** Default performance (monotonic milliseconds). */
  readonly clock?: Clock | undefined
  /** Where the bakery's manifests live (the table's `manifests`). */
  readonly manifests: Manifests
  /** Each source's release downloads, by name (Origins.sources): one index each. */
  readonly sources: Readonly<Record<string, string>>
  /** Each source's mirrors (Origins.mirrors), asked for a file no copy is held of. */
  readonly mirrors?: Readonly<Record<string, Mirrors>> | undefined
  /** The default source's name. */
  readonly source: string
  /** GitHub's pauses, shared with the existence checks. */
  readonly gate?: UpstreamGate | undefined
  /** Told each manifest refresh's outcome, per source (the metrics). */
  readonly events?: ((source: string) => StoreEvents) | undefined
  /** The fleet's shared store; undefined: this instance alone. */
  readonly shared?: SharedStore | null | undefined
  /** When a source's new manifest revision may be adopted; default at once. */
  readonly admitOf?: ((source: string) => Admit) | undefined
  /** Each source's signing keys (src/manifests/signing-keys.ts); none: not verified. */
  readonly verifiers?: ReadonlyMap<string, Verify> | undefined
}

// Manifests fetched at once when the whole catalog is wanted (the directory).
const CONCURRENCY = 8

/**
 * Sets up one manifest index per source (none when the index is off);
 * returns them by source name, which the decision reads.
 */
export function registerIndex(
  app: FastifyInstance,
  config: Config,
  deps: IndexDeps,
): ReadonlyMap<string, SourceIndex> {
  const known = config.index.enabled
    ? appIndexes(app, config, deps)
    : new Map<string, SourceIndex>()
  const indexes = new Map([...known].map(([source, one]) => [source, one.index]))
  app.decorate('manifestIndex', indexes.get(deps.source) ?? null)
  app.decorate('manifestIndexes', indexes)
  app.decorate('snapshots', new Map([...known].map(([source, one]) => [source, one.snapshots])))
  return known
}

function appIndexes(
  app: FastifyInstance,
  config: Config,
  deps: IndexDeps,
): Map<string, SourceIndex> {
  let dispatcher = deps.dispatcher
  if (dispatcher === undefined) {
    const agent = new Agent({ connect: { timeout: config.index.fetchTimeoutMs } })
    // Destroy, not close: a fetch in flight must not hold up shutdown.
    app.addHook('onClose', async () => agent.destroy())
    dispatcher = agent
  }
  return createIndexes(config, deps.sources, (source) => ({
    dispatcher,
    clock: deps.clock ?? performance,
    manifests: deps.manifests,
    gate: deps.gate,
    log: app.log.child({ module: 'index', source }),
    events: deps.events?.(source),
    shared: deps.shared,
    admit: deps.admitOf?.(source),
    verify: deps.verifiers?.get(source),
    mirrors: deps.mirrors?.[source]?.bases,
  }))
}

/** What createIndex needs besides a source and its release downloads. */
export type IndexParts = Omit<Parameters<typeof createIndex>[1], 'releases' | 'source'>

/** One index per source (Origins.sources: name to release downloads), by name (the app's, or explain's). */
export function createIndexes(
  config: Config,
  sources: Readonly<Record<string, string>>,
  partsOf: (source: string) => IndexParts,
): Map<string, SourceIndex> {
  const indexes = new Map<string, SourceIndex>()
  for (const [source, releases] of Object.entries(sources)) {
    indexes.set(source, createIndex(config, { ...partsOf(source), releases, source }))
  }
  return indexes
}

/** The manifest index and the snapshot files over one source's release downloads. */
function createIndex(
  config: Config,
  deps: {
    dispatcher: Dispatcher
    clock: Clock
    manifests: Manifests
    releases: string
    /** The source these releases are of: the fleet's store keeps each source's apart. */
    source: string
    log: IndexLog
    gate?: UpstreamGate | undefined
    events?: StoreEvents | undefined
    shared?: SharedStore | null | undefined
    admit?: Admit | undefined
    verify?: Verify | undefined
    mirrors?: readonly string[] | undefined
  },
): SourceIndex {
  const settings = config.index
  const assetOf = (release: string): string => manifestAssetOf(deps.manifests, release)
  const reach = {
    dispatcher: deps.dispatcher,
    releases: deps.releases,
    timeoutMs: settings.fetchTimeoutMs,
    maxBytes: settings.maxBytes,
    gate: deps.gate,
    mirrors: deps.mirrors,
  }
  const fetch = manifestFetcher({ ...reach, assetOf })
  // With a shared store, an instance fetches only what no other instance fetched lately.
  const fleetFetch =
    deps.shared == null
      ? fetch
      : sharedFetcher(fetch, deps.shared, settings, (release) =>
          sharedRelease(deps.source, release),
        )
  const store = new ManifestStore(fleetFetch, deps.clock, settings, deps.log, deps.events)
  const fetchAsset = assetFetcher(reach)
  store.readRevisions({
    fetchAsset,
    assetOf,
    signatures: deps.manifests.signatures,
    verify: deps.verify,
  })
  if (deps.admit !== undefined) store.admitWith(deps.admit)
  // In a fleet, every instance serves the newest revision any of them adopted.
  if (deps.shared != null) {
    const keyOf = (release: string) => sharedRelease(deps.source, release)
    store.shareAdoptions(fleetRevisions(deps.shared, keyOf, settings.staleMaxMs))
  }
  const index = new ManifestIndex(
    store,
    { maxExtensions: settings.maxExtensions, concurrency: CONCURRENCY, manifests: deps.manifests },
    deps.log,
  )
  // Transfer files are small: a share of the manifests' byte budget holds thousands. They
  // are named by clients, so their fetches spend the checks' per-second budget too.
  const files = new HeldFiles(
    assetFetcher({ ...reach, budgeted: true }),
    deps.clock,
    { ...settings, cacheMaxBytes: settings.cacheMaxBytes / 4 },
    deps.log,
  )
  return { index, snapshots: new Snapshots(store, files, deps.manifests) }
}
