import { readBoolean, readOptional, type Env } from './env.js'
import { RedirectorError } from '../core/errors.js'

/**
 * The one Redis plan (REDIS_URL): what a fleet keeps in Redis, over one
 * connection for commands (and one more that only listens, for the store's
 * invalidations). Parsed once; the rate limit and the shared store take
 * their part of it.
 */
export interface RedisPlan {
  /** `redis://` or `rediss://`; may hold a password: never logged whole. */
  readonly url: string
  /** The rate-limit counts are kept there (unless RATE_LIMIT_SHARED=false). */
  readonly rateLimit: boolean
  /** The fleet's shared store is there (unless SHARED_STATE=false). */
  readonly sharedState: boolean
}

/** The plan, or undefined: no REDIS_URL, or nothing set to use it. */
export function parseRedisPlan(env: Env): RedisPlan | undefined {
  const url = readRedisUrl(env, 'REDIS_URL')
  // Shared unless told otherwise; each read also when there is no URL, so a bad value always stops the start.
  const rateLimit = readBoolean(env, 'RATE_LIMIT_SHARED', true)
  const sharedState = readBoolean(env, 'SHARED_STATE', true)
  if (url === undefined || (!rateLimit && !sharedState)) return undefined
  return { url, rateLimit, sharedState }
}

/** `redis://[user:password@]host[:port][/db]` or `rediss://` for TLS. */
export function readRedisUrl(env: Env, name: string): string | undefined {
  const value = readOptional(env, name)
  if (value === undefined) return undefined
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (url === undefined || !/^rediss?:$/.test(url.protocol) || url.hostname === '') {
    // The value may hold a password: name the variable, not the value.
    throw new RedirectorError(
      'SR_CONFIG_INVALID',
      `${name} is not valid: expected redis://host:port or rediss://host:port`,
    )
  }
  return value
}
