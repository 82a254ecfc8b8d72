import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { Counter, Histogram, Registry } from 'prom-client'
import t from 'tap'
import type { ImageLabels } from '../../src/decision/answer.js'
import { createMetrics, LATENCY_BUCKETS, type Metrics } from '../../src/metrics/metrics.js'

/**
 * What is counted per request (countRequest, countDownload, the upstream
 * cache lookups) is tallied in plain numbers and reaches prom-client only
 * when the registry is read. The reference here is plain prom-client, in a
 * registry of its own, fed every event as it happens: at every scrape the
 * two must render the same text, so the tallies cannot drift from
 * prom-client's semantics.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)
t.comment(`fast-check seed ${SEED} (FUZZ_SEED=${SEED} to replay)`)

type CacheResult = Parameters<Metrics['upstreamEvents']['cache']>[0]

type Event =
  | { readonly kind: 'request'; readonly rule: string; readonly status: number; readonly s: number }
  | { readonly kind: 'cache'; readonly result: CacheResult }
  | { readonly kind: 'download'; readonly image: ImageLabels }
  | { readonly kind: 'scrape' }

/** The metrics that are tallied. */
type Tallied = 'requests' | 'requestDuration' | 'upstreamCache' | 'downloads'

/** Plain prom-client metrics with our names and help, fed event by event. */
async function referenceFor(metrics: Metrics) {
  const registry = new Registry()
  const registers = [registry]
  const meta = async (name: Tallied) => {
    const { name: metricName, help } = (await metrics[name].get()) as { name: string; help: string }
    return { name: metricName, help, registers }
  }
  const requests = new Counter({ ...(await meta('requests')), labelNames: ['rule', 'status'] })
  const requestDuration = new Histogram({
    ...(await meta('requestDuration')),
    labelNames: ['rule'],
    buckets: [...LATENCY_BUCKETS],
  })
  const upstreamCache = new Counter({ ...(await meta('upstreamCache')), labelNames: ['result'] })
  for (const result of ['hit', 'miss', 'stale']) upstreamCache.inc({ result }, 0)
  const downloads = new Counter({
    ...(await meta('downloads')),
    labelNames: ['source', 'extension', 'version', 'arch'],
  })
  const feed = (event: Event): void => {
    if (event.kind === 'request') {
      requests.inc({ rule: event.rule, status: event.status })
      requestDuration.observe({ rule: event.rule }, event.s)
    } else if (event.kind === 'cache') {
      upstreamCache.inc({ result: event.result })
    } else if (event.kind === 'download') {
      downloads.inc({ source: 'bakery', ...event.image })
    }
  }
  return { registry, feed }
}

function feed(metrics: Metrics, event: Event): void {
  if (event.kind === 'request') metrics.countRequest(event.rule, event.status, event.s)
  else if (event.kind === 'cache') metrics.upstreamEvents.cache(event.result)
  else if (event.kind === 'download') metrics.countDownload(event.image, 'bakery')
}

/** Both renderings of each tallied metric, in registry order. */
async function render(ours: Registry, theirs: Registry) {
  const names = (await theirs.getMetricsAsJSON()).map((metric) => metric.name)
  const text = async (registry: Registry) =>
    (await Promise.all(names.map((name) => registry.getSingleMetricAsString(name)))).join('\n\n')
  return { ours: await text(ours), theirs: await text(theirs) }
}

/** Feeds both, comparing at every scrape and at the end. */
async function replay(events: readonly Event[]) {
  const metrics = createMetrics()
  const reference = await referenceFor(metrics)
  const scrapes: { ours: string; theirs: string }[] = []
  for (const event of [...events, { kind: 'scrape' } as const]) {
    feed(metrics, event)
    reference.feed(event)
    if (event.kind === 'scrape') scrapes.push(await render(metrics.registry, reference.registry))
  }
  return { metrics, scrapes }
}

const image = (extension: string, version: string, arch: string): ImageLabels => ({
  extension,
  version,
  arch,
})

