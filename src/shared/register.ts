import type { FastifyInstance } from 'fastify'
import type { Clock } from '../cache/refreshing.js'
import type { SharedConfig } from './config.js'
import type { SharedEvents, SharedStore } from './store.js'

export interface SharedDeps {
  readonly clock: Clock
  readonly events: SharedEvents
  /** Keys are kept apart per releases URL: forks can share one Redis. */
  readonly releases: string
}

/** Connects the fleet's shared store, closed with the app; null without one. */
export async function registerSharedStore(
  app: FastifyInstance,
  config: SharedConfig,
  deps: SharedDeps,
): Promise<SharedStore | null> {
  if (config.url === undefined) return null
  // Loaded only when used: ioredis costs start-up time and memory.
  const { SharedStore } = await import('./store.js')
  const store = new SharedStore({
    url: config.url,
    prefix: `sysext-redirector:${deps.releases}:`,
    clock: deps.clock,
    log: app.log.child({ module: 'shared' }),
    events: deps.events,
  })
  app.addHook('onClose', async () => store.close())
  return store
}
