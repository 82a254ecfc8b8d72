import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { Agent } from 'undici'
import { assetFetcher, manifestFetcher, type AssetFetcher } from '../../src/manifests/fetch.js'
import {
  ManifestStore,
  stateSize,
  type StoreEvents,
  type StoreSettings,
} from '../../src/manifests/store.js'
import type { SharedRevision } from '../../src/manifests/fleet-revisions.js'
import { snapshotFile } from '../../src/manifests/snapshot-file.js'
import { releasesBase } from '../../src/table/resolve.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { TestClock } from '../helpers/upstream.js'
import { waitUntil } from '../helpers/wait.js'

const line = (name: string): string => `${'a'.repeat(64)}  ${name}\n`
const V1 = line('k-1-x86-64.raw')
const V2 = V1 + line('k-2-x86-64.raw')

const SETTINGS: StoreSettings = { ttlMs: 60_000, retryMs: 5_000, staleMaxMs: 600_000 }

interface Rig {
  github: FakeGitHub
  store: ManifestStore
  clock: TestClock
  warnings: { details: object; message: string }[]
  /** Download GETs of k/SHA256SUMS so far. */
  fetches(): number
}

async function rig(t: Test, url?: string, events?: StoreEvents): Promise<Rig> {
  const github = await startFakeGitHub({ assets: { k: { SHA256SUMS: V1 } } })
  t.teardown(() => github.close())
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  const clock = new TestClock()
  const warnings: { details: object; message: string }[] = []
  const fetch = manifestFetcher({
    dispatcher,
    releases: releasesBase(url ?? github.url, 'flatcar/sysext-bakery'),
    timeoutMs: 2000,
    maxBytes: 4096,
  })
  const log = {
    warn: (details: object, message: string) => void warnings.push({ details, message }),
  }
  const store = new ManifestStore(fetch, clock, SETTINGS, log, events)
  return { github, store, clock, warnings, fetches: () => github.count('GET', 'k', 'SHA256SUMS') }
}

const entriesOf = (snapshot: Awaited<ReturnType<ManifestStore['get']>>): unknown =>
  snapshot.state === 'ok' ? snapshot.entries : snapshot

const names = (snapshot: Awaited<ReturnType<ManifestStore['get']>>): unknown =>
  snapshot.state === 'ok' ? snapshot.entries.map((e) => e.name) : snapshot

/**
 * A read once the refresh behind a stale read has answered: past its
 * lifetime a good copy is served at once while GitHub is asked behind it.
 */
async function refreshed(store: ManifestStore, release: string) {
  await store.get(release)
  await store.settled()
  return store.get(release)
}

t.test('fresh for the TTL, then revalidated with a cheap 304', async (t) => {
  const { github, store, clock, fetches } = await rig(t)
  const first = await store.get('k')
  t.same(names(first), ['k-1-x86-64.raw'])
  t.equal(fetches(), 1)
  clock.advance(SETTINGS.ttlMs - 1)
  t.equal(
    entriesOf(await store.get('k')),
    entriesOf(first),
    'within the TTL: the same copy, GitHub not asked',
  )
  t.equal(fetches(), 1)
  clock.advance(1)
  github.clearRequests()
  t.equal(
    entriesOf(await refreshed(store, 'k')),
    entriesOf(first),
    'after it: the same copy again...',
  )
  t.same(
    github.requests.map((r) => r.headers['if-none-match'] !== undefined),
    [false, true],
    '...confirmed by a conditional GET at the storage host',
  )
  github.addAsset('k', 'SHA256SUMS', V2)
  clock.advance(SETTINGS.ttlMs)
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'], 'past its lifetime: served at once...')
  await store.settled()
  t.same(
    names(await store.get('k')),
    ['k-1-x86-64.raw', 'k-2-x86-64.raw'],
    '...while refreshed: a new upload is picked up',
  )
  t.equal(store.size, 1)
  t.ok(store.has('k'))
  t.notOk(store.has('other'))
})