t.test('a replay on bucket bounds, by rule and status: the text prom-client gives', async (t) => {
  const events: Event[] = []
  const request = (rule: string, status: number, s: number) =>
    events.push({ kind: 'request', rule, status, s })
  request('raw', 302, 0)
  request('fallback', 302, 0.001)
  request('raw', 404, 0.0025)
  request('raw', 302, 0.00025)
  events.push({ kind: 'scrape' })
  request('none', 400, 12.5)
  request('raw', 302, 10)
  request('newest', 302, 0.1 + 0.2)
  events.push({ kind: 'cache', result: 'miss' }, { kind: 'cache', result: 'hit' })
  events.push({ kind: 'scrape' }, { kind: 'scrape' })
  events.push({ kind: 'download', image: image('kubernetes', 'v1.32.2', 'x86-64') })
  events.push({ kind: 'download', image: image('k3s', 'v1.32.2+k3s1', 'arm64') })
  events.push({ kind: 'download', image: image('kubernetes', 'v1.32.2', 'x86-64') })
  request('fallback', 404, 0.0025)
  const { scrapes } = await replay(events)
  t.equal(scrapes.length, 4)
  for (const [i, { ours, theirs }] of scrapes.entries()) t.equal(ours, theirs, `scrape ${i + 1}`)
  const last = (scrapes.at(-1) as { ours: string }).ours
  const line = (sample: string) => new RegExp(`^sysext_redirector_${sample}$`, 'm')
  t.match(last, line('requests_total\\{rule="raw",status="302"\\} 3'))
  t.match(last, line('requests_total\\{rule="fallback",status="404"\\} 1'))
  t.match(last, line('request_duration_seconds_bucket\\{le="0\\.001",rule="raw"\\} 2'))
  t.match(last, line('request_duration_seconds_bucket\\{le="0\\.0025",rule="raw"\\} 3'))
  t.match(last, line('request_duration_seconds_bucket\\{le="10",rule="raw"\\} 4'))
  t.match(last, line('request_duration_seconds_bucket\\{le="10",rule="none"\\} 0'))
  t.match(last, line('request_duration_seconds_bucket\\{le="\\+Inf",rule="none"\\} 1'))
  t.match(last, line('request_duration_seconds_sum\\{rule="none"\\} 12\\.5'))
  t.match(last, line('request_duration_seconds_count\\{rule="raw"\\} 4'))
  t.match(last, line('upstream_cache_lookups_total\\{result="stale"\\} 0'))
  t.match(
    last,
    line(
      'downloads_total\\{source="bakery",extension="kubernetes",version="v1\\.32\\.2",arch="x86-64"\\} 2',
    ),
  )
})

t.test('any sequence of events and scrapes: the text prom-client gives', async (t) => {
  const bound = fc.constantFrom(...LATENCY_BUCKETS)
  const seconds = fc.oneof(
    bound,
    bound.map((b) => b * (1 + Number.EPSILON)),
    fc.constantFrom(0, 10.000001, 600),
    fc.double({ min: 0, max: 15, noNaN: true }),
  )
  const part = fc.constantFrom('a', 'b', 'kubernetes', 'v1.2', 'x"y\\z')
  const event: fc.Arbitrary<Event> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('request' as const),
        rule: fc.constantFrom('raw', 'fallback', 'none', 'newest', 'we"ird\\rule'),
        status: fc.constantFrom(200, 302, 304, 400, 404, 405, 429, 500, 503),
        s: seconds,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('cache' as const),
        result: fc.constantFrom('hit', 'miss', 'stale') as fc.Arbitrary<CacheResult>,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('download' as const),
        image: fc.record({ extension: part, version: part, arch: part }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'scrape' as const }) },
  )
  await fc.assert(
    fc.asyncProperty(fc.array(event, { maxLength: 200 }), async (events) => {
      for (const { ours, theirs } of (await replay(events)).scrapes) assert.equal(ours, theirs)
    }),
    { seed: SEED, numRuns: 200 },
  )
  t.pass('200 sequences of up to 200 events, compared at every scrape')
})

