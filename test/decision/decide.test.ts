import { checked } from '../helpers/upstream.js'
import t from 'tap'
import { originsOf, parseConfig } from '../../src/config/service.js'
import type { Answer } from '../../src/decision/answer.js'
import { decision, missingAsset } from '../../src/decision/decide.js'
import { liveFacts, run } from '../../src/decision/drivers.js'
import type { Need } from '../../src/decision/needs.js'
import { policyOf } from '../../src/decision/policy.js'
import { routeFinder } from '../../src/decision/route.js'
import { RedirectorError } from '../../src/core/errors.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import type { CheckTarget, UpstreamChecks } from '../../src/upstream/checks.js'
import type { CheckOutcome } from '../../src/upstream/head.js'
import type { HeldFile } from '../../src/manifests/held-files.js'
import { snapshotFile } from '../../src/manifests/snapshot-file.js'
import { bakery, type MemorySource } from '../helpers/memory-source.js'
import { singleSource } from '../../src/table/resolve.js'

/**
 * The decision alone, every layer and outcome, with its facts from memory:
 * a fixed answer per existence check and the catalog of a small bakery.
 */
const REL = 'https://github.com/flatcar/sysext-bakery/releases/download'
const origins = singleSource(REL, 'https://docs.example')
const table = await loadTable(DEFAULT_TABLE_FILE, origins)

interface Rig {
  decide(path: string): Promise<Answer>
  readonly asked: Need[]
  readonly source: MemorySource
}

/** Snapshot files held in memory, by `release/asset`: a file, or what reading it says. */
const HELD: Record<string, HeldFile> = {
  'kubernetes/SHA256SUMS': {
    state: 'ok',
    file: snapshotFile(Buffer.from(`${'a'.repeat(64)}  k.raw\n`)),
  },
  'kubernetes/kubernetes.conf': { state: 'missing' },
  'docker/docker.conf': { state: 'unavailable', reason: 'GitHub answered 500' },
}

function rig(env: Record<string, string> = {}, outcomes: Record<string, CheckOutcome> = {}): Rig {
  const config = parseConfig({ FALLBACK_URL: origins.fallback, ...env })
  const policy = policyOf(config, table, originsOf(config, table))
  const source = bakery()
  const checks = {
    lookupNow: (target: CheckTarget) => checked(outcomes[target.asset] ?? 'exists'),
  } as unknown as UpstreamChecks
  const held = { read: (release: string, asset: string) => HELD[`${release}/${asset}`] as HeldFile }
  const facts = liveFacts({ checks, index: source, snapshots: new Map([['bakery', held]]) })
  const asked: Need[] = []
  const route = routeFinder({ table, origins, index: config.index.enabled })
  return {
    asked,
    source,
    decide: async (path) =>
      run(decision(route(path), policy), (need) => {
        asked.push(need)
        return facts(need)
      }),
  }
}

const summary = (a: Answer) => ({
  status: a.status,
  location: a.location,
  cacheControl: a.cacheControl,
  body: a.body,
  rule: a.rule,
  upstream: a.upstream,
})

t.test('a table target: the outcome of its check decides', async (t) => {
  const image = 'kubernetes-v1.32.2-x86-64.raw'
  const path = `/extensions/${image}`
  const location = `${REL}/kubernetes-v1.32.2/${image}`
  const confirmed = await rig().decide(path)
  t.same(summary(confirmed), {
    status: 302,
    location,
    cacheControl: 'public, max-age=86400',
    body: '',
    rule: 'raw',
    upstream: 'exists',
  })
  t.same(confirmed.image, { extension: 'kubernetes', version: 'v1.32.2', arch: 'x86-64' })
  t.equal(confirmed.layer, 'table')
  const missing = await rig({ MANIFEST_INDEX: 'false' }, { [image]: 'missing' }).decide(path)
  t.same(summary(missing), {
    status: 404,
    location: undefined,
    cacheControl: 'public, max-age=30',
    body: `Not Found: ${missingAsset('kubernetes-v1.32.2', image)}`,
    rule: 'raw',
    upstream: 'missing',
  })
  const open = await rig({}, { [image]: 'unknown' }).decide(path)
  t.same(summary(open), {
    ...summary(confirmed),
    upstream: 'unknown',
    cacheControl: 'public, max-age=5',
  })
  t.match(open.warning, { message: 'upstream check failed; redirecting unconfirmed' })
  const closed = await rig({ UPSTREAM_FAIL_MODE: 'closed' }, { [image]: 'unknown' }).decide(path)
  t.equal(closed.status, 503)
  t.equal(closed.retryAfter, '5')
  t.equal(closed.cacheControl, 'no-store')
  const unchecked = rig({ UPSTREAM_CHECKS: 'false', MANIFEST_INDEX: 'false' })
  t.same(summary(await unchecked.decide(path)), { ...summary(confirmed), upstream: 'unchecked' })
  t.same(unchecked.asked, [], 'nothing asked with checks and index off')
  const index = await rig({ MANIFEST_INDEX: 'false' }).decide('/extensions/kubernetes/SHA256SUMS')
  t.equal(index.cacheControl, 'public, max-age=60', 'a mutable target: short')
  t.equal(index.image, null, 'no image')
})

