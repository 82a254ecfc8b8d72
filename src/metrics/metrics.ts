import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { SharedEvents, SharedKind, SharedResult } from '../fleet/store.js'
import type { RateLimitEvents } from '../protection/rate-limit.js'
import type { CheckOutcome, UpstreamEvents } from '../upstream/head.js'
import { HELD_BACK, type GateEvents } from '../upstream/gate.js'
import { CounterTally, type Tally } from './counter-tally.js'
import { GITHUB_ORIGIN, type ImageLabels } from '../decision/answer.js'
import type { HoldCause, RefreshOutcome, StoreEvents } from '../manifests/store.js'
import { TalliedHistogram, type HistogramSeries } from './tallied-histogram.js'

const PREFIX = 'sysext_redirector_'

/**
 * The service's metrics, in a registry of their own (one per app, so tests
 * can build many). Every label takes its values from a closed set: rule
 * names from the table, status codes, check outcomes, or the names of assets
 * GitHub has confirmed to exist. Nothing a client types becomes a label.
 *
 * What is counted on every request (countRequest, countDownload and the
 * upstream cache lookups) is tallied in plain numbers and reaches the
 * registry when it is read: prom-client hashes the labels on every update,
 * which showed in the profile.
 */
export interface Metrics {
  readonly registry: Registry
  readonly requests: Counter<'rule' | 'status'>
  readonly requestDuration: TalliedHistogram
  readonly upstreamChecks: Histogram<'outcome'>
  readonly upstreamCache: Counter<'result'>
  readonly rateLimited: Counter
  readonly rateLimitStoreErrors: Counter
  readonly downloads: Counter<'extension' | 'version' | 'arch'>
  /**
   * Counts one answered request in `requests` and its time in
   * `requestDuration` (status: the HTTP status code; seconds: from request
   * to response).
   */
  countRequest(rule: string, status: number, seconds: number): void
  /** Counts one download of an image GitHub confirmed exists, from a source, in `downloads`. */
  countDownload(image: ImageLabels, source: string): void
  /** Counts one redirect to a release asset by where it leads: `github` or a mirror's base URL. */
  countOrigin(origin: string): void
  /** Feeds the upstream-check metrics (see src/upstream/head.ts). */
  readonly upstreamEvents: UpstreamEvents
  /** Feeds the rate-limit metrics. */
  readonly rateLimitEvents: RateLimitEvents
  /** Feeds the metrics of GitHub's pauses and the check budget (src/upstream/gate.ts). */
  readonly gateEvents: GateEvents
  /** Feeds the manifest refresh metric of a source's index (src/manifests/store.ts). */
  indexEvents(source: string): StoreEvents
  /** Feeds the shared-store metrics (src/fleet/store.ts). */
  readonly sharedEvents: SharedEvents
  /** Where the held-back snapshots are read at each scrape (src/manifests/store.ts holds()). */
  watchHolds(read: () => readonly HeldSnapshot[]): void
}

/** A manifest whose newer revision is held back, for the metric. */
export interface HeldSnapshot {
  readonly source: string
  readonly release: string
  readonly cause: HoldCause
  readonly seconds: number
}

// Redirects from memory take well under a millisecond; a checked one waits
// for GitHub, up to the check timeout.
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
])

const OUTCOMES: readonly CheckOutcome[] = ['exists', 'missing', 'unknown']
const CACHE_RESULTS = ['hit', 'miss', 'stale'] as const
const REFRESH_OUTCOMES: readonly RefreshOutcome[] = [
  'fetched',
  'unchanged',
  'missing',
  'failed',
  'held',
]
const SHARED_KINDS: readonly SharedKind[] = ['check', 'manifest']
const SHARED_RESULTS: readonly SharedResult[] = ['hit', 'waited', 'asked', 'alone']

