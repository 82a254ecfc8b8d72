import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { Env } from '../../src/config/env.js'
import { entrySize } from '../../src/upstream/checks.js'
import { testApp } from '../helpers/app.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { releaseDelivery } from '../helpers/fleet.js'
import { startRedisServer } from '../helpers/redis-server.js'
import {
  ASSETS,
  IMAGE,
  INDEX,
  MISSING,
  requestLine,
  settle,
  setup,
  TestClock,
} from '../helpers/upstream.js'
import { waitUntil } from '../helpers/wait.js'

const HOUR = 3_600_000

t.test('1,000 concurrent requests for one cold target cause exactly one HEAD', async (t) => {
  const { github, app, events } = await setup(t)
  // Hold the answer back so every request surely arrives while the check runs.
  github.fault({ kind: 'delay', ms: 200 })
  const replies = await Promise.all(
    Array.from({ length: 1000 }, () => app.inject({ url: IMAGE.path })),
  )
  t.ok(
    replies.every((reply) => reply.statusCode === 302),
    'all redirected',
  )
  t.equal(github.count('HEAD', IMAGE.tag, IMAGE.name), 1)
  t.equal(github.requests.length, 1, 'nothing else was sent upstream')
  t.equal(events.checks.length, 1)
  t.equal(events.checks[0]?.outcome, 'exists')
  t.ok((events.checks[0]?.durationSeconds ?? 0) >= 0.15, 'the duration is in seconds')
  t.equal(events.caches.length, 1000, 'one cache event per lookup')
  t.ok(
    events.caches.every((result) => result === 'miss'),
    'all of them waited',
  )

  const missing = await Promise.all(
    Array.from({ length: 1000 }, () => app.inject({ method: 'HEAD', url: MISSING.path })),
  )
  t.ok(missing.every((reply) => reply.statusCode === 404))
  t.equal(github.count('HEAD', MISSING.tag, MISSING.name), 1, 'a missing target too')
})

t.test(
  'positive answers expire by cache class; expired ones are served while refreshed',
  async (t) => {
    const { github, app, checks, clock, events } = await setup(t, {
      CHECK_TTL_VERSIONED: '2h',
      CHECK_TTL_MUTABLE: '1m',
    })
    const heads = (target: { tag: string; name: string }): number =>
      github.count('HEAD', target.tag, target.name)
    for (const target of [IMAGE, INDEX]) {
      t.equal((await app.inject({ url: target.path })).statusCode, 302)
    }
    t.same([heads(IMAGE), heads(INDEX)], [1, 1])

    // Fresh while younger than the lifetime (RFC 9111): stale at exactly it.
    clock.advance(60_000 - 1)
    for (const target of [IMAGE, INDEX]) await app.inject({ url: target.path })
    t.same([heads(IMAGE), heads(INDEX)], [1, 1], 'both still fresh just before their lifetime')

    clock.advance(1)
    // The refresh hangs: the stale answer must still come at once.
    github.fault({ kind: 'hang' })
    events.caches.length = 0
    t.equal((await app.inject({ url: INDEX.path })).statusCode, 302, 'stale index served')
    t.equal((await app.inject({ url: INDEX.path })).statusCode, 302, 'and again')
    t.equal((await app.inject({ url: IMAGE.path })).statusCode, 302, 'image still fresh')
    t.same(events.caches, ['stale', 'stale', 'hit'])
    t.equal(checks.inFlight, 1, 'one background refresh, not one per request')
    github.fault(null)
    await settle(checks)
    t.same([heads(IMAGE), heads(INDEX)], [1, 2])
    events.caches.length = 0
    await app.inject({ url: INDEX.path })
    t.same(events.caches, ['hit'], 'the refresh is fresh again')

    clock.advance(2 * HOUR - 60_000 - 1)
    await app.inject({ url: IMAGE.path })
    t.equal(heads(IMAGE), 1, 'versioned: fresh just before its lifetime')
    clock.advance(1)
    t.equal((await app.inject({ url: IMAGE.path })).statusCode, 302)
    await settle(checks)
    t.equal(heads(IMAGE), 2, 'then refreshed')
  },
)

t.test('a newly published asset is served once the negative lifetime has passed', async (t) => {
  const { github, app, clock } = await setup(t, { CHECK_TTL_MISSING: '20s' })
  const status = async (): Promise<number> => (await app.inject({ url: MISSING.path })).statusCode
  t.equal(await status(), 404)
  github.addAsset(MISSING.tag, MISSING.name, 'new image')
  clock.advance(20_000 - 1)
  t.equal(await status(), 404, 'still the cached answer just before the lifetime')
  t.equal(github.count('HEAD'), 1)
  clock.advance(1)
  t.equal(await status(), 302, 'the first request after it waits for GitHub and is redirected')
  t.equal(github.count('HEAD'), 2)
})

