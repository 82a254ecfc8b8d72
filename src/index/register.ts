import type { FastifyInstance } from 'fastify'
import { Agent, type Dispatcher } from 'undici'
import { originsOf, type Config } from '../config.js'
import type { SharedStore } from '../shared/store.js'
import type { Manifests } from '../table/layers.js'
import type { Clock } from '../upstream/checks.js'
import type { UpstreamGate } from '../upstream/gate.js'
import { manifestFetcher } from './fetch.js'
import { sharedFetcher } from './shared-fetch.js'
import { ManifestIndex, type IndexLog } from './manifest-index.js'
import { ManifestStore, type StoreEvents } from './store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The manifest index; null with MANIFEST_INDEX=false. */
    manifestIndex: ManifestIndex | null
  }
}

export interface IndexDeps {
  /** Where manifest fetches go; default a keep-alive Agent of the app's own. */
  readonly dispatcher?: Dispatcher | undefined
  /** Default performance (monotonic milliseconds). */
  readonly clock?: Clock | undefined
  /** Where the bakery's manifests live (the table's `manifests`). */
  readonly manifests: Manifests
  /** GitHub's pauses, shared with the existence checks. */
  readonly gate?: UpstreamGate | undefined
  /** Told each manifest refresh's outcome (the metrics). */
  readonly events?: StoreEvents | undefined
  /** The fleet's shared store; undefined: this instance alone. */
  readonly shared?: SharedStore | null | undefined
}

// Manifests fetched at once when the whole catalog is wanted (the directory).
const CONCURRENCY = 8

/** Sets up the manifest index; returns it (null when it is off), which the decision reads. */
export function registerIndex(
  app: FastifyInstance,
  config: Config,
  deps: IndexDeps,
): ManifestIndex | null {
  const index = config.index.enabled ? appIndex(app, config, deps) : null
  app.decorate('manifestIndex', index)
  return index
}

function appIndex(app: FastifyInstance, config: Config, deps: IndexDeps): ManifestIndex {
  let dispatcher = deps.dispatcher
  if (dispatcher === undefined) {
    const agent = new Agent({ connect: { timeout: config.index.fetchTimeoutMs } })
    // Destroy, not close: a fetch in flight must not hold up shutdown.
    app.addHook('onClose', async () => agent.destroy())
    dispatcher = agent
  }
  return createIndex(config, {
    dispatcher,
    clock: deps.clock ?? performance,
    manifests: deps.manifests,
    gate: deps.gate,
    log: app.log.child({ module: 'index' }),
    events: deps.events,
    shared: deps.shared,
  })
}

/** The manifest index over GitHub's release downloads (the app's, or explain's). */
export function createIndex(
  config: Config,
  deps: {
    dispatcher: Dispatcher
    clock: Clock
    manifests: Manifests
    log: IndexLog
    gate?: UpstreamGate | undefined
    events?: StoreEvents | undefined
    shared?: SharedStore | null | undefined
  },
): ManifestIndex {
  const settings = config.index
  const { global, extension } = deps.manifests
  const fetch = manifestFetcher({
    dispatcher: deps.dispatcher,
    releases: originsOf(config).releases,
    timeoutMs: settings.fetchTimeoutMs,
    maxBytes: settings.maxBytes,
    assetOf: (release) => (release === global.release ? global.asset : extension.asset),
    gate: deps.gate,
  })
  // With a shared store, an instance fetches only what no other instance fetched lately.
  const fleetFetch = deps.shared == null ? fetch : sharedFetcher(fetch, deps.shared, settings)
  const store = new ManifestStore(fleetFetch, deps.clock, settings, deps.log, deps.events)
  return new ManifestIndex(
    store,
    { maxExtensions: settings.maxExtensions, concurrency: CONCURRENCY, manifests: deps.manifests },
    deps.log,
  )
}
