import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createMetrics } from '../../src/metrics/metrics.js'
import { testApp } from '../helpers/app.js'
import { startBakery } from '../helpers/bakery.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { settle, TestClock } from '../helpers/upstream.js'

const IMAGE = '/extensions/kubernetes-v1.32.2-x86-64.raw'
const ASSETS = {
  'kubernetes-v1.32.2': {
    'kubernetes-v1.32.2-x86-64.raw': 'x',
    'kubernetes-v1.32.2-arm64.raw': 'a',
  },
  'k3s-v1.32.2+k3s1': { 'k3s-v1.32.2+k3s1-x86-64.raw': 'k' },
  'crio-v1.30.0-rc1': { 'crio-v1.30.0-rc1-x86-64.raw': 'c' },
  kubernetes: { SHA256SUMS: 'sums\n' },
}

/** A metric as the registry reads it: prom-client's, or our TalliedHistogram. */
interface Readable {
  get(): Promise<unknown>
}

type Labels = Record<string, string>
interface Sample {
  readonly value: number
  readonly labels: Labels
  /** Set for a histogram's _bucket, _sum and _count samples. */
  readonly metricName?: string
}

async function samples(metric: Readable): Promise<{ name: string; values: Sample[] }> {
  return (await metric.get()) as unknown as { name: string; values: Sample[] }
}

/** The value of the series with exactly these labels (a histogram's count); 0 if none. */
async function value(metric: Readable, labels: Labels = {}): Promise<number> {
  const { name, values } = await samples(metric)
  const same = (got: Labels): boolean =>
    Object.keys(got).length === Object.keys(labels).length &&
    Object.entries(labels).every(([key, label]) => got[key] === label)
  const found = values.find(
    (v) => (v.metricName === undefined || v.metricName === `${name}_count`) && same(v.labels),
  )
  return found?.value ?? 0
}

/** Every label set of a metric's series (histogram buckets folded). */
async function series(metric: Readable): Promise<Labels[]> {
  const seen = new Map<string, Labels>()
  for (const v of (await samples(metric)).values) {
    const labels = Object.fromEntries(Object.entries(v.labels).filter(([k]) => k !== 'le'))
    seen.set(JSON.stringify(labels), labels)
  }
  return [...seen.values()]
}

async function withGitHub(t: Test, env: Record<string, string> = {}, clock = new TestClock()) {
  const github = await startFakeGitHub({ assets: ASSETS })
  t.teardown(() => github.close())
  const { app } = await testApp(
    { GITHUB_URL: github.url, UPSTREAM_CHECKS: 'true', RATE_LIMIT_MAX: '0', ...env },
    { clock },
  )
  t.teardown(() => app.close())
  return { app, github, clock, m: app.metrics }
}

const get = (app: FastifyInstance, url: string, method: 'GET' | 'HEAD' = 'GET') =>
  app.inject({ method, url })

t.test('requests are counted by rule and status', async (t) => {
  const { app, m } = await withGitHub(t)
  await get(app, IMAGE)
  await get(app, IMAGE, 'HEAD')
  await get(app, '/extensions/kubernetes-v9.9.9-x86-64.raw')
  await get(app, '/extensions/kubernetes/kubernetes-v1.32.2-x86-64.raw')
  await get(app, '/docs/')
  await get(app, '/healthz')
  await app.inject({ method: 'PUT', url: '/x' })
  await get(app, '/extensions/a%00b')
  await get(app, '/extensions/%zz')
  t.equal(await value(m.requests, { rule: 'raw', status: '302' }), 2, 'GET and HEAD of an image')
  t.equal(await value(m.requests, { rule: 'raw', status: '404' }), 1, 'a missing image')
  t.equal(await value(m.requests, { rule: 'raw-below-path', status: '302' }), 1)
  t.equal(await value(m.requests, { rule: 'fallback', status: '302' }), 1)
  t.equal(await value(m.requests, { rule: 'none', status: '200' }), 1, 'the probe')
  t.equal(await value(m.requests, { rule: 'none', status: '405' }), 1)
  t.equal(
    await value(m.requests, { rule: 'none', status: '400' }),
    2,
    'a bad path, and one the router itself refused',
  )
  t.equal(await value(m.requestDuration, { rule: 'raw' }), 3, 'each one timed')
})

