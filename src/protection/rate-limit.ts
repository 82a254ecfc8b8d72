import { STATUS_CODES } from 'node:http'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import { writeReply } from '../response/reply.js'
import { textResponse } from '../response/response.js'
import { addressMatcher, clientKey } from '../core/address.js'
import { Breaker } from '../core/breaker.js'
import { ClientCounts } from './client-counts.js'
import type { RedisConnection } from '../fleet/redis.js'
import type { RateLimitConfig } from '../config/protection.js'

/** What the rate limiter tells the metrics. */
export interface RateLimitEvents {
  /** A request was refused for going over the limit. */
  limited(): void
  /** The counter store (Redis) failed; the request went through unlimited. */
  storeFailed(): void
  /** The store was not asked (it kept failing, see Breaker); the request went through unlimited. */
  storeSkipped(): void
}

// Three slow failures in a row (each up to REDIS_COMMAND_TIMEOUT_MS, 100 ms) and
// Redis is not waited on for this long; then one request tries it again. A failure
// that comes at once (Redis down, connection refused) costs nothing and trips nothing,
// so counting resumes as soon as Redis is back. Slow: half the timeout or more.
const BREAKER = { failures: 3, openMs: 10_000 }
const SLOW_FAILURE_MS = 50

const WINDOW_MS = 60_000

/** The breaker in front of the rate-limit store, saying when it opens and closes. */
export function storeBreaker(
  log: { warn(details: object, message: string): void; info(message: string): void },
  clock: { now(): number },
): Breaker {
  return new Breaker({
    ...BREAKER,
    clock,
    opened: (reason) =>
      log.warn(
        { reason, seconds: BREAKER.openMs / 1000 },
        'rate-limit store keeps failing: not waiting on it for a while; requests go through unlimited',
      ),
    closed: () => log.info('rate-limit store answers again: counting resumes'),
  })
}

/** Probes and the operators' own endpoints must answer whatever a client did. */
export const EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz'])

/**
 * Clients counted in memory (without Redis) in one window. The store is an
 * LRU: past this many, the least recently seen client's count is forgotten.
 * About 500 bytes each (measured), so about 25 MB at most.
 */
export const LOCAL_CLIENTS = 50_000

// One warning a minute at most while the store fails, not one per request.
const STORE_WARNING_INTERVAL_MS = 60_000

/**
 * The redirect lane's rate limit (src/lane/): whether a client may have one
 * more request, counted as the hook below would count it. Synchronous, so
 * it exists only while the counts are kept in this process.
 */
export type LaneLimiter = (address: string | undefined) => boolean

/**
 * At most `max` requests per minute per client, answered `status` with
 * Retry-After beyond that. The plugin keeps the counts (in memory, or in
 * Redis so instances share them); this hook decides and answers, so the
 * answer is our one-line text, the exemptions apply before anything is
 * counted, and a failing store lets requests through instead of failing them.
 * Returns the lane's limiter over the same counts, or null with Redis.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  config: RateLimitConfig,
  events: RateLimitEvents,
  /** The Redis plan's connection, when the counts are kept there (RATE_LIMIT_SHARED). */
  store: RedisConnection | null,
): Promise<LaneLimiter | null> {
  if (config.max === 0) return () => true
  const allowlisted = addressMatcher(config.allowlist)
  const counts = store === null ? new ClientCounts(LOCAL_CLIENTS, WINDOW_MS) : undefined
  await app.register(rateLimit, {
    global: false,
    max: config.max,
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => clientKey(request.ip),
    store: counts?.storeClass(),
    redis: store?.redis,
    nameSpace: 'sysext-redirector:rate-limit:',
  })
  const count = app.createRateLimit()
  let lastWarning = -Infinity
  const breaker = storeBreaker(app.log, Date)
  app.addHook('onRequest', async (request, reply) => {
    if (EXEMPT_ROUTES.has(request.routeOptions.url ?? '') || allowlisted(request.ip)) return
    if (!breaker.allows()) return events.storeSkipped()
    let result: Awaited<ReturnType<typeof count>>
    const started = performance.now()
    try {
      result = await count(request)
      breaker.succeeded()
    } catch (err) {
      if (performance.now() - started >= SLOW_FAILURE_MS) breaker.failed((err as Error).message)
      events.storeFailed()
      if (Date.now() - lastWarning >= STORE_WARNING_INTERVAL_MS) {
        lastWarning = Date.now()
        // The reason, not the Redis client's stack: the store being down is not a bug here.
        const reason = (err as Error).message
        request.log.warn({ reason }, 'rate-limit store failed: request let through')
      }
      return
    }
    // isAllowed comes only from the plugin's own allowList, which is unset.
    if (result.isAllowed || !result.isExceeded) return
    events.limited()
    const retryAfter = Math.max(1, result.ttlInSeconds)
    const line = `${STATUS_CODES[config.status]}: too many requests from this client; retry in ${retryAfter} s`
    const first = [['retry-after', String(retryAfter)]] as const
    return writeReply(reply, textResponse(config.status, line, 'no-store', undefined, first))
  })
  if (counts === undefined) return null
  return (address) => allowlisted(address) || counts.hit(clientKey(address)).current <= config.max
}
