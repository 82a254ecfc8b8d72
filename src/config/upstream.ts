import { readBoolean, readChoice, readInteger, readPositiveDuration, type Env } from './env.js'

export const FAIL_MODES = ['open', 'closed'] as const
export type FailMode = (typeof FAIL_MODES)[number]

/** How the service checks with GitHub that a redirect target exists. */
export interface UpstreamConfig {
  /** UPSTREAM_CHECKS: false means pure rewriting, nothing is asked upstream. */
  readonly enabled: boolean
  /** UPSTREAM_FAIL_MODE: what a request gets when GitHub cannot say (redirect or 503). */
  readonly failMode: FailMode
  readonly connectTimeoutMs: number
  /** Time from sending the HEAD to its status line. */
  readonly responseTimeoutMs: number
  /** How long each kind of answer is fresh, in milliseconds. */
  readonly ttlMs: {
    /** Exists, for assets that never change once published. */
    readonly versioned: number
    /** Exists, for index and configuration files re-uploaded in place. */
    readonly mutable: number
    readonly missing: number
    /** Exists or missing, for the signatures clients probe by several names (class `signature`). */
    readonly signature: number
    /** GitHub could not say: the wait before asking again. */
    readonly unknown: number
  }
  /** How many targets the cache remembers at most. */
  readonly cacheMax: number
  /** How many bytes the cache holds at most (keys, names and answers, estimated). */
  readonly cacheMaxBytes: number
  /** Existence checks sent to GitHub per second at most, per instance. */
  readonly checksPerSecond: number
  /** What one client's requests may cause of them per second (at most checksPerSecond). */
  readonly checksPerClient: number
}

const MINUTE = 60_000
const MIB = 1024 * 1024

export function parseUpstreamConfig(env: Env): UpstreamConfig {
  const checksPerSecond = readInteger(env, 'UPSTREAM_CHECKS_PER_SECOND', 50, 1, 100_000)
  return {
    enabled: readBoolean(env, 'UPSTREAM_CHECKS', true),
    failMode: readChoice(env, 'UPSTREAM_FAIL_MODE', 'open', FAIL_MODES),
    connectTimeoutMs: readPositiveDuration(env, 'UPSTREAM_CONNECT_TIMEOUT', 2000, MINUTE),
    responseTimeoutMs: readPositiveDuration(env, 'UPSTREAM_TIMEOUT', 3000, MINUTE),
    ttlMs: {
      versioned: readPositiveDuration(env, 'CHECK_TTL_VERSIONED', 24 * 60 * MINUTE),
      mutable: readPositiveDuration(env, 'CHECK_TTL_MUTABLE', MINUTE),
      missing: readPositiveDuration(env, 'CHECK_TTL_MISSING', 30_000),
      signature: readPositiveDuration(env, 'CHECK_TTL_SIGNATURE', 60 * MINUTE, 24 * 60 * MINUTE),
      unknown: readPositiveDuration(env, 'CHECK_TTL_UNKNOWN', 5000, 10 * MINUTE),
    },
    cacheMax: readInteger(env, 'CHECK_CACHE_MAX', 10_000, 1, 10_000_000),
    cacheMaxBytes: readInteger(env, 'CHECK_CACHE_MAX_BYTES', 16 * MIB, 64 * 1024, 1024 * MIB),
    checksPerSecond,
    // A tenth by default: ten clients at their full share still leave room.
    checksPerClient: readInteger(
      env,
      'UPSTREAM_CHECKS_PER_CLIENT',
      Math.ceil(checksPerSecond / 10),
      1,
      checksPerSecond,
    ),
  }
}
