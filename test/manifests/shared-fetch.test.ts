import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { Agent } from 'undici'
import {
  manifestFetcher,
  type FetchOutcome,
  type ManifestFetcher,
} from '../../src/manifests/fetch.js'
import {
  parseAnswer,
  sameCopy,
  sharedFetcher,
  splitData,
  withValidators,
} from '../../src/manifests/shared-fetch.js'
import { SharedStore, type SharedKind, type SharedResult } from '../../src/fleet/store.js'
import { releasesBase } from '../../src/table/resolve.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { startRedisServer, storeConnection, type RedisServer } from '../helpers/redis-server.js'
import { waitUntil } from '../helpers/wait.js'

const SUMS = `${'a'.repeat(64)}  k-1-x86-64.raw\n`
// Releases under their own names in the store (the app qualifies them with their source).
const KEY_OF = (release: string): string => release
const SETTINGS = { ttlMs: 60_000, retryMs: 5_000, staleMaxMs: 600_000, fetchTimeoutMs: 2_000 }
const PREFIX = 'test:'

interface Instance {
  readonly fetch: ManifestFetcher
  readonly results: string[]
}

/** One instance's manifest fetches through the shared store, to the fake GitHub. */
async function instance(t: Test, redis: RedisServer, github: FakeGitHub): Promise<Instance> {
  const results: string[] = []
  const events = {
    read: (kind: SharedKind, result: SharedResult) => results.push(`${kind}:${result}`),
    available: () => undefined,
    invalidation: () => undefined,
  }
  const logs: string[] = []
  const log = { info: (_: object, line: string) => logs.push(line), warn: () => undefined }
  const connection = storeConnection(redis.url)
  const store = new SharedStore({ connection, prefix: PREFIX, clock: performance, log, events })
  t.teardown(() => store.close())
  await waitUntil(() => logs.includes('shared store connected: answers are shared'))
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  const own = manifestFetcher({
    dispatcher,
    releases: releasesBase(github.url, github.repo),
    timeoutMs: 2_000,
    maxBytes: 1024,
  })
  return { fetch: sharedFetcher(own, store, SETTINGS, KEY_OF), results }
}

async function rig(t: Test) {
  const github = await startFakeGitHub({ assets: { k: { SHA256SUMS: SUMS } } })
  t.teardown(() => github.close())
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  return { github, redis, client }
}

const bytes = (outcome: FetchOutcome): string =>
  outcome.kind === 'body' ? Buffer.from(outcome.bytes).toString() : outcome.kind

t.test('one instance downloads; the others take the bytes, or nothing new', async (t) => {
  const { github, redis } = await rig(t)
  const [a, b, c] = [
    await instance(t, redis, github),
    await instance(t, redis, github),
    await instance(t, redis, github),
  ]
  const first = await a.fetch('k')
  t.equal(bytes(first), SUMS)
  t.equal(first.freshForMs, undefined, 'asked here: the index’s own lifetime')
  const second = await b.fetch('k')
  t.equal(bytes(second), SUMS, 'a new instance gets the bytes from the store')
  t.ok((second.freshForMs as number) > 50_000, 'fresh for what the fleet’s copy has left')
  const validators = first.kind === 'body' ? first.validators : {}
  t.match(await c.fetch('k', validators), { kind: 'not-modified' }, 'same copy: nothing to read')
  t.equal(github.count('GET', 'k', 'SHA256SUMS'), 1, 'GitHub was asked once')
  t.same(
    [a.results, b.results, c.results],
    [['manifest:asked'], ['manifest:hit'], ['manifest:hit']],
  )
})

t.test('a 304 to the asker is shared: the bytes from before still serve', async (t) => {
  const { github, redis, client } = await rig(t)
  const [a, b] = [await instance(t, redis, github), await instance(t, redis, github)]
  const first = await a.fetch('k')
  const validators = first.kind === 'body' ? first.validators : {}
  await client.incr(`${PREFIX}gen:k`)
  t.match(await a.fetch('k', validators), { kind: 'not-modified' }, 'asked again: 304')
  t.equal(bytes(await b.fetch('k')), SUMS, 'the other instance reads the bytes kept')
  t.equal(github.count('GET', 'k', 'SHA256SUMS'), 2)
})

