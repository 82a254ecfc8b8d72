import { Counter, Histogram, Registry } from 'prom-client'
import type { RateLimitEvents } from '../protection/rate-limit.js'
import type { CheckOutcome, UpstreamEvents } from '../upstream/events.js'

const PREFIX = 'sysext_redirector_'

/**
 * The service's metrics, in a registry of their own (one per app, so tests
 * can build many). Every label takes its values from a closed set: rule
 * names from the table, status codes, check outcomes, or the names of assets
 * GitHub has confirmed to exist. Nothing a client types becomes a label.
 */
export interface Metrics {
  readonly registry: Registry
  readonly requests: Counter<'rule' | 'status'>
  readonly requestDuration: Histogram<'rule'>
  readonly upstreamChecks: Histogram<'outcome'>
  readonly upstreamCache: Counter<'result'>
  readonly rateLimited: Counter
  readonly rateLimitStoreErrors: Counter
  readonly downloads: Counter<'extension' | 'version' | 'arch'>
  /** Counts one answered request in `requests` (status: the HTTP status code). */
  countRequest(rule: string, status: number): void
  /** Feeds the upstream-check metrics (see src/upstream/events.ts). */
  readonly upstreamEvents: UpstreamEvents
  /** Feeds the rate-limit metrics. */
  readonly rateLimitEvents: RateLimitEvents
}

// Redirects from memory take well under a millisecond; a checked one waits
// for GitHub, up to the check timeout.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const OUTCOMES: readonly CheckOutcome[] = ['exists', 'missing', 'unknown']
const CACHE_RESULTS = ['hit', 'miss', 'stale'] as const

export function createMetrics(): Metrics {
  const registry = new Registry()
  const registers = [registry]
  // Requests are tallied in plain numbers and handed to prom-client when the
  // counter is read: its label hashing on every request showed in the
  // profile. The tally has one entry per rule and status, a closed set.
  const tally = new Map<string, Map<number, number>>()
  const requests: Counter<'rule' | 'status'> = new Counter({
    name: `${PREFIX}requests_total`,
    help: 'Requests answered, by the table rule that took them (fallback; none: not a redirect) and status.',
    labelNames: ['rule', 'status'] as const,
    registers,
    collect: () => {
      for (const [rule, byStatus] of tally) {
        for (const [status, count] of byStatus)
          requests.inc({ rule, status: String(status) }, count)
      }
      tally.clear()
    },
  })
  const countRequest = (rule: string, status: number): void => {
    let byStatus = tally.get(rule)
    if (byStatus === undefined) tally.set(rule, (byStatus = new Map()))
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
  }
  const requestDuration = new Histogram({
    name: `${PREFIX}request_duration_seconds`,
    help: 'Time from request to response, by rule.',
    labelNames: ['rule'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const upstreamChecks = new Histogram({
    name: `${PREFIX}upstream_check_duration_seconds`,
    help: 'Existence checks (HEAD) sent to GitHub, by outcome: exists, missing or unknown (error or timeout).',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const upstreamCache = new Counter({
    name: `${PREFIX}upstream_cache_lookups_total`,
    help: 'Lookups of the upstream-check cache: hit (fresh), stale (expired, served while refreshed) or miss.',
    labelNames: ['result'] as const,
    registers,
  })
  const rateLimited = new Counter({
    name: `${PREFIX}rate_limited_total`,
    help: 'Requests refused for going over the per-client rate limit.',
    registers,
  })
  const rateLimitStoreErrors = new Counter({
    name: `${PREFIX}rate_limit_store_errors_total`,
    help: 'Requests let through unlimited because the rate-limit store (Redis) failed.',
    registers,
  })
  const downloads = new Counter({
    name: `${PREFIX}downloads_total`,
    help: 'GET redirects to extension images GitHub confirmed to exist, by extension, version and architecture.',
    labelNames: ['extension', 'version', 'arch'] as const,
    registers,
  })
  // Series that exist from the start, so rate() sees their first increase.
  for (const outcome of OUTCOMES) upstreamChecks.zero({ outcome })
  for (const result of CACHE_RESULTS) upstreamCache.labels({ result }).inc(0)
  return {
    registry,
    requests,
    requestDuration,
    upstreamChecks,
    upstreamCache,
    rateLimited,
    rateLimitStoreErrors,
    downloads,
    countRequest,
    upstreamEvents: {
      check: (outcome, seconds) => upstreamChecks.observe({ outcome }, seconds),
      cache: (result) => upstreamCache.inc({ result }),
    },
    rateLimitEvents: {
      limited: () => rateLimited.inc(),
      storeFailed: () => rateLimitStoreErrors.inc(),
    },
  }
}