t.test(
  'a snapshot file: its adopted bytes, a 404, or a 503; a redirect without snapshots',
  async (t) => {
    const { decide, asked } = rig()
    const manifest = await decide('/extensions/kubernetes/SHA256SUMS')
    t.same(summary(manifest), {
      status: 200,
      location: undefined,
      cacheControl: 'public, max-age=10',
      body: '',
      rule: 'extension-index',
      upstream: 'exists',
    })
    t.equal(
      manifest.file,
      HELD['kubernetes/SHA256SUMS']?.state === 'ok' && HELD['kubernetes/SHA256SUMS'].file,
    )
    t.match(asked, [
      { kind: 'file', target: { source: 'bakery', release: 'kubernetes', asset: 'SHA256SUMS' } },
    ])
    t.match(summary(await decide('/extensions/kubernetes.conf')), {
      status: 404,
      cacheControl: 'public, max-age=30',
      body: `Not Found: ${missingAsset('kubernetes', 'kubernetes.conf')}`,
      upstream: 'missing',
    })
    const unavailable = await decide('/extensions/docker.conf')
    t.match(summary(unavailable), { status: 503, cacheControl: 'no-store', upstream: 'unknown' })
    t.equal(unavailable.retryAfter, '15')
    t.match(unavailable.warning, { details: { reason: 'GitHub answered 500' } })
    for (const env of [{ UPSTREAM_CHECKS: 'false' }, { MANIFEST_INDEX: 'false' }] as Record<
      string,
      string
    >[]) {
      const redirected = await rig(env).decide('/extensions/kubernetes.conf')
      t.equal(redirected.location, `${REL}/kubernetes/kubernetes.conf`, JSON.stringify(env))
    }
  },
)

t.test('the same answer object for the same route and outcome', async (t) => {
  const config = parseConfig({})
  const route = routeFinder({ table, origins, index: false })(
    '/extensions/kubernetes-v1.32.2-x86-64.raw',
  )
  const policy = policyOf(config, table, originsOf(config, table))
  const facts = () => checked('exists')
  t.equal(run(decision(route, policy), facts), run(decision(route, policy), facts))
})

t.test('newest-version names: the newest image, or a 404 naming the choices', async (t) => {
  const { decide } = rig()
  const cases: [string, string][] = [
    ['kubernetes.raw', 'kubernetes-v1.32.10/kubernetes-v1.32.10-x86-64.raw'],
    ['kubernetes-arm64.raw', 'kubernetes-v1.32.2/kubernetes-v1.32.2-arm64.raw'],
    ['docker-compose.raw', 'docker-compose-2.34.0/docker-compose-2.34.0-x86-64.raw'],
    ['crio.raw', 'crio-v1.30.0-rc1/crio-v1.30.0-rc1-x86-64.raw'],
    ['kubernetes/kubernetes.raw', 'kubernetes-v1.32.10/kubernetes-v1.32.10-x86-64.raw'],
  ]
  for (const [file, target] of cases) {
    const answer = await decide(`/extensions/${file}`)
    t.equal(answer.location, `${REL}/${target}`, file)
    t.equal(answer.rule, 'newest')
    t.equal(answer.cacheControl, 'public, max-age=60', 'short: it moves on publish')
  }
  const notFound: [string, string][] = [
    [
      'nosuch.raw',
      'no extension matches nosuch.raw; extensions: kubernetes, docker, docker-compose, crio, x86, wasmtime',
    ],
    ['wasmtime.raw', 'wasmtime has no x86-64 image; architectures: arm64'],
  ]
  for (const [file, message] of notFound) {
    const answer = await decide(`/extensions/${file}`)
    t.same([answer.status, answer.body], [404, `Not Found: ${message}`], file)
    t.equal(answer.cacheControl, 'public, max-age=30')
  }
})

t.test('a name a rule takes, GitHub lacks and the index cannot serve', async (t) => {
  const file = 'docker-compose-arm64.raw'
  const answer = await rig({}, { [file]: 'missing' }).decide(`/extensions/${file}`)
  t.equal(
    answer.body,
    `Not Found: release docker-compose has no asset ${file}; docker-compose has no arm64 image; architectures: x86-64`,
  )
})

