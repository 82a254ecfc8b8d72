import { invalid, readChoice, readInteger, readOptional, type Env } from './env.js'
import { parseCidr, type Cidr } from '../core/address.js'

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
