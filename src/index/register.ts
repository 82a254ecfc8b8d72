import type { FastifyInstance } from 'fastify'
import { Agent, type Dispatcher } from 'undici'
import { originsOf, type Config } from '../config.js'
import { registerDirectory } from '../directory/routes.js'
import { registerGithubHook } from '../hooks/github.js'
import type { Clock } from '../upstream/checks.js'
import type { RedirectGuard } from '../upstream/guard.js'
import { manifestFetcher } from './fetch.js'
import { ManifestIndex } from './manifest-index.js'
import { newestHook } from './redirect-hook.js'
import { ManifestStore } from './store.js'

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
}

// Manifests fetched at once when the whole catalog is wanted (the directory).
const CONCURRENCY = 8

/**
 * Sets up the manifest index, the directory and the webhook; returns what the
 * redirect route runs first for newest-version names (undefined when off).
 */
export function registerIndex(
  app: FastifyInstance,
  config: Config,
  deps: IndexDeps,
): RedirectGuard | undefined {
  const settings = config.index
  const index = settings.enabled ? createIndex(app, config, deps) : null
  app.decorate('manifestIndex', index)
  const { secret, maxBytes } = settings.webhook
  if (secret !== undefined) {
    registerGithubHook(app, {
      secret,
      maxBytes,
      invalidate: (tag) => ({
        manifests: index?.invalidate(tag) ?? [],
        checks: app.upstreamChecks?.invalidate(tag) ?? 0,
      }),
    })
  }
  if (index === null) return undefined
  const retryAfter = Math.max(1, Math.ceil(settings.retryMs / 1000))
  const maxAge = config.redirectMaxAge.mutable
  registerDirectory(app, { index, maxAge, retryAfter })
  return newestHook({
    index,
    releases: originsOf(config).releases,
    maxAge,
    notFoundMaxAge: Math.floor(config.upstream.ttlMs.missing / 1000),
    retryAfter,
    checks: () => app.upstreamChecks,
  })
}

function createIndex(app: FastifyInstance, config: Config, deps: IndexDeps): ManifestIndex {
  const settings = config.index
  let dispatcher = deps.dispatcher
  if (dispatcher === undefined) {
    const agent = new Agent({ connect: { timeout: settings.fetchTimeoutMs } })
    // Destroy, not close: a fetch in flight must not hold up shutdown.
    app.addHook('onClose', async () => agent.destroy())
    dispatcher = agent
  }
  const log = app.log.child({ module: 'index' })
  const fetch = manifestFetcher({
    dispatcher,
    releases: originsOf(config).releases,
    timeoutMs: settings.fetchTimeoutMs,
    maxBytes: settings.maxBytes,
  })
  const store = new ManifestStore(fetch, deps.clock ?? performance, settings, log)
  return new ManifestIndex(
    store,
    { maxExtensions: settings.maxExtensions, concurrency: CONCURRENCY },
    log,
  )
}
