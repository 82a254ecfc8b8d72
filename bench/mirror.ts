import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { runCommand } from '../src/cli.js'
import { bakeryAssets, BAKERY, imagesOf, ONLINE } from '../test/helpers/bakery.js'
import { testApp } from '../test/helpers/app.js'
import { startFakeGitHub, type FakeGitHub } from '../test/helpers/fake-github.js'
import { startNginx } from '../test/helpers/nginx.js'

/**
 * The mirror command and mirror origins over the test fixture (the bakery
 * of test/helpers/bakery.ts: 6 extensions, 19 images) on the fake GitHub:
 *
 *   node --import tsx bench/mirror.ts [REQUESTS]     (default 2000)
 *
 * 1. A first mirror run into an empty folder, then a second: time, and the
 *    requests GitHub got, by method.
 * 2. Answers during a GitHub outage: GitHub answers 500 to everything, the
 *    tree is served by nginx (deploy/mirror/nginx.conf) and named as
 *    BAKERY_MIRRORS; REQUESTS requests for the images, 16 at a time, through
 *    the service listening on 127.0.0.1: their statuses, where they lead,
 *    the requests GitHub and the mirror got, and the latency.
 */
const requests = Number(process.argv[2] ?? 2000)
const dir = await mkdtemp(join(tmpdir(), 'sysext-mirror-bench-'))
const github = await startFakeGitHub({ assets: bakeryAssets() })
try {
  const env = { ...ONLINE, GITHUB_URL: github.url }
  for (const run of ['first', 'second']) {
    github.clearRequests()
    const started = performance.now()
    const out: string[] = []
    const code = await runCommand(['mirror', dir, '--no-progress'], env, {
      out: (line) => out.push(line),
      err: (line) => out.push(line),
    })
    const ms = performance.now() - started
    if (code !== 0) throw new Error(out.join('\n'))
    console.log(`${run} mirror run: ${Math.round(ms)} ms, GitHub got ${counts(github)}`)
    console.log(`  ${out.join('\n  ')}`)
  }
  await outage(github, dir)
} finally {
  await github.close()
  await rm(dir, { recursive: true, force: true })
}

/** Requests GitHub got, by method, its storage host apart. */
function counts(fake: FakeGitHub): string {
  const by = new Map<string, number>()
  for (const { method, path } of fake.requests) {
    const key = path.startsWith('/storage/') ? `${method} (storage)` : method
    by.set(key, (by.get(key) ?? 0) + 1)
  }
  return [...by].map(([key, n]) => `${n} ${key}`).join(', ') || 'nothing'
}

async function outage(fake: FakeGitHub, tree: string): Promise<void> {
  const site = await readFile(new URL('../deploy/mirror/nginx.conf', import.meta.url), 'utf8')
  const nginx = await startNginx(site, tree)
  const base = `${nginx.url}/releases/bakery`
  const { app } = await testApp({
    ...ONLINE,
    GITHUB_URL: fake.url,
    BAKERY_MIRRORS: base,
    RATE_LIMIT_MAX: '0',
    LOG_LEVEL: 'silent',
  })
  try {
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    fake.fault({ kind: 'status', status: 500 })
    fake.clearRequests()
    const paths = Object.entries(BAKERY).flatMap(([ext, versions]) =>
      imagesOf(ext, versions).map((file) => `/extensions/${file}`),
    )
    const statuses = new Map<string, number>()
    const latencies: number[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < requests) {
        const path = paths[next++ % paths.length] as string
        const started = performance.now()
        const answer = await request(`${url}${path}`)
        await answer.body.dump()
        latencies.push(performance.now() - started)
        const location = String(answer.headers.location ?? '')
        const where = location.startsWith(base) ? 'the mirror' : location === '' ? 'none' : 'GitHub'
        const key = `${answer.statusCode} to ${where}`
        statuses.set(key, (statuses.get(key) ?? 0) + 1)
      }
    }
    const started = performance.now()
    await Promise.all(Array.from({ length: 16 }, worker))
    const seconds = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    const at = (q: number) =>
      (latencies[Math.floor(q * (latencies.length - 1))] as number).toFixed(2)
    const mirrorHeads = (await nginx.requests()).filter((line) => line.startsWith('HEAD ')).length
    console.log(
      `GitHub outage (500 to everything): ${requests} requests for ${paths.length} images in ${seconds.toFixed(2)} s`,
    )
    console.log(`  answers: ${[...statuses].map(([key, n]) => `${n} ${key}`).join(', ')}`)
    console.log(`  GitHub got ${counts(fake)}; the mirror got ${mirrorHeads} HEAD`)
    console.log(`  latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`)
  } finally {
    await app.close()
    await nginx.close()
  }
}
