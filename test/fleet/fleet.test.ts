import t, { type Test } from 'tap'
import { request } from 'undici'
import { bakeryAssets, ONLINE, publish } from '../helpers/bakery.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'
import { testApp } from '../helpers/app.js'
import {
  FLEET_IMAGES,
  FLEET_NEXT,
  FLEET_SPEC,
  FLEET_VERSIONS,
  loadPath,
  releaseDelivery,
  startFleet,
  type Fleet,
} from '../helpers/fleet.js'
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js'

// Three real servers, HAProxy and three apps on two cores: more than tap's 30 s when the machine is busy.
t.setTimeout(180_000)

/**
 * Three instances behind HAProxy, sharing a real redis-server, against the
 * fake GitHub: what a fleet does together (docs/operating.md, "Several instances").
 * The figures are printed as comments (`npx tap test/fleet/fleet.test.ts -R tap`).
 */

const SECRET = 'fleet secret'
const VERSIONS = FLEET_VERSIONS
const IMAGES = FLEET_IMAGES

interface Rig {
  readonly github: FakeGitHub
  readonly redis: RedisServer
  readonly fleet: Fleet
}

async function rig(t: Test, shared = true): Promise<Rig> {
  const github = await startFakeGitHub({ assets: bakeryAssets(FLEET_SPEC) })
  t.teardown(() => github.close())
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const fleet = await startFleet(t, 3, {
    GITHUB_URL: github.url,
    REDIS_URL: redis.url,
    SHARED_STATE: String(shared),
    GITHUB_WEBHOOK_SECRET: SECRET,
  })
  if (shared) await allSay(fleet, 1)
  return { github, redis, fleet }
}

/** Each instance's sysext_redirector_shared_store_up. */
async function storeUp(fleet: Fleet): Promise<(number | undefined)[]> {
  return Promise.all(
    fleet.instances.map(async (app) => {
      const metric = app.metrics.registry.getSingleMetric('sysext_redirector_shared_store_up')
      return (await metric?.get())?.values.find((value) => value.labels.store === 'redis')?.value
    }),
  )
}