export function createMetrics(): Metrics {
  const registry = new Registry()
  const registers = [registry]
  const { requests, requestDuration, countRequest } = requestMetrics(registers)
  const upstreamChecks = new Histogram({
    name: `${PREFIX}upstream_check_duration_seconds`,
    help: 'Existence checks (HEAD) sent to GitHub, by outcome: exists, missing or unknown (error or timeout).',
    labelNames: ['outcome'] as const,
    buckets: [...LATENCY_BUCKETS],
    registers,
  })
  const { upstreamCache, countLookup } = cacheMetrics(registers)
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
  const rateLimitStoreSkipped = new Counter({
    name: `${PREFIX}rate_limit_store_skipped_total`,
    help: 'Requests let through uncounted without asking the rate-limit store (Redis): it kept failing, so it is not waited on for a while.',
    registers,
  })
  const { downloads, countDownload } = downloadMetrics(registers)
  const countOrigin = originMetrics(registers)
  // Read at each scrape: which snapshots are held back, and for how long (none until told).
  let heldRead: () => readonly HeldSnapshot[] = () => []
  new Gauge({
    name: `${PREFIX}snapshot_held_back_seconds`,
    help: 'How long a newer revision of a manifest has been held back, by source, release and cause: files (files it adds are not at the origin yet) or signature (no signature verifies against the signing keys). The adopted revision is served meanwhile. No series when none is.',
    labelNames: ['source', 'release', 'cause'] as const,
    registers,
    collect() {
      this.reset()
      for (const { source, release, cause, seconds } of heldRead()) {
        this.labels({ source, release, cause }).set(seconds)
      }
    },
  })
  const upstreamPauses = new Counter({
    name: `${PREFIX}upstream_pauses_total`,
    help: 'Times GitHub asked the service to slow down (429 or 403): nothing is sent upstream until the pause ends.',
    registers,
  })
  const upstreamHeldBack = new Counter({
    name: `${PREFIX}upstream_held_back_total`,
    help: 'Requests to GitHub not sent, by reason: paused (GitHub asked us to wait), budget (UPSTREAM_CHECKS_PER_SECOND spent) or client (the asking client spent its UPSTREAM_CHECKS_PER_CLIENT).',
    labelNames: ['reason'] as const,
    registers,
  })
  for (const reason of HELD_BACK) upstreamHeldBack.labels({ reason }).inc(0)
  const manifestRefreshes = new Counter({
    name: `${PREFIX}manifest_refreshes_total`,
    help: "Manifest (SHA256SUMS) refreshes from GitHub, by source (the table's repository) and outcome: fetched (a new copy adopted), unchanged (304), missing (404), failed (the last good copy kept) or held (a new copy held back until it is whole: README, A consistent snapshot).",
    labelNames: ['source', 'outcome'] as const,
    registers,
  })
  // Series that exist from the start, so rate() sees their first increase.
  for (const outcome of OUTCOMES) upstreamChecks.zero({ outcome })
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
    countDownload,
    countOrigin,
    upstreamEvents: {
      check: (outcome, seconds) => upstreamChecks.observe({ outcome }, seconds),
      cache: countLookup,
    },
    rateLimitEvents: {
      limited: () => rateLimited.inc(),
      storeFailed: () => rateLimitStoreErrors.inc(),
      storeSkipped: () => rateLimitStoreSkipped.inc(),
    },
    gateEvents: {
      paused: () => upstreamPauses.inc(),
      heldBack: (reason) => upstreamHeldBack.labels({ reason }).inc(),
    },
    indexEvents: (source) => {
      // Series that exist from the start, per source, so rate() sees their first increase.
      for (const outcome of REFRESH_OUTCOMES) manifestRefreshes.labels({ source, outcome }).inc(0)
      return { refreshed: (outcome) => manifestRefreshes.labels({ source, outcome }).inc() }
    },
    sharedEvents: sharedMetrics(registers),
    watchHolds: (read) => {
      heldRead = read
    },
  }
}

/** What the fleet's shared store saved, and whether it is in use (REDIS_URL). */
function sharedMetrics(registers: Registry[]): SharedEvents {
  const reads = new Counter({
    name: `${PREFIX}shared_reads_total`,
    help: 'Answers an instance needed from GitHub (kind: check or manifest), by how they came: hit (from the shared store), waited (from it, after another instance asked GitHub), asked (this instance asked GitHub and shared the answer), alone (asked GitHub without the store: it failed or was skipped).',
    labelNames: ['kind', 'result'] as const,
    registers,
  })
  for (const kind of SHARED_KINDS) {
    for (const result of SHARED_RESULTS) reads.labels({ kind, result }).inc(0)
  }
  // Labelled so that without a store there is no series at all (an alert on 0 stays quiet).
  const up = new Gauge({
    name: `${PREFIX}shared_store_up`,
    help: 'Whether the shared store (REDIS_URL) is in use: 1, or 0 while it is down or skipped after failing (each instance goes on alone). No series without one.',
    labelNames: ['store'] as const,
    registers,
  })
  const invalidations = new Counter({
    name: `${PREFIX}shared_invalidations_total`,
    help: 'Release invalidations sent to the other instances (a webhook received here) or received from them.',
    labelNames: ['direction'] as const,
    registers,
  })
  invalidations.labels({ direction: 'sent' }).inc(0)
  invalidations.labels({ direction: 'received' }).inc(0)
  return {
    read: (kind, result) => reads.labels({ kind, result }).inc(),
    available: (isUp) => up.labels({ store: 'redis' }).set(isUp ? 1 : 0),
    invalidation: (direction) => invalidations.labels({ direction }).inc(),
  }
}