t.test('a stream name a rule takes: a stream only once GitHub says missing', async (t) => {
  const stream = 'kubernetes-v1.31-x86-64.raw'
  const { decide, asked } = rig({}, { [stream]: 'missing' })
  const answer = await decide(`/extensions/${stream}`)
  t.equal(answer.location, `${REL}/kubernetes-v1.31.4/kubernetes-v1.31.4-x86-64.raw`)
  t.same(
    asked.map((need) => need.kind),
    ['check', 'reading', 'check'],
    'the exact target, the index, the stream target',
  )
  const below = await rig({}, { 'kubernetes-v1.32-arm64.raw': 'missing' }).decide(
    '/extensions/kubernetes/kubernetes-v1.32-arm64.raw',
  )
  t.equal(
    below.location,
    `${REL}/kubernetes-v1.32.2/kubernetes-v1.32.2-arm64.raw`,
    'below its path too',
  )
  const none = await rig({}, { 'kubernetes-v1.99-x86-64.raw': 'missing' }).decide(
    '/extensions/kubernetes-v1.99-x86-64.raw',
  )
  t.equal(
    none.body,
    'Not Found: release kubernetes-v1.99 has no asset kubernetes-v1.99-x86-64.raw; kubernetes has no x86-64 image whose version starts with v1.99.; streams: v1.32, v1.31',
  )
  const exact = await rig({}, { 'kubernetes-v1.32.10-arm64.raw': 'missing' }).decide(
    '/extensions/kubernetes-v1.32.10-arm64.raw',
  )
  t.equal(exact.rule, 'raw', 'a published version stays the table’s 404')
  t.equal(exact.status, 404)
  const gone = await rig(
    {},
    { 'kubernetes-v1.31-x86-64.raw': 'missing', 'kubernetes-v1.31.4-x86-64.raw': 'missing' },
  ).decide('/extensions/kubernetes-v1.31-x86-64.raw')
  t.same(
    [gone.status, gone.body],
    [
      404,
      'Not Found: the index lists kubernetes-v1.31.4-x86-64.raw, but release kubernetes-v1.31.4 does not have it',
    ],
  )
  const unknown = rig(
    { UPSTREAM_FAIL_MODE: 'closed' },
    { 'kubernetes-v1.31.4-x86-64.raw': 'unknown', [stream]: 'missing' },
  )
  t.equal(
    (await unknown.decide(`/extensions/${stream}`)).status,
    503,
    'fail closed for the stream target too',
  )
  const open = rig({}, { 'kubernetes-v1.31.4-x86-64.raw': 'unknown', [stream]: 'missing' })
  const unconfirmed = await open.decide(`/extensions/${stream}`)
  t.same([unconfirmed.status, unconfirmed.cacheControl], [302, 'public, max-age=5'])
  t.ok(unconfirmed.warning)
})

t.test('answers from a stale copy of a manifest are short-lived', async (t) => {
  const { decide, source } = rig()
  source.staleNames.add('kubernetes')
  t.equal((await decide('/extensions/kubernetes.raw')).cacheControl, 'public, max-age=5')
  t.equal((await decide('/extensions/kubernetes/')).cacheControl, 'public, max-age=5')
  t.equal((await decide('/extensions/docker.raw')).cacheControl, 'public, max-age=60')
})

t.test('directory pages', async (t) => {
  const { decide } = rig()
  const listing = await decide('/extensions/')
  t.same([listing.status, listing.page?.kind, listing.rule], [200, 'listing', 'directory'])
  const one = await decide('/extensions/docker/')
  t.same([one.status, one.page?.kind], [200, 'extension'])
  const none = await decide('/extensions/nosuch/')
  t.same(
    [none.status, none.page],
    [
      404,
      {
        kind: 'unknown',
        name: 'nosuch',
        choices: ['crio', 'docker', 'docker-compose', 'kubernetes', 'wasmtime', 'x86'],
        source: null,
        base: '/extensions/',
        layout: { kind: 'flatcar' },
      },
    ],
  )
})

t.test('an index that cannot be read: a 503 to retry, never a 4xx', async (t) => {
  const { decide, source } = rig({ INDEX_RETRY: '7s' })
  const fail = async (): Promise<never> => {
    throw new RedirectorError('SR_INDEX_UNAVAILABLE', 'GitHub is down')
  }
  source.candidates = fail
  source.extension = fail
  source.extensions = fail
  for (const path of ['/extensions/kubernetes.raw', '/extensions/', '/extensions/docker/']) {
    const answer = await decide(path)
    t.same([answer.status, answer.retryAfter, answer.cacheControl], [503, '7', 'no-store'], path)
    t.match(answer.warning, { details: { reason: 'GitHub is down' } })
  }
  const later = rig()
  later.source.extensions = fail
  t.equal((await later.decide('/extensions/nosuch.raw')).status, 503, 'the choices too')
  t.equal((await later.decide('/extensions/nosuch/')).status, 503)
})

t.test('a refused path: its 4xx, nothing asked', async (t) => {
  const { decide, asked } = rig()
  const answer = await decide('/extensions/%zz')
  t.same(summary(answer), {
    status: 400,
    location: undefined,
    cacheControl: 'no-store',
    body: 'Bad Request: path has an invalid percent-encoding',
    rule: null,
    upstream: null,
  })
  t.equal((await decide(`/${'a'.repeat(5000)}`)).status, 414)
  t.same(asked, [])
})

t.test('the fallback: never checked, kept an hour', async (t) => {
  const { decide, asked } = rig()
  const answer = await decide('/docs/?x=1')
  t.same(
    [answer.location, answer.cacheControl, answer.upstream],
    ['https://docs.example/docs/?x=1', 'public, max-age=3600', 'unchecked'],
  )
  t.same(asked, [])
})
