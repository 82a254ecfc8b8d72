import {
  invalid,
  readBoolean,
  readChoice,
  readInteger,
  readOptional,
  type Env,
} from '../config/env.js'
import { RedirectorError } from '../errors.js'
import { parseCidr, type Cidr } from './address.js'

/**
 * A whole fleet provisioning behind one NAT is one client to us. 6000 a
 * minute (100 a second on average) lets a thousand machines each fetch a
 * handful of files in the same minute, while one scripted client still
 * cannot make us do unbounded work. Bigger fleets allowlist their range.
 */
export const DEFAULT_RATE_LIMIT_MAX = 6000

export interface RateLimitConfig {
  /** Requests per minute per client; 0 turns rate limiting off. */
  readonly max: number
  /** 503 suits Ignition, which retries 5xx and gives up on any 4xx. */
  readonly status: 503 | 429
  /** Clients never limited. */
  readonly allowlist: readonly Cidr[]
  /** Counters shared through Redis (REDIS_URL unless RATE_LIMIT_SHARED=false); undefined keeps them in this process. */
  readonly redisUrl: string | undefined
}

export interface ProtectionConfig {
  /** `fly`: the client is the Fly-Client-IP header; `false`: the socket's peer. */
  readonly trustProxy: 'false' | 'fly'
  readonly rateLimit: RateLimitConfig
}

export function parseProtectionConfig(env: Env): ProtectionConfig {
  return {
    trustProxy: readChoice(env, 'TRUST_PROXY', 'false', ['false', 'fly'] as const),
    rateLimit: {
      max: readInteger(env, 'RATE_LIMIT_MAX', DEFAULT_RATE_LIMIT_MAX, 0, 1_000_000_000),
      status: Number(readChoice(env, 'RATE_LIMIT_STATUS', '503', ['503', '429'] as const)) as
        503 | 429,
      allowlist: readCidrList(env, 'RATE_LIMIT_ALLOWLIST'),
      // Shared unless told otherwise: counted alone, the redirect lane can count them at once.
      redisUrl: readBoolean(env, 'RATE_LIMIT_SHARED', true)
        ? readRedisUrl(env, 'REDIS_URL')
        : undefined,
    },
  }
}

/** Addresses or CIDR ranges, IPv4 or IPv6, separated by commas or spaces. */
export function readCidrList(env: Env, name: string): Cidr[] {
  const value = readOptional(env, name)
  if (value === undefined) return []
  return value
    .split(/[\s,]+/)
    .filter((entry) => entry !== '')
    .map((entry) => {
      const cidr = parseCidr(entry)
      if (cidr === null) {
        throw invalid(
          name,
          value,
          `"${entry}" is not an IP address or CIDR range (e.g. 203.0.113.0/24, 2001:db8::/32)`,
        )
      }
      return cidr
    })
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
