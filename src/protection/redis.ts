import type { FastifyBaseLogger } from 'fastify'
import { Redis } from 'ioredis'

/**
 * The longest a rate-limit check may wait for Redis. Redis answers in well
 * under a millisecond on a private network; past this it is in trouble, and
 * the request goes through unlimited (fail open) rather than wait on it.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 250

/**
 * A Redis connection for the shared rate-limit counters, set up to fail fast:
 * while it is down or slow, every command fails at once or within
 * REDIS_COMMAND_TIMEOUT_MS, so requests are served unlimited instead of
 * queueing behind it. It reconnects forever in the background; each outage
 * is logged once, and so is each recovery.
 */
export function connectRedis(url: string, log: FastifyBaseLogger): RedisConnection {
  const redis = new Redis(url, {
    // Not connected: fail the command now rather than queue it.
    enableOfflineQueue: false,
    // Connection lost with a command in flight: fail it, do not resend later.
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  })
  let healthy: boolean | undefined
  let closing = false
  const down = (reason: string): void => {
    if (healthy === false || closing) return
    healthy = false
    log.warn({ reason }, 'redis unavailable: rate limiting fails open until it is back')
  }
  redis.on('ready', () => {
    healthy = true
    log.info('redis connected: rate-limit counters are shared')
  })
  redis.on('error', (err: Error) => down(err.message))
  redis.on('close', () => down('connection closed'))
  return {
    redis,
    close: () => {
      closing = true
      redis.disconnect()
    },
  }
}

export interface RedisConnection {
  readonly redis: Redis
  /** Drops the connection at once; commands in flight fail (and so fail open). */
  close(): void
}
