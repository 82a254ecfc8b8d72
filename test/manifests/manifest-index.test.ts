import t, { type Test } from 'tap'
import { Agent } from 'undici'
import { RedirectorError } from '../../src/core/errors.js'
import { manifestFetcher } from '../../src/manifests/fetch.js'
import { GLOBAL_RELEASE, ManifestIndex } from '../../src/manifests/manifest-index.js'
import { ManifestStore } from '../../src/manifests/store.js'
import { releasesBase } from '../../src/table/resolve.js'
import { bakeryAssets, BAKERY, imagesOf, sums } from '../helpers/bakery.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { TestClock } from '../helpers/upstream.js'

interface Rig {
  github: FakeGitHub
  index: ManifestIndex
  store: ManifestStore
  clock: TestClock
  warnings: string[]
}

async function rig(t: Test, limits = { maxExtensions: 500, concurrency: 4 }): Promise<Rig> {
  const github = await startFakeGitHub({ assets: bakeryAssets() })
  t.teardown(() => github.close())
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  const clock = new TestClock()
  const warnings: string[] = []
  const log = { warn: (_details: object, message: string) => void warnings.push(message) }
  const fetch = manifestFetcher({
    dispatcher,
    releases: releasesBase(github.url, 'flatcar/sysext-bakery'),
    timeoutMs: 2000,
    maxBytes: 65_536,
  })
  const store = new ManifestStore(
    fetch,
    clock,
    { ttlMs: 60_000, retryMs: 5000, staleMaxMs: 3_600_000 },
    log,
  )
  return { github, index: new ManifestIndex(store, limits, log), store, clock, warnings }
}

/** The releases whose SHA256SUMS were fetched, in order. */
const fetched = (github: FakeGitHub): string[] =>
  github.requests
    .filter((r) => r.path.includes('/releases/download/'))
    .map((r) => decodeURIComponent(r.path.split('/')[5] as string))

t.test('the global manifest names the candidates; their own manifests decide', async (t) => {
  const { github, index } = await rig(t)
  t.same(
    [...(await index.candidates())],
    ['crio', 'crio-v1.30.0', 'docker', 'docker-compose', 'k3s', 'kubernetes', 'wasmtime'],
  )
  t.same(fetched(github), [GLOBAL_RELEASE])
  const docker = await index.extension('docker')
  t.same(
    docker?.images.map((i) => i.file),
    [
      'docker-28.0.1-x86-64.raw',
      'docker-28.0.1-arm64.raw',
      'docker-27.5.1-x86-64.raw',
      'docker-27.5.1-arm64.raw',
    ],
  )
  const compose = await index.extension('docker-compose')
  t.same(
    compose?.images.map((i) => i.version),
    ['2.34.0', '2.34.0', '2.33.1'],
  )
  t.equal(await index.extension('crio-v1.30.0'), undefined, 'a versioned release is no extension')
  t.equal(await index.extension('nosuch'), undefined)
  t.equal(await index.extension('kubernetes-v1.32.2'), undefined)
  t.same(
    fetched(github),
    [GLOBAL_RELEASE, 'docker', 'docker-compose', 'crio-v1.30.0'],
    'names that are no candidate are never fetched',
  )
  t.equal(await index.extension('docker'), docker, 'derived once per manifest')
})

t.test('the whole catalog, a few manifests at a time', async (t) => {
  for (const concurrency of [1, 8]) {
    const { index } = await rig(t, { maxExtensions: 500, concurrency })
    const all = await index.extensions()
    t.same(
      all.map((e) => e.name),
      ['crio', 'docker', 'docker-compose', 'k3s', 'kubernetes', 'wasmtime'],
      `concurrency ${concurrency}`,
    )
    t.same(
      all.find((e) => e.name === 'kubernetes')?.images.length,
      imagesOf('kubernetes', BAKERY.kubernetes as never).length,
    )
  }
})

t.test('INDEX_MAX_EXTENSIONS bounds the candidates taken, and says so', async (t) => {
  const { index, warnings } = await rig(t, { maxExtensions: 3, concurrency: 4 })
  t.same([...(await index.candidates())], ['crio', 'crio-v1.30.0', 'docker'])
  t.match(warnings, [/names more extensions than INDEX_MAX_EXTENSIONS/])
  await index.candidates()
  t.equal(warnings.length, 1, 'said once per manifest, not per request')
})

