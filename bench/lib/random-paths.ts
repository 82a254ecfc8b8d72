import { answered, heapFigures, scrape, upstreamChecks, type HeapFigures } from './metrics.js'
import { treeMemory, type Memory } from './proc.js'
import { LOAD_CORE, type Service } from './servers.js'
import { requestsPerSecond, runWrk } from './wrk.js'

export interface RandomPaths {
  readonly requests: number
  readonly seconds: number
  readonly requestsPerSecond: number
  /** Answers other than 2xx/3xx: the 404s for images and files that do not exist. */
  readonly non3xx: number
  readonly before: Memory
  /** VmRSS right after the last request, and VmHWM over the process's life. */
  readonly after: Memory
  /** The V8 heap after, as the service's metrics report it. */
  readonly heapAfter: HeapFigures
  /** Existence checks sent upstream during the run (each one a cache miss). */
  readonly upstreamChecks: number
  /** Readings every 15 s: whether memory levels off (bounded) or keeps climbing. */
  readonly series: readonly Reading[]
}

export interface Reading {
  readonly answered: number
  readonly rssMiB: number
  readonly heapUsedMiB: number
}

// An upper bound only: wrk is stopped as soon as the count is reached.
const MAX_SECONDS = 1800
const PROGRESS_INTERVAL_MS = 15_000

/**
 * `count` requests to distinct random paths (bench/wrk/random.lua) against
 * the long-running service: every one a new key for the check cache, the
 * rate limiter's view of the client and the request metrics, none of which
 * may grow without bound.
 */
export async function sendRandomPaths(
  service: Service,
  count: number,
  connections: number,
  onProgress: (reading: Reading) => void,
): Promise<RandomPaths> {
  const pid = service.child.pid as number
  const before = await treeMemory(pid)
  const start = await scrape(service.metricsUrl)
  const checksBefore = upstreamChecks(start)
  const answeredBefore = answered(start)
  // Now and then: how far the run has got, and the memory at that point.
  const series: Reading[] = []
  const takeReading = async (): Promise<void> => {
    const samples = await scrape(service.metricsUrl)
    const reading = {
      answered: answered(samples) - answeredBefore,
      rssMiB: (await treeMemory(pid)).rssKiB / 1024,
      heapUsedMiB: heapFigures(samples).heapUsedMiB,
    }
    series.push(reading)
    onProgress(reading)
  }
  const ticker = setInterval(() => void takeReading().catch(() => undefined), PROGRESS_INTERVAL_MS)
  const wrk = await runWrk({
    url: service.url,
    script: 'random.lua',
    scriptArgs: [String(count)],
    connections,
    durationS: MAX_SECONDS,
    core: LOAD_CORE,
  }).finally(() => clearInterval(ticker))
  const after = await treeMemory(pid)
  const samples = await scrape(service.metricsUrl)
  const { connect, read, write, timeout } = wrk.errors
  if (connect + read + write + timeout > 0) {
    throw new Error(`random paths: connection errors ${JSON.stringify(wrk.errors)}`)
  }
  return {
    requests: wrk.requests,
    seconds: wrk.durationUs / 1e6,
    requestsPerSecond: requestsPerSecond(wrk),
    non3xx: wrk.errors.status,
    before,
    after,
    heapAfter: heapFigures(samples),
    upstreamChecks: upstreamChecks(samples) - checksBefore,
    series,
  }
}