t.test('bytes gone from the store: the instance asks GitHub alone', async (t) => {
  const { github, redis, client } = await rig(t)
  const [a, b] = [await instance(t, redis, github), await instance(t, redis, github)]
  await a.fetch('k')
  await client.del(`${PREFIX}manifest-data:k`)
  t.equal(bytes(await b.fetch('k')), SUMS)
  t.same(b.results, ['manifest:alone'])
  t.equal(github.count('GET', 'k', 'SHA256SUMS'), 2)
})

t.test('an answer this version cannot read: asked alone', async (t) => {
  const { github, redis, client } = await rig(t)
  const b = await instance(t, redis, github)
  await client.set(`${PREFIX}manifest:k:SHA256SUMS:0`, 'from a future version', 'PX', 60_000)
  t.equal(bytes(await b.fetch('k')), SUMS)
  t.same(b.results, ['manifest:alone'])
})

t.test('a 404 and a failure are shared too; one held back here is not', async (t) => {
  const { github, redis } = await rig(t)
  const [a, b] = [await instance(t, redis, github), await instance(t, redis, github)]
  t.match(await a.fetch('gone'), { kind: 'missing' })
  t.match(await b.fetch('gone'), { kind: 'missing', freshForMs: Number })
  github.fault({ kind: 'status', status: 500 })
  t.match(await a.fetch('k'), { kind: 'failed', reason: 'GitHub answered 500' })
  const failed = await b.fetch('k')
  t.match(failed, { kind: 'failed', reason: 'GitHub answered 500' }, 'learnt once for the fleet')
  t.ok((failed.freshForMs as number) <= SETTINGS.retryMs, 'until GitHub is asked again')
  t.equal(github.count('GET', 'k', 'SHA256SUMS'), 1)
  github.fault(null)

  const held: ManifestFetcher = async () => ({ kind: 'failed', reason: 'wait', held: true })
  const { fetch: heldFetch } = { fetch: sharedFetcher(held, storeOf(t, redis), SETTINGS, KEY_OF) }
  t.match(await heldFetch('other'), { kind: 'failed', held: true })
  t.equal(bytes(await b.fetch('other')), 'missing', 'not shared: the next instance asks itself')
})

function storeOf(t: Test, redis: RedisServer): SharedStore {
  const quiet = { info: () => undefined, warn: () => undefined }
  const events = {
    read: () => undefined,
    available: () => undefined,
    invalidation: () => undefined,
  }
  const store = new SharedStore({
    connection: storeConnection(redis.url),
    prefix: PREFIX,
    clock: performance,
    log: quiet,
    events,
  })
  t.teardown(() => store.close())
  return store
}

t.test('what the store holds, read strictly', async (t) => {
  t.same(parseAnswer(Buffer.from('{"kind":"copy","etag":"x"}')), { kind: 'copy', etag: 'x' })
  t.same(parseAnswer(Buffer.from('{"kind":"missing"}')), { kind: 'missing' })
  t.same(parseAnswer(Buffer.from('{"kind":"failed","reason":"r"}')), {
    kind: 'failed',
    reason: 'r',
  })
  for (const bad of ['{"kind":"failed"}', '{"kind":"other"}', '[1]', 'null', 'not json', '7']) {
    t.equal(parseAnswer(Buffer.from(bad)), null, bad)
  }
  const data = withValidators({ etag: '"e"' }, Buffer.from('a\nb'))
  t.same(splitData(data), { validators: { etag: '"e"' }, bytes: Buffer.from('a\nb') })
  t.equal(splitData(null), null)
  t.equal(splitData(Buffer.from('no newline')), null)
  t.equal(splitData(Buffer.from('nope\nbytes')), null)
  t.ok(sameCopy({ etag: 'e' }, { etag: 'e', lastModified: 'x' }), 'an ETag decides')
  t.notOk(sameCopy({ etag: 'e' }, { etag: 'f' }))
  t.ok(sameCopy({ lastModified: 'd' }, { lastModified: 'd' }), 'else the date')
  t.notOk(sameCopy({ lastModified: 'd' }, { lastModified: 'e' }))
  t.notOk(sameCopy({}, {}), 'without either, never the same')
  t.notOk(sameCopy({ etag: 'e' }, undefined), 'no copy held')
})
