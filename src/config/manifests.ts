import {
  invalid,
  readBoolean,
  readDuration,
  readInteger,
  readPositiveDuration,
  type Env,
} from './env.js'
import { RedirectorError } from '../core/errors.js'

/** The manifest index: newest-version URLs, the directory, the snapshot. */
export interface IndexConfig {
  /** MANIFEST_INDEX: false turns off newest-version URLs and the directory. */
  readonly enabled: boolean
  /** How long a fetched manifest is used before GitHub is asked again (a 304 is cheap). */
  readonly ttlMs: number
  /** After a failed refresh, the wait before the next attempt. */
  readonly retryMs: number
  /** How long the last good copy stays in use while refreshes fail. */
  readonly staleMaxMs: number
  /** SNAPSHOTS: false redirects snapshot rules' files (checked) instead of serving them. */
  readonly snapshots: boolean
  /** How long an unsigned manifest revision is held back for files the origin lacks (SNAPSHOT_HOLD_MAX). */
  readonly holdMaxMs: number
  /** Both hops and the body of one manifest fetch. */
  readonly fetchTimeoutMs: number
  /** The largest manifest accepted, in bytes. */
  readonly maxBytes: number
  /** The most extension names taken from the global manifest. */
  readonly maxExtensions: number
  /** How many bytes the manifests held take at most, parsed (estimated); least recently read go first. */
  readonly cacheMaxBytes: number
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const MIB = 1024 * 1024

/**
 * A manifest held takes up to 2.5 times its bytes once parsed (store.ts's
 * stateSize); the cache must hold the global manifest and an extension's,
 * both at INDEX_MAX_BYTES, or reading one evicts the other and every request
 * fetches 2 manifests from GitHub again.
 */
const HELD_PER_MANIFEST_BYTE = 2.5
const MANIFESTS_HELD_AT_LEAST = 2

export function parseIndexConfig(env: Env): IndexConfig {
  const config = readIndexConfig(env)
  const factor = HELD_PER_MANIFEST_BYTE * MANIFESTS_HELD_AT_LEAST
  const needed = Math.ceil(config.maxBytes * factor)
  if (config.cacheMaxBytes < needed) {
    const accepts = `expected at least ${needed} (${factor} × INDEX_MAX_BYTES, ${config.maxBytes}) so that the global manifest and an extension's fit together; raise it or lower INDEX_MAX_BYTES`
    const value = env.INDEX_CACHE_MAX_BYTES?.trim()
    if (value) throw invalid('INDEX_CACHE_MAX_BYTES', value, accepts)
    throw new RedirectorError(
      'SR_CONFIG_INVALID',
      `INDEX_CACHE_MAX_BYTES (unset: ${config.cacheMaxBytes}) is too small for INDEX_MAX_BYTES: ${accepts}`,
    )
  }
  return config
}

function readIndexConfig(env: Env): IndexConfig {
  return {
    enabled: readBoolean(env, 'MANIFEST_INDEX', true),
    ttlMs: readPositiveDuration(env, 'INDEX_TTL', 5 * MINUTE),
    retryMs: readPositiveDuration(env, 'INDEX_RETRY', 15 * SECOND),
    staleMaxMs: readDuration(env, 'INDEX_STALE_MAX', 24 * HOUR),
    snapshots: readBoolean(env, 'SNAPSHOTS', true),
    holdMaxMs: readDuration(env, 'SNAPSHOT_HOLD_MAX', 10 * MINUTE),
    fetchTimeoutMs: readPositiveDuration(env, 'INDEX_FETCH_TIMEOUT', 10 * SECOND, 10 * MINUTE),
    maxBytes: readInteger(env, 'INDEX_MAX_BYTES', 4 * MIB, 1024, 256 * MIB),
    maxExtensions: readInteger(env, 'INDEX_MAX_EXTENSIONS', 500, 1, 100_000),
    cacheMaxBytes: readInteger(env, 'INDEX_CACHE_MAX_BYTES', 32 * MIB, MIB, 4096 * MIB),
  }
}