t.test('an asset removed upstream turns into a 404 after one stale answer', async (t) => {
  const { github, app, checks, clock } = await setup(t)
  t.equal((await app.inject({ url: INDEX.path })).statusCode, 302)
  github.removeAsset(INDEX.tag, INDEX.name)
  clock.advance(60_001)
  t.equal((await app.inject({ url: INDEX.path })).statusCode, 302, 'stale while revalidating')
  await settle(checks)
  t.equal((await app.inject({ url: INDEX.path })).statusCode, 404)
})

t.test('while GitHub fails, the last known answer stays', async (t) => {
  const failures: [string, (s: Awaited<ReturnType<typeof setup>>) => Promise<void> | void][] = [
    ['answers 500', (s) => s.github.fault({ kind: 'status', status: 500 })],
    ['resets connections', (s) => s.github.fault({ kind: 'reset' })],
    ['refuses connections', (s) => s.github.refuse()],
  ]
  for (const [name, fail] of failures) {
    await t.test(name, async (t) => {
      const s = await setup(t, { CHECK_TTL_UNKNOWN: '10s' })
      const { app, checks, clock, events } = s
      t.equal((await app.inject({ url: IMAGE.path })).statusCode, 302)
      t.equal((await app.inject({ url: MISSING.path })).statusCode, 404)
      await fail(s)
      clock.advance(25 * HOUR)

      t.equal((await app.inject({ url: IMAGE.path })).statusCode, 302, 'stale exists: served')
      t.equal((await app.inject({ url: MISSING.path })).statusCode, 404, 'stale missing: still 404')
      await settle(checks)
      t.same(
        events.checks.map((c) => c.outcome),
        ['exists', 'missing', 'unknown', 'unknown'],
        'one failed check each',
      )

      // GitHub is not asked again for CHECK_TTL_UNKNOWN.
      for (let i = 0; i < 20; i++) {
        t.equal((await app.inject({ url: IMAGE.path })).statusCode, 302)
        t.equal((await app.inject({ url: MISSING.path })).statusCode, 404)
      }
      t.equal(events.checks.length, 4, 'no retries during the back-off')
      clock.advance(10_001)
      t.equal((await app.inject({ url: IMAGE.path })).statusCode, 302)
      t.equal((await app.inject({ url: MISSING.path })).statusCode, 404)
      await settle(checks)
      t.equal(events.checks.length, 6, 'then one retry each')
    })
  }
})

t.test('a hanging upstream costs at most the timeout and never piles up requests', async (t) => {
  const { github, app, checks, clock, logs, events } = await setup(t, {
    UPSTREAM_CONNECT_TIMEOUT: '200ms',
    UPSTREAM_TIMEOUT: '300ms',
  })
  github.fault({ kind: 'hang' })
  const started = performance.now()
  const replies = await Promise.all(
    Array.from({ length: 50 }, () => app.inject({ url: IMAGE.path })),
  )
  const elapsed = performance.now() - started
  t.ok(
    replies.every((reply) => reply.statusCode === 302),
    'failed open',
  )
  t.ok(elapsed >= 250 && elapsed < 2000, `all answered after ${Math.round(elapsed)} ms`)
  t.equal(github.count('HEAD'), 1, 'one HEAD for 50 requests')
  t.match(
    logs.find((line) => line.msg === 'upstream check got no answer'),
    { level: 40, release: IMAGE.tag, asset: IMAGE.name, upstream: 'upstream check timed out' },
  )

  events.caches.length = 0
  await Promise.all(Array.from({ length: 50 }, () => app.inject({ url: IMAGE.path })))
  t.ok(
    events.caches.length === 50 && events.caches.every((result) => result === 'hit'),
    'within CHECK_TTL_UNKNOWN nobody waits: the "unknown" is remembered',
  )
  t.equal(github.count('HEAD'), 1, 'and nothing is sent')

  clock.advance(5001)
  await Promise.all(Array.from({ length: 50 }, () => app.inject({ url: IMAGE.path })))
  t.equal(github.count('HEAD'), 2, 'then one more HEAD')
  t.equal(checks.inFlight, 0)
})

t.test('the cache never exceeds its bound', async (t) => {
  const { github, app, checks } = await setup(t, { CHECK_CACHE_MAX: '5' })
  const path = (i: number): string => `/extensions/kubernetes-v1.0.${i}-x86-64.raw`
  for (let i = 0; i < 30; i++) {
    t.equal((await app.inject({ url: path(i) })).statusCode, 404)
    t.ok(checks.size <= 5, `size ${checks.size} after ${i + 1} targets`)
  }
  t.equal(checks.size, 5)
  t.equal(github.count('HEAD'), 30)
  await app.inject({ url: path(29) })
  t.equal(github.count('HEAD'), 30, 'a recent target is still cached')
  await app.inject({ url: path(0) })
  t.equal(github.count('HEAD'), 31, 'the least recently used was dropped')
})