t.test(
  'upstream checks by outcome and latency; cache hits, misses and stale answers',
  async (t) => {
    const { app, github, clock, m } = await withGitHub(t, {
      CHECK_TTL_VERSIONED: '1m',
      CHECK_TTL_UNKNOWN: '1s',
    })
    await get(app, IMAGE)
    await get(app, IMAGE)
    await get(app, '/extensions/kubernetes-v9.9.9-x86-64.raw')
    github.fault({ kind: 'status', status: 502 }, (path) => path.startsWith('k3s'))
    await get(app, '/extensions/k3s-v1.32.2+k3s1-x86-64.raw')
    github.fault({ kind: 'delay', ms: 300 })
    await get(app, '/extensions/kubernetes-v1.32.2-arm64.raw')
    github.fault(null)
    t.equal(await value(m.upstreamChecks, { outcome: 'exists' }), 2)
    t.equal(await value(m.upstreamChecks, { outcome: 'missing' }), 1)
    t.equal(await value(m.upstreamChecks, { outcome: 'unknown' }), 1, 'GitHub answered 502')
    const exists = (await samples(m.upstreamChecks)).values.filter(
      (v) => v.labels.outcome === 'exists',
    )
    const bucket = (le: number) =>
      exists.find((v) => v.metricName?.endsWith('_bucket') && Number(v.labels.le) === le)?.value
    t.equal(bucket(0.25), 1, 'the fast check is under 250 ms')
    t.equal(bucket(10), 2, 'the one GitHub delayed 300 ms is not...')
    t.ok(
      (exists.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0) >= 0.3,
      '...and the latency sum shows it',
    )
    t.equal(await value(m.upstreamCache, { result: 'miss' }), 4)
    t.equal(await value(m.upstreamCache, { result: 'hit' }), 1, 'the second request for the image')
    clock.advance(2 * 60_000)
    await get(app, IMAGE)
    await settle(app.upstreamChecks as NonNullable<typeof app.upstreamChecks>)
    t.equal(await value(m.upstreamCache, { result: 'stale' }), 1, 'expired, served while refreshed')
    t.equal(await value(m.upstreamChecks, { outcome: 'exists' }), 3, 'the refresh is a check too')
  },
)

t.test('downloads: GETs of images GitHub confirmed, by extension, version and arch', async (t) => {
  const { app, github, m } = await withGitHub(t, { UPSTREAM_FAIL_MODE: 'open' })
  await get(app, IMAGE)
  await get(app, IMAGE)
  await get(app, '/mirror/extensions/kubernetes/kubernetes-v1.32.2-x86-64.raw')
  await get(app, '/extensions/k3s-v1.32.2%2Bk3s1-x86-64.raw')
  await get(app, '/extensions/crio-v1.30.0-rc1-x86-64.raw')
  await get(app, '/extensions/kubernetes-v1.32.2-arm64.raw', 'HEAD')
  await get(app, '/extensions/kubernetes/SHA256SUMS')
  await get(app, '/extensions/kubernetes-v9.9.9-x86-64.raw')
  github.fault({ kind: 'status', status: 500 })
  const unconfirmed = await get(app, '/extensions/kubernetes-v1.32.3-x86-64.raw')
  t.equal(unconfirmed.statusCode, 302, 'GitHub failed: redirected unconfirmed (fail open)')
  t.same(
    (await series(m.downloads)).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [
      { source: 'bakery', extension: 'crio', version: 'v1.30.0-rc1', arch: 'x86-64' },
      { source: 'bakery', extension: 'k3s', version: 'v1.32.2+k3s1', arch: 'x86-64' },
      { source: 'bakery', extension: 'kubernetes', version: 'v1.32.2', arch: 'x86-64' },
    ],
    'not HEAD, not an index, not missing, not unconfirmed',
  )
  t.equal(
    await value(m.downloads, {
      source: 'bakery',
      extension: 'kubernetes',
      version: 'v1.32.2',
      arch: 'x86-64',
    }),
    3,
    'below a sub-path too',
  )
})

