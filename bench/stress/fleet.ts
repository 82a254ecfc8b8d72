import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { startService, type Service } from '../../test/e2e/helpers/service.js'
import { bakeryAssets, publish } from '../../test/helpers/bakery.js'
import { startFakeGitHub } from '../../test/helpers/fake-github.js'
import {
  FLEET_IMAGES,
  FLEET_NEXT,
  FLEET_SPEC,
  freePort,
  loadPath,
  releaseDelivery,
  startHaproxy,
} from '../../test/helpers/fleet.js'
import { startRedisServer } from '../../test/helpers/redis-server.js'

/*
 * Issue 16: three service processes behind HAProxy, sharing a redis-server,
 * against the fake GitHub (all on 127.0.0.1). What test/fleet/fleet.test.ts
 * proves with in-process instances, here with one process each:
 *
 * 1. a cold burst of 1,000 requests for 20 images spread over the three:
 *    upstream checks (HEADs), with the store and without it;
 * 2. a webhook delivered to one instance: the time until all three serve the
 *    new version;
 * 3. Redis killed, then frozen, one second into three seconds of load from 16
 *    clients: the answers, the slowest and the 99th percentile, then the
 *    HEADs for new targets once Redis is back.
 *
 *   node --import tsx bench/stress/fleet.ts          (prints one JSON line per part)
 */

const SECRET = 'fleet'
const IMAGES = FLEET_IMAGES

const github = await startFakeGitHub({ assets: bakeryAssets(FLEET_SPEC) })
const redis = await startRedisServer()
const stops: (() => Promise<void>)[] = [() => github.close(), () => redis.close()]

interface Instance {
  readonly service: Service
  readonly metrics: string
}

async function fleet(shared: boolean): Promise<{ instances: Instance[]; pool: Pool }> {
  const instances: Instance[] = []
  for (let i = 0; i < 3; i++) {
    const metricsPort = await freePort()
    const service = await startService({
      githubUrl: github.url,
      repo: github.repo,
      env: {
        UPSTREAM_CHECKS: 'true',
        MANIFEST_INDEX: 'true',
        RATE_LIMIT_MAX: '0',
        // Invented names are half the load: a budget of 50 checks a second would answer most
        // of them unchecked (UPSTREAM_FAIL_MODE) and hide what the store does.
        UPSTREAM_CHECKS_PER_SECOND: '100000',
        REDIS_URL: redis.url,
        SHARED_STATE: String(shared),
        GITHUB_WEBHOOK_SECRET: SECRET,
        METRICS_PORT: String(metricsPort),
      },
      log: new LogFile(`/tmp/fleet-${shared ? 'shared' : 'alone'}-${i}.log`),
    })
    stops.push(() => service.stop())
    instances.push({ service, metrics: `http://127.0.0.1:${metricsPort}/metrics` })
  }
  const balancer = await startHaproxy(instances.map((each) => each.service.url))
  const pool = new Pool(balancer.url, { connections: 32 })
  stops.push(
    () => balancer.stop(),
    () => pool.close(),
  )
  if (shared) await until(async () => (await storeUp(instances)).every((up) => up === 1))
  return { instances, pool }
}

async function storeUp(instances: readonly Instance[]): Promise<number[]> {
  return Promise.all(
    instances.map(async ({ metrics }) => {
      const text = await (await fetch(metrics)).text()
      return Number(/^sysext_redirector_shared_store_up\{[^}]*\} (\d)/m.exec(text)?.[1] ?? -1)
    }),
  )
}

async function until(done: () => Promise<boolean>, tick = async () => {}): Promise<void> {
  const deadline = performance.now() + 30_000
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error('timed out')
    await tick()
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function get(pool: Pool, path: string): Promise<number> {
  const response = await pool.request({ method: 'GET', path })
  await response.body.dump()
  return response.statusCode
}

async function coldBurst(shared: boolean): Promise<void> {
  const { pool } = await fleet(shared)
  github.clearRequests()
  await Promise.all(IMAGES.flatMap((path) => Array.from({ length: 50 }, () => get(pool, path))))
  const heads = github.count('HEAD')
  console.log(JSON.stringify({ part: 'cold burst', shared, requests: 1000, targets: 20, heads }))
  await stopAll()
}

async function webhook(): Promise<void> {
  const { instances } = await fleet(true)
  const newest = async (url: string) => {
    const response = await fetch(`${url}/extensions/kubernetes.raw`, { redirect: 'manual' })
    await response.arrayBuffer()
    return response.headers.get('location') ?? ''
  }
  for (const { service } of instances) await newest(service.url)
  publish(github, FLEET_NEXT)
  const { body, headers } = releaseDelivery(SECRET, 'kubernetes-v1.31.0')
  const started = performance.now()
  const url = instances[0]?.service.url as string
  await (await fetch(`${url}/hooks/github`, { method: 'POST', body, headers })).arrayBuffer()
  const seen = new Map<string, number>()
  await until(async () => {
    for (const { service } of instances) {
      if (!seen.has(service.url) && (await newest(service.url)).includes('v1.31.0')) {
        seen.set(service.url, Math.round(performance.now() - started))
      }
    }
    return seen.size === 3
  })
  console.log(JSON.stringify({ part: 'webhook at one instance', msUntilEach: [...seen.values()] }))
  await stopAll()
}

async function fault(kind: 'killed' | 'frozen'): Promise<void> {
  const { instances, pool } = await fleet(true)
  await Promise.all(IMAGES.map((path) => get(pool, path)))
  const times: number[] = []
  const statuses: Record<number, number> = {}
  const load = async (worker: number) => {
    const end = performance.now() + 3_000
    for (let i = 0; performance.now() < end; i++) {
      const path = loadPath(worker, i)
      const started = performance.now()
      const status = await get(pool, path)
      times.push(performance.now() - started)
      statuses[status] = (statuses[status] ?? 0) + 1
    }
  }
  const running = Promise.all(Array.from({ length: 16 }, (_, worker) => load(worker)))
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  if (kind === 'killed') await redis.kill()
  else redis.pause()
  await running
  const upDuring = await storeUp(instances)
  const back = performance.now()
  if (kind === 'killed') await redis.restart()
  else redis.resume()
  let tries = 0
  await until(
    async () => (await storeUp(instances)).every((up) => up === 1),
    async () => void (await get(pool, `/extensions/kubernetes-v7.0.${tries++}-x86-64.raw`)),
  )
  const rejoinedMs = Math.round(performance.now() - back)
  const before = github.count('HEAD')
  // New to this part: the store outlives the fleets of the parts before.
  const part = kind === 'killed' ? 0 : 1
  const fresh = Array.from(
    { length: 5 },
    (_, i) => `/extensions/kubernetes-v8.${part}.${i}-x86-64.raw`,
  )
  await Promise.all(fresh.flatMap((path) => Array.from({ length: 30 }, () => get(pool, path))))
  times.sort((a, b) => a - b)
  const at = (q: number) => Math.round(times[Math.floor(q * (times.length - 1))] ?? 0)
  console.log(
    JSON.stringify({
      part: `redis ${kind} under load`,
      requests: times.length,
      statuses,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: at(1),
      storeUpDuring: upDuring,
      rejoinedMs,
      headsFor5NewTargetsAfter: github.count('HEAD') - before,
    }),
  )
  await stopAll()
}

async function stopAll(): Promise<void> {
  for (const stop of stops.splice(2).reverse()) await stop()
}

try {
  await coldBurst(true)
  await coldBurst(false)
  await webhook()
  await fault('killed')
  await fault('frozen')
} finally {
  for (const stop of stops.reverse()) await stop()
}