t.test('invented long names cannot fill memory: the cache is bounded in bytes', async (t) => {
  // Issue 15, finding 7: 12,000 invented names of about 3 KB each held 208 MB.
  const { app, checks } = await setup(t, { CHECK_CACHE_MAX_BYTES: '1048576' })
  // 200 entries of about 18 KB each: three times the budget, so it must have dropped some.
  const long = 'v1.' + '7'.repeat(3000)
  const statuses = new Set<number>()
  for (let i = 0; i < 200; i++) {
    const url = `/extensions/kubernetes-${long}${i}-x86-64.raw`
    statuses.add((await app.inject({ url })).statusCode)
  }
  t.same([...statuses], [404], 'each one missing')
  // Each entry holds its URL and both names: at least three copies of the name.
  const atLeast = checks.size * 3 * 3000
  t.ok(atLeast <= 1024 * 1024, `${checks.size} entries, at least ${atLeast} bytes of names`)
  t.ok(checks.bytes <= 1024 * 1024, `estimated ${checks.bytes} bytes held`)
  t.ok(checks.size >= 10, 'and still some held')
  t.same(
    entrySize('https://x/y', {
      answer: 'exists',
      mirror: null,
      github: null,
      release: 'r',
      asset: 'a',
      source: 'bakery',
    }),
    2 * (11 + 1 + 1) + 200,
    'the estimate: two bytes a character and 200 for the objects',
  )
})

t.test('invalidate drops entries so the next lookup asks GitHub', async (t) => {
  const { github, app, checks } = await setup(t)
  for (const target of [IMAGE, INDEX, MISSING]) await app.inject({ url: target.path })
  await app.inject({ url: '/extensions/kubernetes.conf' })
  t.equal(checks.size, 4)
  github.addAsset(MISSING.tag, MISSING.name, 'published')

  t.equal(checks.invalidate(MISSING.tag), 1, 'by release tag')
  t.equal((await app.inject({ url: MISSING.path })).statusCode, 302, 'asked again: found')
  t.equal(github.count('HEAD', MISSING.tag), 2)

  t.equal(checks.invalidate('no-such-tag'), 0)
  t.equal(
    checks.invalidate((release, asset) => release === 'kubernetes' && asset === 'SHA256SUMS'),
    1,
    'by filter',
  )
  t.equal(checks.size, 3)
  t.equal(checks.invalidate(), 3, 'everything')
  t.equal(checks.size, 0)
  await app.inject({ url: IMAGE.path })
  t.equal(github.count('HEAD', IMAGE.tag), 2)
})

t.test(
  'a check in flight when invalidated answers its waiters but is not remembered',
  async (t) => {
    const { github, app, checks, logs } = await setup(t, {
      UPSTREAM_CONNECT_TIMEOUT: '100ms',
      UPSTREAM_TIMEOUT: '300ms',
    })
    github.fault({ kind: 'hang' })
    const waiting = app.inject({ url: MISSING.path })
    await waitUntil(() => github.count('HEAD') > 0, 2)
    t.equal(checks.inFlight, 1)
    // Published while the first check hangs: the invalidation says so.
    github.addAsset(MISSING.tag, MISSING.name, 'published')
    t.equal(checks.invalidate(MISSING.tag), 0, 'nothing cached yet')
    t.equal(checks.inFlight, 0, 'the old check is no longer shared')
    github.fault(null)
    t.equal((await app.inject({ url: MISSING.path })).statusCode, 302, 'a new lookup asks again')
    t.equal(github.count('HEAD'), 2)
    t.equal(
      (await waiting).statusCode,
      302,
      'the old waiter gets its own answer (unknown: fail open)',
    )
    t.same(
      logs.filter((l) => l.msg === 'request').map((l) => l.upstream),
      ['exists', 'unknown'],
      'the new lookup found it; the old check timed out',
    )
    await app.inject({ url: MISSING.path })
    t.equal(
      requestLine(logs, MISSING.path).upstream,
      'exists',
      'its unknown did not replace the new answer',
    )
    t.equal(github.count('HEAD'), 2)
  },
)