t.test('a scrape hands the counts over once: scraping again adds nothing', async (t) => {
  const metrics = createMetrics()
  metrics.countRequest('raw', 302, 0.002)
  metrics.countRequest('raw', 302, 0.002)
  metrics.upstreamEvents.cache('hit')
  metrics.countDownload(image('kubernetes', 'v1.32.2', 'x86-64'), 'bakery')
  const first = await metrics.registry.metrics()
  t.equal(await metrics.registry.metrics(), first, 'the second scrape reads the same')
  t.equal(await metrics.registry.metrics(), first, 'and the third')
  t.match(first, /^sysext_redirector_requests_total\{rule="raw",status="302"\} 2$/m)
  t.match(first, /^sysext_redirector_request_duration_seconds_count\{rule="raw"\} 2$/m)
  t.match(first, /^sysext_redirector_upstream_cache_lookups_total\{result="hit"\} 1$/m)
  t.match(first, /^sysext_redirector_downloads_total\{[^}]+\} 1$/m)
  metrics.countRequest('raw', 302, 0.002)
  metrics.upstreamEvents.cache('hit')
  metrics.countDownload(image('kubernetes', 'v1.32.2', 'x86-64'), 'bakery')
  const later = await metrics.registry.metrics()
  t.match(later, /^sysext_redirector_requests_total\{rule="raw",status="302"\} 3$/m)
  t.match(later, /^sysext_redirector_request_duration_seconds_count\{rule="raw"\} 3$/m)
  t.match(later, /^sysext_redirector_upstream_cache_lookups_total\{result="hit"\} 2$/m)
  t.match(later, /^sysext_redirector_downloads_total\{[^}]+\} 2$/m)
  t.equal(
    (await metrics.requests.get()).values.length,
    1,
    'reading one metric directly hands its counts over too, once',
  )
})

t.test('series that exist from the start, as before', async (t) => {
  const text = await createMetrics().registry.metrics()
  for (const result of ['hit', 'miss', 'stale']) {
    t.match(
      text,
      new RegExp(`^sysext_redirector_upstream_cache_lookups_total\\{result="${result}"\\} 0$`, 'm'),
    )
  }
  for (const outcome of ['exists', 'missing', 'unknown']) {
    t.match(
      text,
      new RegExp(
        `^sysext_redirector_upstream_check_duration_seconds_count\\{outcome="${outcome}"\\} 0$`,
        'm',
      ),
    )
  }
  t.notMatch(text, /^sysext_redirector_requests_total\{/m, 'no request series before a request')
  t.notMatch(text, /^sysext_redirector_request_duration_seconds_count\{/m)
  t.notMatch(text, /^sysext_redirector_downloads_total\{/m)
  t.match(text, /^# TYPE sysext_redirector_request_duration_seconds histogram$/m)
})

t.test('a cache result outside the closed set is not counted and makes no series', async (t) => {
  const metrics = createMetrics()
  const before = await metrics.registry.metrics()
  metrics.upstreamEvents.cache('evil' as CacheResult)
  metrics.upstreamEvents.cache('constructor' as CacheResult)
  t.equal(await metrics.registry.metrics(), before)
})

t.test('a duration that is not a finite number counts the request, not the time', async (t) => {
  const metrics = createMetrics()
  metrics.countRequest('raw', 302, 0.5)
  metrics.countRequest('raw', 302, NaN)
  const text = await metrics.registry.metrics()
  t.match(text, /^sysext_redirector_requests_total\{rule="raw",status="302"\} 2$/m)
  t.match(text, /^sysext_redirector_request_duration_seconds_count\{rule="raw"\} 1$/m)
  t.match(text, /^sysext_redirector_request_duration_seconds_sum\{rule="raw"\} 0\.5$/m)
})

t.test('a download counted keeps its labels even if the caller changes the object', async (t) => {
  const metrics = createMetrics()
  const labels = { extension: 'kubernetes', version: 'v1.32.2', arch: 'x86-64' }
  metrics.countDownload(labels, 'bakery')
  labels.arch = 'changed'
  metrics.countDownload(image('kubernetes', 'v1.32.2', 'x86-64'), 'bakery')
  const text = await metrics.registry.metrics()
  t.match(text, /^sysext_redirector_downloads_total\{[^}]*arch="x86-64"\} 2$/m)
  t.notMatch(text, /arch="changed"/)
})
