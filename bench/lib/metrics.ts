import { request } from 'undici'

/**
 * One scrape of the service's Prometheus endpoint: each sample line
 * (`name{labels} value`) keyed by everything before the value.
 */
export async function scrape(metricsUrl: string): Promise<Map<string, number>> {
  const response = await request(metricsUrl)
  const text = await response.body.text()
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

/** Where the service's memory is, by its own account (prom-client's default metrics). */
export interface HeapFigures {
  readonly heapUsedMiB: number
  readonly heapTotalMiB: number
  readonly externalMiB: number
}

export function heapFigures(samples: ReadonlyMap<string, number>): HeapFigures {
  const mib = (name: string): number => (samples.get(name) ?? NaN) / 2 ** 20
  return {
    heapUsedMiB: mib('nodejs_heap_size_used_bytes'),
    heapTotalMiB: mib('nodejs_heap_size_total_bytes'),
    externalMiB: mib('nodejs_external_memory_bytes'),
  }
}

/** Existence checks the service sent upstream so far, by outcome. */
export function upstreamChecks(samples: ReadonlyMap<string, number>): number {
  let total = 0
  for (const outcome of ['exists', 'missing', 'unknown']) {
    total +=
      samples.get(
        `sysext_redirector_upstream_check_duration_seconds_count{outcome="${outcome}"}`,
      ) ?? 0
  }
  return total
}

/** Requests the service has answered so far, whatever the rule and status. */
export function answered(samples: ReadonlyMap<string, number>): number {
  let total = 0
  for (const [key, value] of samples) {
    if (key.startsWith('sysext_redirector_requests_total{')) total += value
  }
  return total
}