t.test('a newest-version name counts as a download of the image it leads to', async (t) => {
  const { app } = await startBakery(t, { UPSTREAM_CHECKS: 'true', MANIFEST_INDEX: 'true' })
  const res = await get(app, '/extensions/kubernetes.raw')
  t.equal(res.statusCode, 302)
  t.match(res.headers.location, /\/kubernetes-v1\.33\.0\/kubernetes-v1\.33\.0-x86-64\.raw$/)
  await get(app, '/extensions/docker-compose-arm64.raw')
  await get(app, '/extensions/nosuch.raw')
  t.same(
    (await series(app.metrics.downloads)).sort((a, b) =>
      JSON.stringify(a).localeCompare(JSON.stringify(b)),
    ),
    [
      { source: 'bakery', extension: 'docker-compose', version: '2.34.0', arch: 'arm64' },
      { source: 'bakery', extension: 'kubernetes', version: 'v1.33.0', arch: 'x86-64' },
    ],
  )
  t.equal(await value(app.metrics.requests, { rule: 'newest', status: '302' }), 2)
  t.equal(await value(app.metrics.requests, { rule: 'newest', status: '404' }), 1)
})

t.test(
  'with UPSTREAM_CHECKS=false nothing is confirmed, so nothing counts as a download',
  async (t) => {
    const { app, m } = await withGitHub(t, { UPSTREAM_CHECKS: 'false' })
    t.equal((await get(app, IMAGE)).statusCode, 302)
    t.same(await series(m.downloads), [])
    t.equal(await value(m.upstreamChecks, { outcome: 'exists' }), 0)
  },
)

t.test('hostile paths cannot grow the label sets', async (t) => {
  const { app, m } = await withGitHub(t)
  for (let i = 0; i < 150; i++) {
    const junk = `${i.toString(36)}${'-x'.repeat(i % 7)}`
    await get(app, `/extensions/${junk}-v${i}-x86-64.raw`)
    await get(app, `/extensions/${junk}/SHA256SUMS`)
    await get(app, `/${junk}/%${i % 2 ? 'zz' : '41'}`)
    await app.inject({ method: i % 2 ? 'DELETE' : 'OPTIONS', url: `/${junk}` })
  }
  t.same(await series(m.downloads), [], 'no download series for assets that do not exist')
  const labels = await series(m.requests)
  t.ok(labels.length <= 6, `requests: ${labels.length} series for 600 distinct paths`)
  for (const { rule, status } of labels) {
    t.ok(['raw', 'extension-index', 'fallback', 'none'].includes(rule as string), `rule ${rule}`)
    t.match(status, /^[1-5]\d\d$/)
  }
  t.same(
    (await series(m.requestDuration)).map(({ rule }) => rule).sort(),
    [...new Set(labels.map(({ rule }) => rule))].sort(),
    'latency series: the same rules',
  )
  t.same(
    (await series(m.upstreamCache)).map(({ result }) => result),
    ['hit', 'miss', 'stale'],
  )
})

t.test('nothing a client sends appears in the exposition', async (t) => {
  const { app, m } = await withGitHub(t)
  const MARK = 'Zq9mark'
  const headers = {
    host: `${MARK}.example`,
    'user-agent': MARK,
    'x-forwarded-for': '203.0.113.9',
    'fly-client-ip': '203.0.113.9',
    [`x-${MARK}`]: MARK,
  }
  const targets = [
    `/extensions/${MARK}-v1.0.0-x86-64.raw`,
    `/extensions/kubernetes-v1.32.2-${MARK}.raw`,
    `/extensions/kubernetes/${MARK}`,
    `/extensions/kubernetes-v1.32.2-x86-64.raw?${MARK}=1`,
    `/${MARK}/%zz`,
    `/${MARK}`,
  ]
  for (const url of targets) {
    for (const method of ['GET', 'HEAD', 'POST'] as const)
      await app.inject({ method, url, headers })
  }
  const text = await m.registry.metrics()
  t.notMatch(text, new RegExp(MARK, 'i'))
  t.match(text, /^sysext_redirector_requests_total\{rule="raw",status="302"\} \d+$/m, 'counted')
})