t.test('answerNow: what lookupNow would answer at once, changing nothing', async (t) => {
  const { github, checks, clock, events } = await setup(t, { CHECK_TTL_MISSING: '30s' })
  const targetOf = (asset: typeof IMAGE) => ({
    source: 'bakery',
    release: asset.tag,
    asset: asset.name,
    location: `${github.url}/flatcar/sysext-bakery/releases/download/${asset.tag}/${asset.name}`,
    cache: 'versioned' as const,
  })
  const image = targetOf(IMAGE)
  const missing = targetOf(MISSING)
  t.equal(checks.answerNow(image), undefined, 'nothing known: it would wait')
  await checks.lookupNow(image)
  await checks.lookupNow(missing)
  const counted = events.caches.length
  t.equal(checks.answerNow(image)?.answer, 'exists')
  t.equal(checks.answerNow(missing)?.answer, 'missing')
  clock.advance(31_000)
  t.equal(checks.answerNow(missing), undefined, 'an expired "missing" waits for GitHub')
  clock.advance(48 * HOUR)
  t.equal(
    checks.answerNow(image)?.answer,
    'exists',
    'an expired "exists" is served while refreshed',
  )
  t.equal(events.caches.length, counted, 'nothing counted')
})

/** Two instances sharing a real redis-server, against one fake GitHub, each with a clock held still. */
async function sharedPair(t: Test, env: Env = {}) {
  const github = await startFakeGitHub({ assets: ASSETS })
  t.teardown(() => github.close())
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const instance = async () => {
    const built = await testApp(
      { GITHUB_URL: github.url, UPSTREAM_CHECKS: 'true', REDIS_URL: redis.url, ...env },
      { clock: new TestClock() },
    )
    t.teardown(() => built.app.close())
    const deadline = Date.now() + 10_000
    while (!built.logs.some((line) => line.msg === 'shared store connected: answers are shared')) {
      if (Date.now() > deadline) throw new Error('the instance never connected to the store')
      await sleep(20)
    }
    return built
  }
  return { github, redis, a: await instance(), b: await instance() }
}

t.test('shared: an answer held back by one instance is not the fleet’s', async (t) => {
  // One check a second on clocks that do not move: A's second target is held back.
  const { github, a, b } = await sharedPair(t, { UPSTREAM_CHECKS_PER_SECOND: '1' })
  t.equal((await a.app.inject({ url: IMAGE.path })).statusCode, 302)
  t.equal((await a.app.inject({ url: INDEX.path })).statusCode, 302, 'held back: fail open')
  t.equal(requestLine(a.logs, INDEX.path).upstream, 'unknown')
  t.equal(github.count('HEAD', INDEX.tag, INDEX.name), 0, 'A did not ask GitHub')
  t.equal((await b.app.inject({ url: INDEX.path })).statusCode, 302)
  t.equal(requestLine(b.logs, INDEX.path).upstream, 'exists', 'B asked for itself')
  t.equal(github.count('HEAD', INDEX.tag, INDEX.name), 1)
  t.equal((await b.app.inject({ url: IMAGE.path })).statusCode, 302)
  t.equal(github.count('HEAD', IMAGE.tag, IMAGE.name), 1, 'what A did ask is shared')
})

t.test('shared: a stored answer this version cannot read counts as unknown', async (t) => {
  const { github, redis, a, b } = await sharedPair(t)
  t.equal((await a.app.inject({ url: MISSING.path })).statusCode, 404)
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const keys = (await client.keys('*:check:*')).filter((key) => key.includes(MISSING.name))
  t.equal(keys.length, 1, 'one answer saved')
  // As a later version might write it.
  await client.set(keys[0] as string, 'missing-for-now', 'KEEPTTL')
  t.equal((await b.app.inject({ url: MISSING.path })).statusCode, 302, 'unknown: fail open')
  t.equal(requestLine(b.logs, MISSING.path).upstream, 'unknown')
  t.equal(github.count('HEAD'), 1, 'read from the store, not asked again')
})

t.test(
  'shared: with the manifest index off, a webhook at one instance retires checks on all',
  async (t) => {
    const secret = 'pair secret'
    const { github, a, b } = await sharedPair(t, { GITHUB_WEBHOOK_SECRET: secret })
    t.equal((await a.app.inject({ url: MISSING.path })).statusCode, 404)
    t.equal((await b.app.inject({ url: MISSING.path })).statusCode, 404)
    t.equal(github.count('HEAD'), 1, 'B read A’s answer')
    github.addAsset(MISSING.tag, MISSING.name, 'published')
    const { body, headers } = releaseDelivery(secret, MISSING.tag)
    t.equal(
      (await a.app.inject({ method: 'POST', url: '/hooks/github', body, headers })).statusCode,
      200,
    )
    const deadline = Date.now() + 5_000
    while ((await b.app.inject({ url: MISSING.path })).statusCode !== 302) {
      if (Date.now() > deadline) throw new Error('B never heard of the release')
      await sleep(10)
    }
    t.equal((await a.app.inject({ url: MISSING.path })).statusCode, 302, 'A too')
    t.equal(github.count('HEAD'), 2, 'asked once more, for both')
  },
)
