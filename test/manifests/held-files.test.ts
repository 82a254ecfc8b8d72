import t, { type Test } from 'tap'
import { Agent } from 'undici'
import { assetFetcher, type AssetFetcher } from '../../src/manifests/fetch.js'
import { HeldFiles, type HeldFile } from '../../src/manifests/held-files.js'
import { releasesBase } from '../../src/table/resolve.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { TestClock } from '../helpers/upstream.js'

const SETTINGS = { ttlMs: 60_000, retryMs: 5_000, staleMaxMs: 600_000, cacheMaxBytes: 1 << 20 }

interface Rig {
  github: FakeGitHub
  files: HeldFiles
  clock: TestClock
  warnings: string[]
}

async function rig(t: Test, fetch?: AssetFetcher): Promise<Rig> {
  const github = await startFakeGitHub({ assets: { k: { 'k.conf': '[Transfer]\n' } } })
  t.teardown(() => github.close())
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  const clock = new TestClock()
  const warnings: string[] = []
  const real = assetFetcher({
    dispatcher,
    releases: releasesBase(github.url, 'flatcar/sysext-bakery'),
    timeoutMs: 2000,
    maxBytes: 4096,
  })
  const log = { warn: (_details: object, message: string) => void warnings.push(message) }
  const files = new HeldFiles(fetch ?? real, clock, SETTINGS, log)
  return { github, files, clock, warnings }
}

const text = (held: HeldFile): string | HeldFile =>
  held.state === 'ok' ? Buffer.from(held.file.bytes).toString() : held

/** A read once every lifetime has passed and the refresh behind it has answered. */
async function later(rig: Rig, ms = 120_000): Promise<HeldFile> {
  rig.clock.advance(ms)
  await rig.files.get('k', 'k.conf')
  await rig.files.settled()
  return rig.files.get('k', 'k.conf')
}

t.test('read once, fresh for the TTL, revalidated with a 304', async (t) => {
  const r = await rig(t)
  t.equal(text(await r.files.get('k', 'k.conf')), '[Transfer]\n')
  t.equal(text(await r.files.get('k', 'k.conf')), '[Transfer]\n')
  t.equal(r.github.count('GET', 'k', 'k.conf'), 1, 'fresh: not asked again')
  t.equal(text(await later(r)), '[Transfer]\n')
  t.equal(r.github.count('GET', 'k', 'k.conf'), 2)
  t.match(r.github.requests.at(-1)?.headers, { 'if-none-match': /"/ }, 'with its validator')
})

t.test('a file the origin does not have is missing', async (t) => {
  const r = await rig(t)
  t.same(await r.files.get('k', 'nosuch.conf'), { state: 'missing' })
})

t.test('deleted or failing at the origin: the held copy is served, up to staleMaxMs', async (t) => {
  const r = await rig(t)
  await r.files.get('k', 'k.conf')
  r.github.removeAsset('k', 'k.conf')
  t.equal(text(await later(r)), '[Transfer]\n', 'a 404 while held: the copy')
  r.github.fault({ kind: 'status', status: 500 })
  t.equal(text(await later(r, 300_000)), '[Transfer]\n', 'a failure: the copy')
  t.match(r.warnings, [/keeping the last good copy/])
  t.match(await later(r, 600_000), { state: 'unavailable', reason: 'GitHub answered 500' })
  r.github.fault(null)
  t.same(await later(r), { state: 'missing' }, 'gone for longer than a publish takes')
})

t.test('no copy and no answer: unavailable, and why', async (t) => {
  const r = await rig(t)
  r.github.fault({ kind: 'status', status: 502 })
  t.match(await r.files.get('k', 'k.conf'), { state: 'unavailable', reason: 'GitHub answered 502' })
  t.match(r.warnings, [/no good copy/])
})

t.test('invalidate reads the release again at once, the copy served meanwhile', async (t) => {
  const r = await rig(t)
  await r.files.get('k', 'k.conf')
  r.github.addAsset('k', 'k.conf', '[Transfer]\nv2\n')
  t.equal(r.files.invalidate('k'), 1)
  t.equal(r.files.invalidate('other'), 0)
  t.equal(text(await r.files.get('k', 'k.conf')), '[Transfer]\n', 'at once, the held copy')
  await r.files.settled()
  t.equal(text(await r.files.get('k', 'k.conf')), '[Transfer]\nv2\n')
})

t.test('a 304 for a copy not held is a failure', async (t) => {
  const r = await rig(t, async () => ({ kind: 'not-modified' }))
  t.match(await r.files.get('k', 'k.conf'), {
    state: 'unavailable',
    reason: '304 for a copy we do not hold',
  })
})