t.test('each app has its own registry', async (t) => {
  const one = await testApp({ UPSTREAM_CHECKS: 'false' })
  const two = await testApp({ UPSTREAM_CHECKS: 'false' })
  t.teardown(() => Promise.all([one.app.close(), two.app.close()]))
  t.not(one.app.metrics.registry, two.app.metrics.registry)
  await one.app.inject({ url: '/docs/' })
  t.equal(await value(one.app.metrics.requests, { rule: 'fallback', status: '302' }), 1)
  t.equal(await value(two.app.metrics.requests, { rule: 'fallback', status: '302' }), 0)
  t.doesNotThrow(() => createMetrics(), 'and a third can be made beside them')
})

t.test('rate-limit events are counted', async (t) => {
  const m = createMetrics()
  m.rateLimitEvents.limited()
  m.rateLimitEvents.limited()
  m.rateLimitEvents.storeFailed()
  t.equal(await value(m.rateLimited), 2)
  t.equal(await value(m.rateLimitStoreErrors), 1)
})

t.test("GitHub's pauses and the check budget are counted", async (t) => {
  const m = createMetrics()
  const text = async (): Promise<string> => m.registry.metrics()
  t.match(
    await text(),
    /^sysext_redirector_upstream_held_back_total\{reason="budget"\} 0$/m,
    'from the start',
  )
  m.gateEvents.paused(30)
  m.gateEvents.heldBack('paused')
  m.gateEvents.heldBack('paused')
  m.gateEvents.heldBack('budget')
  const after = await text()
  t.match(after, /^sysext_redirector_upstream_pauses_total 1$/m)
  t.match(after, /^sysext_redirector_upstream_held_back_total\{reason="paused"\} 2$/m)
  t.match(after, /^sysext_redirector_upstream_held_back_total\{reason="budget"\} 1$/m)
})

t.test('manifest refreshes are counted by outcome, from the start', async (t) => {
  const { app, github, clock } = await startBakery(t)
  const counts = async (): Promise<Record<string, number>> => {
    const found: Record<string, number> = {}
    const text = await app.metrics.registry.metrics()
    for (const [, outcome, n] of text.matchAll(
      /^sysext_redirector_manifest_refreshes_total\{source="bakery",outcome="(\w+)"\} (\d+)$/gm,
    )) {
      found[outcome as string] = Number(n)
    }
    return found
  }
  /** Asks for a newest-version name until the counts read `expected` (refreshes run behind reads). */
  const until = async (expected: Record<string, number>): Promise<void> => {
    let now = await counts()
    while (JSON.stringify(now) !== JSON.stringify(expected)) {
      await app.inject('/extensions/kubernetes.raw')
      await new Promise((resolve) => setTimeout(resolve, 5))
      now = await counts()
    }
  }
  t.same(
    await counts(),
    { fetched: 0, unchanged: 0, missing: 0, failed: 0, held: 0 },
    'from the start',
  )
  await app.inject('/extensions/kubernetes.raw')
  t.same(
    await counts(),
    { fetched: 2, unchanged: 0, missing: 0, failed: 0, held: 0 },
    'global and own',
  )
  clock.advance(5 * 60_000)
  await until({ fetched: 2, unchanged: 2, missing: 0, failed: 0, held: 0 })
  t.pass('past INDEX_TTL: both revalidated with a 304')
  github.fault({ kind: 'status', status: 500 })
  clock.advance(5 * 60_000)
  await until({ fetched: 2, unchanged: 2, missing: 0, failed: 2, held: 0 })
  t.pass('GitHub failing: both refreshes failed, the copies kept')
})
