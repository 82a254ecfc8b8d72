import { Redis } from 'ioredis'
import type { RedisPlan } from '../config/redis.js'

/**
 * The longest one Redis command may take, for every use: Redis answers in
 * well under a millisecond on a private network; past this it is in
 * trouble, and the request goes on without it (the rate limit lets it
 * through, the shared store leaves the instance alone) rather than wait.
 * A request that misses memory makes one store command before asking
 * GitHub, and one rate-limit count: Redis adds at most this to each.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 100

/** How ioredis connects, and reconnects forever in the background. */
const CONNECTING = {
  connectTimeout: 2000,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
} as const

/** Where a connection says it is up or down: the app's logger. */
export interface RedisLog {
  info(details: object, message: string): void
  warn(details: object, message: string): void
}

/**
 * The plan's connections: one for the commands of the rate limit and the
 * shared store alike, and, made only when asked, one that only listens (a
 * subscribed Redis connection can run no other command).
 */
export interface RedisConnection {
  readonly redis: Redis
  /** The listening connection, made at the first call. */
  subscriber(): Redis
  /** Drops both at once; commands in flight fail (and so fail open). Again: nothing. */
  close(): void
  /** Whether close() was called: a connection closing then is no outage. */
  isClosing(): boolean
}

/**
 * Connects the plan, set up to fail fast: while Redis is down or slow,
 * every command fails at once or within REDIS_COMMAND_TIMEOUT_MS. Each
 * outage is logged once, and so is each recovery, naming what goes on
 * without it.
 */
export function connectRedis(plan: RedisPlan, log: RedisLog): RedisConnection {
  const redis = new Redis(plan.url, {
    // Not connected: fail the command now rather than queue it.
    enableOfflineQueue: false,
    // Connection lost with a command in flight: fail it, do not resend later.
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    ...CONNECTING,
  })
  let subscriber: Redis | undefined
  let healthy: boolean | undefined
  let closing = false
  const used = usesOf(plan)
  const uses = used.map(({ what }) => what)
  const withoutIt = used.map(({ without }) => without).join(', ')
  const down = (reason: string): void => {
    if (healthy === false || closing) return
    healthy = false
    log.warn({ reason, uses }, `redis unavailable: ${withoutIt} until it is back`)
  }
  redis.on('ready', () => {
    healthy = true
    log.info({ uses }, `redis connected: ${uses.join(' and ')} shared`)
  })
  redis.on('error', (err: Error) => down(err.message))
  redis.on('close', () => down('connection closed'))
  return {
    redis,
    // Subscribing waits for the connection (and is redone after each reconnection).
    subscriber: () => (subscriber ??= new Redis(plan.url, CONNECTING)),
    close: () => {
      closing = true
      redis.disconnect()
      subscriber?.disconnect()
    },
    isClosing: () => closing,
  }
}

/** What a plan may keep in Redis, and what the service does while Redis is away. */
const USES = [
  { use: 'rateLimit', what: 'rate-limit counters', without: 'rate limiting fails open' },
  { use: 'sharedState', what: 'answers', without: 'this instance goes on alone' },
] as const

function usesOf(plan: RedisPlan): (typeof USES)[number][] {
  return USES.filter(({ use }) => plan[use])
}
