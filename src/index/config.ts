import {
  readBoolean,
  readDuration,
  readInteger,
  readOptional,
  readPositiveDuration,
  type Env,
} from '../config/env.js'

/** The manifest index (newest-version URLs, the directory) and the GitHub webhook. */
export interface IndexConfig {
  /** MANIFEST_INDEX: false turns off newest-version URLs and the directory. */
  readonly enabled: boolean
  /** How long a fetched manifest is used before GitHub is asked again (a 304 is cheap). */
  readonly ttlMs: number
  /** After a failed refresh, the wait before the next attempt. */
  readonly retryMs: number
  /** How long the last good copy stays in use while refreshes fail. */
  readonly staleMaxMs: number
  /** Both hops and the body of one manifest fetch. */
  readonly fetchTimeoutMs: number
  /** The largest manifest accepted, in bytes. */
  readonly maxBytes: number
  /** The most extension names taken from the global manifest. */
  readonly maxExtensions: number
  /** How many bytes the manifests held take at most, parsed (estimated); least recently read go first. */
  readonly cacheMaxBytes: number
  readonly webhook: {
    /** GITHUB_WEBHOOK_SECRET; undefined turns POST /hooks/github off. */
    readonly secret: string | undefined
    /** The largest webhook body accepted, in bytes. */
    readonly maxBytes: number
  }
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const MIB = 1024 * 1024

export function parseIndexConfig(env: Env): IndexConfig {
  return {
    enabled: readBoolean(env, 'MANIFEST_INDEX', true),
    ttlMs: readPositiveDuration(env, 'INDEX_TTL', 5 * MINUTE),
    retryMs: readPositiveDuration(env, 'INDEX_RETRY', 15 * SECOND),
    staleMaxMs: readDuration(env, 'INDEX_STALE_MAX', 24 * HOUR),
    fetchTimeoutMs: readPositiveDuration(env, 'INDEX_FETCH_TIMEOUT', 10 * SECOND, 10 * MINUTE),
    maxBytes: readInteger(env, 'INDEX_MAX_BYTES', 4 * MIB, 1024, 256 * MIB),
    maxExtensions: readInteger(env, 'INDEX_MAX_EXTENSIONS', 500, 1, 100_000),
    cacheMaxBytes: readInteger(env, 'INDEX_CACHE_MAX_BYTES', 32 * MIB, MIB, 4096 * MIB),
    webhook: {
      secret: readOptional(env, 'GITHUB_WEBHOOK_SECRET'),
      // GitHub caps webhook payloads at 25 MB.
      maxBytes: readInteger(env, 'GITHUB_WEBHOOK_MAX_BYTES', MIB, 1024, 25 * MIB),
    },
  }
}