t.test('garbage is refused and the last good copy kept; retried sooner', async (t) => {
  const { github, store, clock, warnings, fetches } = await rig(t)
  await store.get('k')
  github.addAsset('k', 'SHA256SUMS', V2.replaceAll('\n', '\r\n'))
  clock.advance(SETTINGS.ttlMs)
  t.same(
    names(await refreshed(store, 'k')),
    ['k-1-x86-64.raw'],
    'CRLF: refused, like sysupdate would',
  )
  t.match(warnings, [
    {
      details: { release: 'k', reason: /refused: .*control characters/ },
      message: /keeping the last good copy/,
    },
  ])
  clock.advance(SETTINGS.retryMs - 1)
  await store.get('k')
  t.equal(fetches(), 2, 'not asked again before the retry interval')
  github.addAsset('k', 'SHA256SUMS', V2)
  clock.advance(1)
  t.same(
    names(await refreshed(store, 'k')),
    ['k-1-x86-64.raw', 'k-2-x86-64.raw'],
    'fixed upstream: taken',
  )
  t.equal(fetches(), 3)
})

t.test('failures keep the last good copy until it is too old to trust', async (t) => {
  const { github, store, clock, warnings } = await rig(t)
  await store.get('k')
  github.fault({ kind: 'status', status: 502 })
  clock.advance(SETTINGS.ttlMs)
  t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw'])
  t.match(warnings.at(-1), { details: { reason: 'GitHub answered 502' } })
  clock.advance(SETTINGS.staleMaxMs - SETTINGS.ttlMs)
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'], 'still within INDEX_STALE_MAX')
  clock.advance(1)
  t.same(await store.get('k'), { state: 'unavailable', reason: 'GitHub answered 502' })
  github.fault(null)
  clock.advance(SETTINGS.retryMs)
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'], 'back once GitHub answers')
})

t.test('never fetched and failing: unavailable, with the reason', async (t) => {
  const { github, store, warnings } = await rig(t)
  github.fault({ kind: 'status', status: 503 })
  t.same(await store.get('k'), { state: 'unavailable', reason: 'GitHub answered 503' })
  t.match(warnings, [{ message: /no good copy/ }])
})

t.test('404: missing, remembered for the TTL', async (t) => {
  const { github, store, clock } = await rig(t)
  t.same(await store.get('nosuch'), { state: 'missing' })
  clock.advance(SETTINGS.ttlMs - 1)
  t.same(await store.get('nosuch'), { state: 'missing' })
  t.equal(github.count('GET', 'nosuch'), 1)
  github.addAsset('nosuch', 'SHA256SUMS', V1)
  clock.advance(1)
  t.same(names(await store.get('nosuch')), ['k-1-x86-64.raw'])
})

t.test('a 404 while re-uploading keeps the good copy; a lasting one is missing', async (t) => {
  const { github, store, clock, warnings } = await rig(t)
  await store.get('k')
  github.removeAsset('k', 'SHA256SUMS')
  clock.advance(SETTINGS.ttlMs)
  t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw'], 'briefly absent: kept')
  t.match(warnings.at(-1), { details: { reason: 'GitHub answered 404' } })
  clock.advance(SETTINGS.staleMaxMs)
  t.same(await store.get('k'), { state: 'missing' }, 'gone for longer than INDEX_STALE_MAX')
})