t.test(
  'invalidate drops the global manifest, the tag and the extension it belongs to',
  async (t) => {
    const { github, index, store } = await rig(t)
    t.equal((await index.extension('kubernetes'))?.images[0]?.version, 'v1.33.0')
    // The bakery publishes kubernetes v1.34.0: the version release, then both manifests.
    const spec = { ...BAKERY, kubernetes: { ...BAKERY.kubernetes, 'v1.34.0': ['x86-64'] as const } }
    const assets = bakeryAssets(spec)
    for (const [tag, files] of Object.entries(assets)) {
      for (const [name, body] of Object.entries(files)) github.addAsset(tag, name, body)
    }
    t.equal(
      (await index.extension('kubernetes'))?.images[0]?.version,
      'v1.33.0',
      'cached: not seen yet',
    )
    t.same(
      index.invalidate('kubernetes-v1.34.0'),
      [GLOBAL_RELEASE, 'kubernetes'],
      'what it held of them',
    )
    t.equal(
      (await index.extension('kubernetes'))?.images[0]?.version,
      'v1.33.0',
      'the adopted copy, at once, while the new one is read',
    )
    await store.settled()
    t.equal(
      (await index.extension('kubernetes'))?.images[0]?.version,
      'v1.34.0',
      'then the new one',
    )
    t.same(index.invalidate('nothing-held'), [GLOBAL_RELEASE])
    t.ok(store.has('kubernetes'))
  },
)

t.test('extensions gone from the global manifest are forgotten', async (t) => {
  const { github, index, store, clock } = await rig(t)
  await index.extensions()
  t.ok(store.has('wasmtime'))
  const rest = Object.entries(BAKERY).filter(([ext]) => ext !== 'wasmtime')
  github.addAsset(GLOBAL_RELEASE, 'SHA256SUMS', sums(rest.flatMap(([ext, v]) => imagesOf(ext, v))))
  clock.advance(60_000)
  await index.extension('wasmtime') // served at once, refreshed behind it
  await store.settled()
  t.equal(await index.extension('wasmtime'), undefined)
  t.notOk(store.has('wasmtime'))
})

t.test('no global manifest: no extensions; an unreadable one: unavailable', async (t) => {
  const { github, index, clock } = await rig(t)
  github.removeAsset(GLOBAL_RELEASE, 'SHA256SUMS')
  t.same(await index.extensions(), [])
  github.fault({ kind: 'status', status: 500 })
  clock.advance(3_600_000)
  await t.rejects(index.extension('docker'), {
    constructor: RedirectorError,
    code: 'SR_INDEX_UNAVAILABLE',
    message: /the index of release SHA256SUMS is not available: GitHub answered 500/,
  })
})

t.test('a candidate without a manifest of its own is no extension', async (t) => {
  const { github, index } = await rig(t)
  github.removeAsset('k3s', 'SHA256SUMS')
  t.equal(await index.extension('k3s'), undefined)
  t.notOk((await index.extensions()).some((e) => e.name === 'k3s'))
  t.same(index.extensionNow('k3s'), { found: undefined }, 'from memory too: known missing')
})

t.test("an extension's unreadable manifest makes it unavailable, not absent", async (t) => {
  const { github, index } = await rig(t)
  await index.candidates()
  github.fault({ kind: 'status', status: 500 }, (path) => path === 'docker/SHA256SUMS')
  await t.rejects(index.extension('docker'), {
    code: 'SR_INDEX_UNAVAILABLE',
    message: /release docker/,
  })
  await t.rejects(index.extensions(), { code: 'SR_INDEX_UNAVAILABLE' })
})

t.test('reads from memory: at once while every manifest they need is fresh', async (t) => {
  const { github, index, store, clock } = await rig(t)
  t.equal(index.readingNow('docker.raw'), undefined, 'nothing held yet')
  t.equal(index.extensionNow('docker'), undefined)
  t.equal(index.extensionsNow(), undefined)
  t.equal(store.now(GLOBAL_RELEASE), undefined)
  await index.candidates()
  t.equal(index.readingNow('docker.raw'), undefined, 'the extension’s manifest is not held yet')
  t.same(index.extensionNow('nosuch'), { found: undefined }, 'no such candidate: known at once')
  await index.extensions()
  const before = github.requests.length
  t.match(index.readingNow('docker-compose-arm64.raw'), {
    found: { extension: { name: 'docker-compose' }, arch: 'arm64', stream: undefined },
  })
  t.same(index.readingNow('nosuch.raw'), { found: undefined })
  t.match(index.extensionNow('docker'), { found: { name: 'docker' } })
  t.same(
    index.extensionNow('crio-v1.30.0'),
    { found: undefined },
    'a candidate that is no extension',
  )
  t.same(
    index.extensionsNow()?.found.map((one) => one.name),
    (await index.extensions()).map((one) => one.name),
    'the same as the reads that wait',
  )
  t.equal(github.requests.length, before, 'nothing asked of GitHub')
  clock.advance(60_000)
  t.equal(index.readingNow('docker.raw'), undefined, 'expired: the reads that wait refresh it')
  t.equal(index.extensionsNow(), undefined)
  github.fault({ kind: 'status', status: 500 })
  store.invalidate(GLOBAL_RELEASE)
  await index.candidates()
  await store.settled()
  t.match(
    store.now(GLOBAL_RELEASE),
    { state: 'ok' },
    'a failed refresh keeps the good copy, fresh for the retry wait',
  )
})

