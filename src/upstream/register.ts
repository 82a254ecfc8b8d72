import type { FastifyInstance } from 'fastify'
import type { SharedStore } from '../fleet/store.js'
import type { Dispatcher } from 'undici'
import { UpstreamChecks, type Clock } from './checks.js'
import type { UpstreamConfig } from '../config/upstream.js'
import { noUpstreamEvents, type UpstreamEvents } from './head.js'
import type { UpstreamGate } from './gate.js'
import type { Mirrors } from '../table/resolve.js'
import { createUpstreamAgent } from './head.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The upstream check cache (see UpstreamChecks.invalidate); null with UPSTREAM_CHECKS=false. */
    upstreamChecks: UpstreamChecks | null
  }
}

export interface UpstreamDeps {
  /** What may go to GitHub now, shared with the manifest index. */
  readonly gate: UpstreamGate
  /** Where the HEADs go; default a keep-alive Agent of the app's own, closed with the app. */
  readonly dispatcher?: Dispatcher | undefined
  /** Default performance (monotonic milliseconds). */
  readonly clock?: Clock | undefined
  readonly events?: UpstreamEvents | undefined
  /** The fleet's shared store; undefined: this instance alone. */
  readonly shared?: SharedStore | null | undefined
  /** Each source's mirrors (Origins.mirrors). */
  readonly mirrors?: Readonly<Record<string, Mirrors>> | undefined
}

/** Sets up the checks; returns them, or null when they are off. */
export function registerUpstreamChecks(
  app: FastifyInstance,
  config: UpstreamConfig,
  deps: UpstreamDeps,
): UpstreamChecks | null {
  if (!config.enabled) {
    app.decorate('upstreamChecks', null)
    return null
  }
  let dispatcher = deps.dispatcher
  if (dispatcher === undefined) {
    const agent = createUpstreamAgent(config)
    // Destroy, not close: a background refresh must not hold up shutdown.
    app.addHook('onClose', async () => agent.destroy())
    dispatcher = agent
  }
  const checks = new UpstreamChecks({
    config,
    dispatcher,
    clock: deps.clock ?? performance,
    events: deps.events ?? noUpstreamEvents,
    gate: deps.gate,
    log: app.log.child({ module: 'upstream' }),
    shared: deps.shared ?? undefined,
    mirrors: deps.mirrors,
  })
  app.decorate('upstreamChecks', checks)
  return checks
}