t.test('a 304 for a copy we never had is a failure', async (t) => {
  // A misbehaving storage host that answers every GET with 304.
  const server = createServer((req, res) => {
    res.writeHead(req.url?.startsWith('/storage') === true ? 304 : 302, { location: '/storage/x' })
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { store } = await rig(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  t.same(await store.get('k'), { state: 'unavailable', reason: '304 for a copy we do not hold' })
})

t.test('readers share one fetch', async (t) => {
  const { github, store, fetches } = await rig(t)
  github.fault({ kind: 'delay', ms: 50 })
  const all = await Promise.all([store.get('k'), store.get('k'), store.get('k')])
  t.equal(fetches(), 1)
  t.ok(all.every((s) => entriesOf(s) === entriesOf(all[0] as typeof s)))
})

t.test('invalidate: read again at once, the adopted copy served meanwhile', async (t) => {
  const { github, store, fetches } = await rig(t)
  await store.get('k')
  github.addAsset('k', 'SHA256SUMS', V2)
  t.equal(store.invalidate('k'), true)
  t.equal(store.invalidate('never-read'), false)
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'], 'the adopted copy, without a wait')
  await store.settled()
  t.same(
    names(await store.get('k')),
    ['k-1-x86-64.raw', 'k-2-x86-64.raw'],
    'then the new one, within the TTL',
  )
  t.equal(fetches(), 2)

  // An invalidation that arrives while a fetch is under way: that fetch may
  // have read the old bytes, so the release is read once more.
  github.fault({ kind: 'delay', ms: 100 })
  store.invalidate('k')
  await new Promise((resolve) => setTimeout(resolve, 20))
  github.addAsset('k', 'SHA256SUMS', V1)
  store.invalidate('k')
  await store.settled()
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'])
  t.equal(fetches(), 4)
})

t.test('retain forgets releases no longer wanted', async (t) => {
  const { store } = await rig(t)
  await store.get('k')
  await store.get('nosuch')
  store.retain((release) => release === 'k')
  t.ok(store.has('k'))
  t.notOk(store.has('nosuch'))
})

t.test('isStale: a copy whose last refresh failed; retain forgets invalidations too', async (t) => {
  const { github, store, clock } = await rig(t)
  t.notOk(store.isStale('k'), 'not tracked')
  await store.get('k')
  t.notOk(store.isStale('k'), 'fresh')
  github.fault({ kind: 'status', status: 502 })
  clock.advance(SETTINGS.ttlMs)
  await refreshed(store, 'k')
  t.ok(store.isStale('k'), 'kept after a failed refresh')
  t.same(await store.get('gone'), { state: 'unavailable', reason: 'GitHub answered 502' })
  t.notOk(store.isStale('gone'), 'failed with no good copy: unavailable, not stale')
  github.fault(null)
  t.ok(store.invalidate('k'))
  t.notOk(store.invalidate('never-read'), 'not tracked: nothing to invalidate')
  store.retain((release) => release === 'gone')
  t.notOk(store.has('k'))
  t.ok(store.has('gone'))
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'], 'read again from scratch')
})

t.test('the manifests held are bounded in bytes: the least recently read go first', async (t) => {
  const github = await startFakeGitHub({
    assets: { a: { SHA256SUMS: V2 }, b: { SHA256SUMS: V2 }, c: { SHA256SUMS: V2 } },
  })
  t.teardown(() => github.close())
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  const fetch = manifestFetcher({
    dispatcher,
    releases: releasesBase(github.url, 'flatcar/sysext-bakery'),
    timeoutMs: 2000,
    maxBytes: 4096,
  })
  // Room for two of these manifests, not three.
  const one = stateSize('a', {
    good: {
      entries: [
        { sha256: '', name: 'k-1-x86-64.raw' },
        { sha256: '', name: 'k-2-x86-64.raw' },
      ],
      validators: {},
      confirmedAt: 0,
      file: snapshotFile(Buffer.from(V2)),
      signatures: new Map(),
      rank: 0,
    },
    last: 'ok',
    reason: '',
  })
  t.equal(
    one,
    2 * 1 + 300 + 2 * (2 * 14 + 64 + 100) + V2.length,
    'two bytes a character, the objects around, and the bytes served',
  )
  const store = new ManifestStore(
    fetch,
    new TestClock(),
    { ...SETTINGS, cacheMaxBytes: 2 * one + 1 },
    {
      warn: () => undefined,
    },
  )
  for (const release of ['a', 'b', 'c']) await store.get(release)
  t.notOk(store.has('a'), 'the least recently read was dropped')
  t.ok(store.has('b') && store.has('c'))
})

t.test('a new copy is prepared before it is served; meanwhile, the copy before it', async (t) => {
  const { github, store, clock } = await rig(t)
  const prepared: { release: string; names: string[] }[] = []
  let release: () => void = () => {}
  store.prepareCopies(async (name, entries) => {
    prepared.push({ release: name, names: entries.map((entry) => entry.name) })
    if (prepared.length > 1) await new Promise<void>((resolve) => (release = resolve))
  })
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'])
  t.same(prepared, [{ release: 'k', names: ['k-1-x86-64.raw'] }], 'the first copy, before its read')
  github.addAsset('k', 'SHA256SUMS', V2)
  clock.advance(SETTINGS.ttlMs)
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'], 'expired: served at once')
  await waitUntil(() => prepared.length >= 2)
  t.equal(prepared.length, 2, 'the new copy is being prepared')
  t.same(names(await store.get('k')), ['k-1-x86-64.raw'], 'meanwhile: the copy before it')
  t.equal(store.now('k'), undefined, 'and nothing fresh from memory')
  release()
  await store.settled()
  t.same(names(await store.get('k')), ['k-1-x86-64.raw', 'k-2-x86-64.raw'], 'then the new one')
})

t.test('each refresh tells its outcome', async (t) => {
  const told: string[] = []
  const { github, store, clock } = await rig(t, undefined, {
    refreshed: (outcome) => void told.push(outcome),
  })
  await store.get('k')
  await store.get('nope')
  clock.advance(SETTINGS.ttlMs)
  await refreshed(store, 'k')
  github.fault({ kind: 'status', status: 500 })
  clock.advance(SETTINGS.ttlMs)
  await refreshed(store, 'k')
  t.same(told, ['fetched', 'missing', 'unchanged', 'failed'])
})

t.test('a revision is its manifest and its signatures, read together', async (t) => {
  const { github, store, clock, warnings } = await rig(t)
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  const real = assetFetcher({
    dispatcher,
    releases: releasesBase(github.url, 'flatcar/sysext-bakery'),
    timeoutMs: 2000,
    maxBytes: 4096,
  })
  let during: (() => void) | undefined
  const fetchAsset: AssetFetcher = async (release, asset, validators) => {
    const outcome = await real(release, asset, validators)
    during?.()
    return outcome
  }
  store.readRevisions({ fetchAsset, assetOf: () => 'SHA256SUMS', signatures: ['.gpg', '.asc'] })
  github.addAsset('k', 'SHA256SUMS.gpg', 'sig 1')
  const first = await store.get('k')
  t.match(first, { state: 'ok' })
  const signatures = first.state === 'ok' ? first.signatures : undefined
  t.equal(Buffer.from(signatures?.get('SHA256SUMS.gpg')?.bytes ?? []).toString(), 'sig 1')
  t.equal(signatures?.get('SHA256SUMS.asc'), null, 'one the origin does not have')

  // A signature replaced alone is a new revision too.
  github.addAsset('k', 'SHA256SUMS.gpg', 'sig 2')
  clock.advance(SETTINGS.ttlMs + 1)
  const resigned = await refreshed(store, 'k')
  const again = resigned.state === 'ok' ? resigned.signatures : undefined
  t.equal(Buffer.from(again?.get('SHA256SUMS.gpg')?.bytes ?? []).toString(), 'sig 2')

  // The bakery uploads a new manifest while its signatures are read: not adopted.
  during = () => {
    during = undefined
    github.addAsset('k', 'SHA256SUMS', V2)
  }
  github.addAsset('k', 'SHA256SUMS.gpg', 'sig 3')
  clock.advance(SETTINGS.ttlMs + 1)
  t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw'], 'the adopted revision stays')
  t.match(warnings.at(-1), {
    message: /keeping the last good copy/,
    details: { reason: 'the manifest changed while its signatures were read' },
  })

  // A signature that cannot be read: nothing new is adopted.
  github.fault({ kind: 'status', status: 500 }, (name) => name.endsWith('.asc'))
  clock.advance(SETTINGS.retryMs + 1)
  t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw'])
  t.match(warnings.at(-1), { details: { reason: 'signature SHA256SUMS.asc: GitHub answered 500' } })
  github.fault(null)
  clock.advance(SETTINGS.retryMs + 1)
  t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw', 'k-2-x86-64.raw'], 'then whole')
  t.match(store.now('k'), { state: 'ok' })
  // Nothing new: the manifest and each signature revalidated with a 304.
  const gets = github.count('GET')
  clock.advance(SETTINGS.ttlMs + 1)
  t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw', 'k-2-x86-64.raw'])
  t.equal(github.count('GET') - gets, 3, 'one conditional GET each, no re-read')
})

t.test(
  'a fleet’s newer revision is taken without GitHub; one that does not parse or verify is not',
  async (t) => {
    const { github, store, clock, fetches } = await rig(t)
    const offered: { release: string; rank: number }[] = []
    let fleet: SharedRevision | null = null
    store.shareAdoptions({
      read: async () => fleet,
      offer: (release, revision) => void offered.push({ release, rank: revision.rank }),
    })
    t.same(names(await store.get('k')), ['k-1-x86-64.raw'], 'none in the fleet: read from GitHub')
    t.equal(offered.length, 1, 'and offered to the fleet')
    const rank = offered[0]?.rank as number
    t.ok(rank > 0, 'ranked by its Last-Modified')
    fleet = { rank: rank + 1000, manifest: Buffer.from(V2), validators: {}, signatures: [] }
    clock.advance(SETTINGS.ttlMs + 1)
    const before = fetches()
    t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw', 'k-2-x86-64.raw'], 'the fleet’s')
    t.equal(fetches(), before, 'without asking GitHub')
    // Garbage from the fleet: read GitHub as alone.
    fleet = { rank: rank + 2000, manifest: Buffer.from('garbage'), validators: {}, signatures: [] }
    github.addAsset('k', 'SHA256SUMS', V1)
    clock.advance(SETTINGS.ttlMs + 1)
    t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw'], 'GitHub’s, the fleet’s ignored')
    t.ok(fetches() > before)
    // With keys, a fleet revision no signature of which verifies is not taken either.
    store.readRevisions({
      fetchAsset: async () => ({ kind: 'missing' }),
      assetOf: () => 'SHA256SUMS',
      signatures: ['.gpg'],
      verify: async (_manifest, signature) => Buffer.from(signature).toString() === 'good',
    })
    const signed = (signature: string, at: number): SharedRevision => ({
      rank: rank + at,
      manifest: Buffer.from(V2),
      validators: {},
      signatures: [{ name: 'SHA256SUMS.gpg', bytes: Buffer.from(signature), validators: {} }],
    })
    fleet = signed('bad', 10_000)
    clock.advance(SETTINGS.ttlMs + 1)
    t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw'], 'unverified: not taken')
    fleet = signed('good', 20_000)
    clock.advance(SETTINGS.ttlMs + 1)
    t.same(
      names(await refreshed(store, 'k')),
      ['k-1-x86-64.raw', 'k-2-x86-64.raw'],
      'verified: taken',
    )
  },
)

t.test('a release no longer kept is no longer held back either', async (t) => {
  const { github, store, clock } = await rig(t)
  // As the real admission: the first revision as it comes, later ones held back.
  store.admitWith(async (_release, _entries, adopted) =>
    adopted === undefined ? null : { reason: 'a new file is not at the origin yet', missing: [] },
  )
  await store.get('k')
  github.addAsset('k', 'SHA256SUMS', V2)
  clock.advance(SETTINGS.ttlMs + 1)
  t.same(names(await refreshed(store, 'k')), ['k-1-x86-64.raw'], 'held back')
  t.equal(store.heldBack('k'), 'a new file is not at the origin yet')
  store.retain((release) => release === 'k')
  t.equal(store.holds().length, 1, 'kept: still held back')
  store.retain(() => false)
  t.same(store.holds(), [], 'forgotten')
})
