import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/service.js'
import type { Decider } from '../decision/decider.js'
import type { Recorder } from '../response/record.js'
import { FLY_CLIENT_IP } from '../protection/client-ip.js'
import type { LaneLimiter } from '../protection/rate-limit.js'
import { HEADERS_TIMEOUT_MS, MAX_HEADER_BYTES } from '../protection/server-limits.js'
import { laneAnswerer } from './answer.js'
import { installLane, type LaneConnections } from './connections.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The connections the redirect lane holds; null when the lane is off. */
    redirectLane: LaneConnections | null
  }
}

/** Only the answer route is a wildcard: a path it takes has a '*' param. */
function isAnswerRoute(app: FastifyInstance, url: string): boolean {
  const route = app.findRoute({ method: 'GET', url })
  /* c8 ignore next -- '*' takes every GET path Fastify routes at all, so a route is always found */
  return route !== null && '*' in route.params
}

export interface LaneDeps {
  readonly decider: Decider
  /** The rate limit over the counts Fastify's hook uses; null: the lane stays off. */
  readonly limiter: LaneLimiter | null
  readonly nextId: () => string
  /** The sink that records every request served (src/response/record.ts). */
  readonly record: Recorder
}

/**
 * Puts the redirect lane in front of the app's server, unless it is turned
 * off (REDIRECT_LANE=false) or cannot count requests synchronously (rate
 * limit counts in Redis). Call once every route is registered.
 */
export function registerLane(app: FastifyInstance, config: Config, deps: LaneDeps): void {
  if (!config.redirectLane || deps.limiter === null) {
    app.decorate('redirectLane', null)
    return
  }
  const { server } = app
  const answer = laneAnswerer({
    decider: deps.decider,
    routedToAnswers: (url) => isAnswerRoute(app, url),
    trustProxy: config.protection.trustProxy,
    limiter: deps.limiter,
    keepAliveTimeoutMs: server.keepAliveTimeout,
    nextId: deps.nextId,
    record: deps.record,
  })
  const lane = installLane(server, {
    answer,
    maxHeadBytes: MAX_HEADER_BYTES,
    addressHeader: config.protection.trustProxy === 'fly' ? FLY_CLIENT_IP : undefined,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: server.keepAliveTimeout,
  })
  app.decorate('redirectLane', lane)
  app.addHook('preClose', (done) => {
    lane.close()
    done()
  })
}
