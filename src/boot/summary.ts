import type { AddressInfo } from 'node:net'
import type { Settings } from '../config/settings.js'

/**
 * The one start-up line that says what this instance does, so an operator
 * reading the log of a start sees the effective configuration (defaults
 * included) instead of guessing from the environment: where redirects lead,
 * which table, how GitHub is asked, what is on and where the metrics are.
 * Secrets (the webhook's, a Redis password) are never in it.
 */
export interface StartSummary {
  /** The default source's release downloads. */
  readonly releases: string
  /** Every source's, by name, for a table of several (absent for one). */
  readonly sources?: Readonly<Record<string, string>>
  readonly fallback: string
  readonly table: { readonly file: string; readonly rules: number }
  readonly checks:
    'off' | { readonly failMode: string; readonly perSecond: number; readonly perClient: number }
  readonly index: 'off' | { readonly webhook: 'on' | 'off' }
  readonly lane: 'on' | 'off'
  readonly rateLimit: 'off' | { readonly perMinute: number; readonly store: string }
  /** What the fleet shares checks, manifests and invalidations through. */
  readonly shared: string
  readonly listening: string
  readonly metrics: string
}

export interface Listening {
  readonly service: AddressInfo
  readonly metrics: AddressInfo
}

export function startSummary(
  { config, table, tableFile, origins }: Settings,
  listening: Listening,
): StartSummary {
  const { upstream, index, protection, redis } = config
  const { rateLimit } = protection
  // Where the rate-limit counts are kept: Redis, by the plan, or memory.
  const counts = redis?.rateLimit === true ? redis.url : undefined
  return {
    releases: origins.releases,
    ...(table.sources.length > 1 ? { sources: origins.sources } : {}),
    fallback: config.fallbackUrl,
    table: { file: tableFile, rules: table.rules.length },
    checks: upstream.enabled
      ? {
          failMode: upstream.failMode,
          perSecond: upstream.checksPerSecond,
          perClient: upstream.checksPerClient,
        }
      : 'off',
    index: index.enabled ? { webhook: config.webhook.secret === undefined ? 'off' : 'on' } : 'off',
    // Counts kept in Redis cannot be read at once: the lane stays off then (src/lane/register.ts).
    lane: config.redirectLane && (rateLimit.max === 0 || counts === undefined) ? 'on' : 'off',
    rateLimit: rateLimit.max === 0 ? 'off' : { perMinute: rateLimit.max, store: storeOf(counts) },
    shared: redis?.sharedState === true ? storeOf(redis.url) : 'off',
    listening: addressOf(listening.service),
    metrics: addressOf(listening.metrics),
  }
}

/** `memory`, or Redis's host and port: never its password. */
function storeOf(redisUrl: string | undefined): string {
  if (redisUrl === undefined) return 'memory'
  const url = new URL(redisUrl)
  return `redis ${url.hostname}:${url.port || '6379'}`
}

function addressOf({ address, port, family }: AddressInfo): string {
  return family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`
}
