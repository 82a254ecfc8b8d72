import type { FastifyInstance } from 'fastify'
import type { Clock } from '../cache/refreshing.js'
import type { RedisConnection } from './redis.js'
import type { SharedEvents, SharedStore } from './store.js'

export interface SharedDeps {
  readonly clock: Clock
  readonly events: SharedEvents
  /** Keys are kept apart per releases URL: forks can share one Redis. */
  readonly releases: string
}

/** The fleet's shared store over the Redis plan's connection, closed with the app; null without one. */
export async function registerSharedStore(
  app: FastifyInstance,
  connection: RedisConnection | null,
  deps: SharedDeps,
): Promise<SharedStore | null> {
  if (connection === null) return null
  // Loaded only when used.
  const { SharedStore } = await import('./store.js')
  const store = new SharedStore({
    connection,
    prefix: `sysext-redirector:${deps.releases}:`,
    clock: deps.clock,
    log: app.log.child({ module: 'shared' }),
    events: deps.events,
  })
  app.addHook('onClose', async () => store.close())
  return store
}