t.test('publishes: whether the global manifest lists images of a name', async (t) => {
  const { github, index, clock } = await rig(t)
  t.equal(index.publishesNow('docker'), undefined, 'nothing held yet')
  t.equal(await index.publishes('docker-compose'), true)
  t.equal(await index.publishes('docker'), true)
  t.equal(await index.publishes('crio-v1.30.0'), false, 'a version is no name')
  t.equal(await index.publishes('nosuch'), false)
  const before = github.requests.length
  t.same(index.publishesNow('k3s'), { found: true }, 'from memory while fresh')
  t.same(index.publishesNow('nosuch'), { found: false })
  t.equal(github.requests.length, before, 'one read of the global manifest for all')
  clock.advance(60_000)
  t.equal(index.publishesNow('docker'), undefined, 'expired: the read that waits refreshes it')
})

t.test(
  'publishes: no global manifest publishes nothing; an unreadable one cannot say',
  async (t) => {
    const missing = await rig(t)
    missing.github.removeAsset(GLOBAL_RELEASE, 'SHA256SUMS')
    t.equal(await missing.index.publishes('docker'), false)
    t.same(missing.index.publishesNow('docker'), { found: false })
    const failing = await rig(t)
    failing.github.fault({ kind: 'status', status: 500 })
    await t.rejects(failing.index.publishes('docker'), { code: 'SR_INDEX_UNAVAILABLE' })
    t.throws(() => failing.index.publishesNow('docker'), { code: 'SR_INDEX_UNAVAILABLE' })
  },
)

t.test('reads from memory throw as the others do when GitHub cannot say', async (t) => {
  const { github, index } = await rig(t)
  github.fault({ kind: 'status', status: 500 })
  await t.rejects(index.candidates(), RedirectorError)
  t.throws(() => index.readingNow('docker.raw'), { code: 'SR_INDEX_UNAVAILABLE' })
  t.throws(() => index.extensionsNow(), { code: 'SR_INDEX_UNAVAILABLE' })
})

t.test('an extension is made from a new copy before the copy is served', async (t) => {
  const { github, index, store, clock } = await rig(t)
  t.equal((await index.extension('kubernetes'))?.images[0]?.version, 'v1.33.0')
  const spec = { ...BAKERY, kubernetes: { ...BAKERY.kubernetes, 'v1.34.0': ['x86-64'] as const } }
  const manifest = bakeryAssets(spec).kubernetes?.SHA256SUMS as string
  github.addAsset('kubernetes', 'SHA256SUMS', manifest)
  clock.advance(60_000)
  t.equal(
    (await index.extension('kubernetes'))?.images[0]?.version,
    'v1.33.0',
    'expired: the copy held, at once, while GitHub is asked',
  )
  await store.settled()
  t.match(
    index.extensionNow('kubernetes'),
    { found: { images: [{ version: 'v1.34.0' }] } },
    'the refreshed copy, made into an extension before it was served: read from memory',
  )
})

t.test('from memory, an extension not made yet must wait: never made on the spot', async (t) => {
  const { index, store } = await rig(t)
  await index.extension('docker')
  // A second index over the same store: the manifests are held and fresh,
  // but this index has made no extension of them yet.
  const fresh = new ManifestIndex(store, { maxExtensions: 500, concurrency: 4 }, { warn: () => {} })
  t.equal(fresh.extensionNow('docker'), undefined, 'must wait')
  t.equal(fresh.readingNow('docker.raw'), undefined)
  const docker = await fresh.extension('docker')
  t.equal(docker?.name, 'docker', 'the read that waits makes it, in turns')
  t.same(fresh.extensionNow('docker'), { found: docker }, 'then it is read from memory')
})