/** Until every instance says the store is in use (1) or skipped (0). */
async function allSay(fleet: Fleet, up: 0 | 1, meanwhile = () => {}): Promise<void> {
  const deadline = performance.now() + 20_000
  while (!(await storeUp(fleet)).every((value) => value === up)) {
    if (performance.now() > deadline) throw new Error(`the fleet never said shared_store_up ${up}`)
    meanwhile()
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The fleet's shared-store reads of one kind, by result, summed over the instances. */
async function reads(fleet: Fleet, kind = 'check'): Promise<Record<string, number>> {
  const sums: Record<string, number> = {}
  for (const app of fleet.instances) {
    const metric = await app.metrics.registry
      .getSingleMetric('sysext_redirector_shared_reads_total')
      ?.get()
    for (const { labels, value } of metric?.values ?? []) {
      if (labels.kind === kind)
        sums[labels.result as string] = (sums[labels.result as string] ?? 0) + value
    }
  }
  return sums
}

/** Every path `times` times, all at once, through the load balancer: each answer's status and Location. */
async function burst(fleet: Fleet, paths: readonly string[], times: number) {
  const all = paths.flatMap((path) => Array<string>(times).fill(path))
  return Promise.all(
    all.map(async (path) => {
      const response = await fleet.pool.request({ method: 'GET', path })
      await response.body.dump()
      return { path, status: response.statusCode, location: response.headers.location }
    }),
  )
}

t.test('a cold burst over three instances: one upstream check per target', async (t) => {
  const { github, fleet } = await rig(t)
  const answers = await burst(fleet, IMAGES, 50)
  t.ok(
    answers.every((a) => a.status === 302),
    `${answers.length} requests, all redirected`,
  )
  const heads = github.count('HEAD')
  t.comment(
    `shared store: ${answers.length} requests for ${VERSIONS} targets: ${heads} HEADs; reads ${JSON.stringify(await reads(fleet))}`,
  )
  // A read the store did not answer in time (100 ms) asks alone: honest, and rare.
  const alone = (await reads(fleet)).alone ?? 0
  t.equal(heads - alone, VERSIONS, 'one HEAD per target for the whole fleet')
  t.ok(alone < VERSIONS / 4, `${alone} read(s) went alone`)
})

t.test('a new instance warms itself from the store', async (t) => {
  const { github, redis, fleet } = await rig(t)
  await burst(fleet, IMAGES, 3)
  const heads = github.count('HEAD')
  const { app } = await testApp({
    ...ONLINE,
    GITHUB_URL: github.url,
    REDIS_URL: redis.url,
    GITHUB_WEBHOOK_SECRET: SECRET,
  })
  t.teardown(() => app.close())
  const joined = { ...fleet, instances: [app] }
  await allSay(joined, 1)
  for (const path of IMAGES) t.equal((await app.inject({ url: path })).statusCode, 302)
  t.equal(github.count('HEAD'), heads, 'every answer came from the store: no HEAD')
  t.same(await reads(joined), { hit: VERSIONS, waited: 0, asked: 0, alone: 0 })
})

t.test('without the shared store, each instance checks for itself', async (t) => {
  const { github, fleet } = await rig(t, false)
  const answers = await burst(fleet, IMAGES, 50)
  t.ok(answers.every((a) => a.status === 302))
  const heads = github.count('HEAD')
  t.comment(`alone: ${answers.length} requests for ${VERSIONS} targets: ${heads} HEADs`)
  t.ok(heads > VERSIONS, 'more than one HEAD per target')
})

/** What one instance answers for the newest image. */
async function newest(url: string): Promise<string | undefined> {
  const response = await request(`${url}/extensions/kubernetes.raw`)
  await response.body.dump()
  return response.headers.location as string | undefined
}

t.test('a webhook at one instance takes effect on all of them', async (t) => {
  const { github, fleet } = await rig(t)
  const before = await Promise.all(fleet.urls.map(newest))
  t.ok(
    before.every((location) => location?.endsWith('/kubernetes-v1.30.19-x86-64.raw')),
    'each instance knows v1.30.19 as the newest',
  )
  publish(github, FLEET_NEXT)
  const { body, headers } = releaseDelivery(SECRET, 'kubernetes-v1.31.0')
  const started = performance.now()
  const delivered = await request(`${fleet.urls[0]}/hooks/github`, {
    method: 'POST',
    body,
    headers,
  })
  t.equal(delivered.statusCode, 200, await delivered.body.text())
  const updated = new Set<string>()
  while (updated.size < fleet.urls.length && performance.now() - started < 5_000) {
    for (const url of fleet.urls) {
      if ((await newest(url))?.endsWith('/kubernetes-v1.31.0-x86-64.raw')) updated.add(url)
    }
  }
  const ms = performance.now() - started
  t.equal(updated.size, 3, 'every instance serves the new version')
  t.comment(`webhook at one instance: all three serve the new version after ${ms.toFixed(0)} ms`)
  t.ok(ms < 1_000, 'within a second')
  // The extension's manifest was fetched once for the fleet before, and once after; more only
  // for a read the store could not serve (then counted as alone).
  const alone = (await reads(fleet, 'manifest')).alone ?? 0
  t.equal(github.count('GET', 'kubernetes', 'SHA256SUMS') - alone, 2, 'one fetch before, one after')
})

/** Requests from `workers` clients at once for `ms`: warm targets and ever new missing ones. */
async function load(fleet: Fleet, ms: number, workers: number) {
  const statuses = new Map<number, number>()
  let slowest = 0
  let count = 0
  const until = performance.now() + ms
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; performance.now() < until; i++) {
        const path = loadPath(worker, i)
        const started = performance.now()
        const response = await fleet.pool.request({ method: 'GET', path })
        await response.body.dump()
        slowest = Math.max(slowest, performance.now() - started)
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
        count++
      }
    }),
  )
  return { statuses: Object.fromEntries(statuses), slowest, count }
}

for (const fault of ['killed', 'frozen'] as const) {
  t.test(`Redis ${fault} under load: every instance goes on alone, then rejoins`, async (t) => {
    const { github, redis, fleet } = await rig(t)
    await burst(fleet, IMAGES, 3)
    const running = load(fleet, 3_000, 16)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    if (fault === 'killed') await redis.kill()
    else redis.pause()
    const result = await running
    t.comment(
      `Redis ${fault} after 1 s of 3 s: ${result.count} requests, ${JSON.stringify(result.statuses)}, slowest ${result.slowest.toFixed(0)} ms`,
    )
    t.same(Object.keys(result.statuses).sort(), ['302', '404'], 'nothing but the right answers')
    t.ok(result.slowest < 1_000, 'no request waited long on the store')
    t.same(await storeUp(fleet), [0, 0, 0], 'each instance says it goes on alone')
    if (fault === 'killed') await redis.restart()
    else redis.resume()
    // A frozen store is tried again after the breaker's pause; a killed one on reconnection.
    const cold = Array.from({ length: 5 }, (_, i) => `/extensions/kubernetes-v8.0.${i}-x86-64.raw`)
    // (a new target each time: one known in memory asks nothing of the store).
    let tries = 0
    await allSay(fleet, 1, () => {
      void burst(fleet, [`/extensions/kubernetes-v7.0.${tries++}-x86-64.raw`], 3)
    })
    const aloneBefore = (await reads(fleet)).alone ?? 0
    await burst(fleet, cold, 30)
    const alone = ((await reads(fleet)).alone ?? 0) - aloneBefore
    const heads = cold.reduce((sum, _, i) => {
      const tag = `kubernetes-v8.0.${i}`
      return sum + github.count('HEAD', tag, `${tag}-x86-64.raw`)
    }, 0)
    t.equal(heads - alone, 5, 'rejoined: one HEAD per new target for the fleet')
    t.ok(alone < 2, `${alone} read(s) went alone`)
  })
}