/** What countRequest keeps for a rule: its latency series and a tally per status. */
interface RuleTally {
  readonly duration: HistogramSeries
  readonly statuses: Map<number, Tally<'rule' | 'status'>>
}

function requestMetrics(registers: Registry[]) {
  const tallies = new CounterTally<'rule' | 'status'>()
  const requests = new Counter({
    name: `${PREFIX}requests_total`,
    help: 'Requests answered, by the table rule that took them (fallback; none: not a redirect) and status.',
    labelNames: ['rule', 'status'] as const,
    registers,
    collect() {
      tallies.flush(this)
    },
  })
  const requestDuration = new TalliedHistogram({
    name: `${PREFIX}request_duration_seconds`,
    help: 'Time from request to response, by rule.',
    labelName: 'rule',
    buckets: LATENCY_BUCKETS,
    registers,
  })
  // Rules and statuses are closed sets: their entries are kept for good.
  const rules = new Map<string, RuleTally>()
  const countRequest = (rule: string, status: number, seconds: number): void => {
    let tally = rules.get(rule)
    if (tally === undefined) {
      tally = { duration: requestDuration.series(rule), statuses: new Map() }
      rules.set(rule, tally)
    }
    let byStatus = tally.statuses.get(status)
    if (byStatus === undefined) {
      byStatus = tallies.add({ rule, status: String(status) })
      tally.statuses.set(status, byStatus)
    }
    byStatus.count++
    tally.duration.observe(seconds)
  }
  return { requests, requestDuration, countRequest }
}

function cacheMetrics(registers: Registry[]) {
  const tallies = new CounterTally<'result'>()
  const upstreamCache = new Counter({
    name: `${PREFIX}upstream_cache_lookups_total`,
    help: 'Lookups of the upstream-check cache: hit (fresh), stale (expired, served while refreshed) or miss.',
    labelNames: ['result'] as const,
    registers,
    collect() {
      tallies.flush(this)
    },
  })
  const byResult = new Map<string, Tally<'result'>>()
  for (const result of CACHE_RESULTS) {
    // A series from the start, so rate() sees its first increase.
    upstreamCache.labels({ result }).inc(0)
    byResult.set(result, tallies.add({ result }))
  }
  const countLookup: UpstreamEvents['cache'] = (result) => {
    // Typed closed; a value from outside the set is not counted at all.
    const tally = byResult.get(result)
    if (tally !== undefined) tally.count++
  }
  return { upstreamCache, countLookup }
}

/** Redirects by origin: the alert on answers from mirrors reads it (deploy/prometheus/alerts.yaml). */
function originMetrics(registers: Registry[]): (origin: string) => void {
  const tallies = new CounterTally<'origin'>()
  const redirects = new Counter({
    name: `${PREFIX}redirects_by_origin_total`,
    help: "Redirects to release assets by where they lead: github, or the base URL of the mirror that had the file (GitHub could not say or said missing, or the client goes to the source's mirrors first).",
    labelNames: ['origin'] as const,
    registers,
    collect() {
      tallies.flush(this)
    },
  })
  // A series from the start, so rate() sees its first increase; mirrors come from the settings.
  redirects.labels({ origin: GITHUB_ORIGIN }).inc(0)
  const byOrigin = new Map<string, Tally<'origin'>>()
  return (origin) => {
    let tally = byOrigin.get(origin)
    if (tally === undefined) byOrigin.set(origin, (tally = tallies.add({ origin })))
    tally.count++
  }
}

type DownloadLabel = 'source' | 'extension' | 'version' | 'arch'

function downloadMetrics(registers: Registry[]) {
  const tallies = new CounterTally<DownloadLabel>()
  const downloads = new Counter({
    name: `${PREFIX}downloads_total`,
    help: "GET redirects to extension images GitHub confirmed to exist, by source (the table's repository), extension, version and architecture.",
    labelNames: ['source', 'extension', 'version', 'arch'] as const,
    registers,
    collect() {
      tallies.flush(this)
    },
  })
  // Nested by source, extension, version and arch, so no key is built per download.
  // Kept for good, like the series: only confirmed images get here.
  const sources = new Map<string, Map<string, Map<string, Map<string, Tally<DownloadLabel>>>>>()
  const countDownload = ({ extension, version, arch }: ImageLabels, source: string): void => {
    let images = sources.get(source)
    if (images === undefined) sources.set(source, (images = new Map()))
    let byVersion = images.get(extension)
    if (byVersion === undefined) images.set(extension, (byVersion = new Map()))
    let byArch = byVersion.get(version)
    if (byArch === undefined) byVersion.set(version, (byArch = new Map()))
    let tally = byArch.get(arch)
    if (tally === undefined) {
      tally = tallies.add({ source, extension, version, arch })
      byArch.set(arch, tally)
    }
    tally.count++
  }
  return { downloads, countDownload }
}
