import type { FastifyInstance } from 'fastify'
import t from 'tap'
import {
  decodeRevision,
  encodeRevision,
  rankOf,
  type SharedRevision,
} from '../../src/manifests/fleet-revisions.js'
import { testApp } from '../helpers/app.js'
import { bakeryAssets, ONLINE, publish, sums } from '../helpers/bakery.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { releaseDelivery } from '../helpers/fleet.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { waitUntil } from '../helpers/wait.js'

const REVISION: SharedRevision = {
  rank: Date.parse('Sun, 06 Dec 2026 10:00:01 GMT'),
  manifest: Buffer.from(`${'a'.repeat(64)}  k-1-x86-64.raw\n`),
  validators: { etag: '"m"', lastModified: 'Sun, 06 Dec 2026 10:00:00 GMT' },
  signatures: [
    { name: 'SHA256SUMS.gpg', bytes: Buffer.from([0, 137, 255]), validators: { etag: '"s"' } },
    { name: 'SHA256SUMS.asc', bytes: null, validators: {} },
  ],
}

t.test('a revision goes to the store and back whole, binary bytes too', async (t) => {
  const back = decodeRevision(encodeRevision(REVISION))
  t.same(back, {
    ...REVISION,
    manifest: Buffer.from(REVISION.manifest),
    signatures: [
      { ...REVISION.signatures[0], bytes: Buffer.from([0, 137, 255]) },
      REVISION.signatures[1],
    ],
  })
})

t.test('anything but a revision reads as none', async (t) => {
  const good = JSON.parse(encodeRevision(REVISION).toString()) as Record<string, unknown>
  const bad: unknown[] = [
    'not json',
    [],
    { ...good, rank: '1' },
    { ...good, manifest: 3 },
    { ...good, validators: { etag: 1 } },
    { ...good, validators: { lastModified: 1 } },
    { ...good, validators: null },
    { ...good, signatures: {} },
    { ...good, signatures: [7] },
    { ...good, signatures: [{ name: 1, bytes: null, validators: {} }] },
    { ...good, signatures: [{ name: 'x', bytes: 2, validators: {} }] },
    { ...good, signatures: [{ name: 'x', bytes: null, validators: 'v' }] },
  ]
  t.equal(decodeRevision(null), null)
  for (const doc of bad) {
    const bytes = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc))
    t.equal(decodeRevision(bytes), null, JSON.stringify(doc))
  }
})

t.test('its rank: the newest Last-Modified of its files; 0 when none says', async (t) => {
  t.equal(
    rankOf([
      { lastModified: 'Sun, 06 Dec 2026 10:00:00 GMT' },
      { lastModified: 'Sun, 06 Dec 2026 10:00:07 GMT' },
      { lastModified: 'garbage' },
      {},
    ]),
    Date.parse('Sun, 06 Dec 2026 10:00:07 GMT'),
  )
  t.equal(rankOf([{}, { lastModified: 'garbage' }]), 0)
  t.equal(rankOf([]), 0)
})

t.test(
  'a fleet serves the revision one instance adopted, the others without asking GitHub',
  async (t) => {
    const redis = await startRedisServer()
    t.teardown(() => redis.close())
    const github = await startFakeGitHub({ assets: bakeryAssets() })
    t.teardown(() => github.close())
    const secret = 'fleet'
    const env = {
      ...ONLINE,
      GITHUB_URL: github.url,
      REDIS_URL: redis.url,
      GITHUB_WEBHOOK_SECRET: secret,
    }
    const [a, b] = [await testApp(env), await testApp(env)]
    t.teardown(() => Promise.all([a.app.close(), b.app.close()]))
    await Promise.all([a, b].map(({ app }) => storeInUse(app)))
    const manifest = '/extensions/kubernetes/SHA256SUMS'
    const v1 = (bakeryAssets().kubernetes as Record<string, string>).SHA256SUMS as string
    t.equal((await a.app.inject(manifest)).body, v1)
    t.equal((await b.app.inject(manifest)).body, v1)
    // The bakery publishes; one instance reads it (its webhook, say) and adopts it.
    publish(github, { kubernetes: { 'v1.34.0': ['x86-64', 'arm64'] } })
    const v2 = sums([
      ...v1
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(66)),
      ...NEW,
    ])
    github.addAsset('kubernetes', 'SHA256SUMS', v2)
    github.addAsset('kubernetes', 'SHA256SUMS.gpg', 'signature of v2')
    const { body, headers } = releaseDelivery(secret, 'kubernetes-v1.34.0')
    const delivered = await a.app.inject({ method: 'POST', url: '/hooks/github', body, headers })
    t.equal(delivered.statusCode, 200)
    await a.app.snapshots.get('bakery')?.settled()
    t.equal((await a.app.inject(manifest)).body, v2, 'A adopted it')
    const asked = github.count('GET', 'kubernetes', 'SHA256SUMS')
    await waitUntil(() => served(b.app, manifest, v2))
    t.equal((await b.app.inject(manifest)).body, v2, 'B serves it too, told by the store')
    t.equal(github.count('GET', 'kubernetes', 'SHA256SUMS'), asked, 'without reading GitHub itself')
    const signature = await b.app.inject('/extensions/kubernetes/SHA256SUMS.gpg')
    t.equal(signature.body, 'signature of v2', 'and its signature with it')
    t.match((await b.app.inject('/extensions/kubernetes.raw')).headers.location, /v1\.34\.0-x86-64/)
  },
)

const NEW = ['kubernetes-v1.34.0-x86-64.raw', 'kubernetes-v1.34.0-arm64.raw']

/** Until the instance says its shared store is in use. */
async function storeInUse(app: FastifyInstance): Promise<void> {
  const metric = app.metrics.registry.getSingleMetric('sysext_redirector_shared_store_up')
  for (let waited = 0; waited < 20_000; waited += 20) {
    if ((await metric?.get())?.values.some((value) => value.value === 1)) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('the shared store never came up')
}

let latest = ''
/** Whether the instance serves `path` as `body` now (polled: the store tells it in its own time). */
function served(app: FastifyInstance, path: string, body: string): boolean {
  void app.inject(path).then((res) => (latest = res.body))
  return latest === body
}
