import type { FastifyInstance } from 'fastify'
import { installClientIp } from './client-ip.js'
import type { RedisConnection } from '../fleet/redis.js'
import type { ProtectionConfig } from '../config/protection.js'
import { registerRateLimit, type LaneLimiter, type RateLimitEvents } from './rate-limit.js'
import { sayNoSniff } from './server-limits.js'

/**
 * Who the client is, how often it may ask, and the headers every response
 * carries. Register before any other hook: the client's address must be
 * settled, and an over-limit request turned away, before other work starts.
 */
export async function registerProtection(
  app: FastifyInstance,
  config: ProtectionConfig,
  events: RateLimitEvents,
  /** The Redis plan's connection, when the rate-limit counts are kept there. */
  store: RedisConnection | null,
): Promise<LaneLimiter | null> {
  sayNoSniff(app.server)
  installClientIp(app, config.trustProxy)
  return registerRateLimit(app, config.rateLimit, events, store)
}
