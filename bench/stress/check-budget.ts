import { Agent, request } from 'undici'
import { LogFile } from '../../test/e2e/helpers/artifacts.js'
import { startService } from '../../test/e2e/helpers/service.js'
import { bakeryAssets, BAKERY, imagesOf } from '../../test/helpers/bakery.js'
import { startFakeGitHub } from '../../test/helpers/fake-github.js'

/*
 * Issue 29, finding 1: one client (127.0.0.2) asks for an invented image name
 * RATE times a second, within its rate limit, for SECONDS seconds; meanwhile
 * other clients (127.0.0.3 and up, one each) ask for a real image that
 * nobody has asked for yet, spread over the same seconds. With
 * UPSTREAM_FAIL_MODE=closed, a real image is confirmed (302) or refused
 * (503) by what is left of the check budget. Prints how many of each.
 *
 *   node --import tsx bench/stress/check-budget.ts [RATE] [SECONDS]   (default 90 10)
 */

const rate = Number(process.argv[2] ?? 90)
const seconds = Number(process.argv[3] ?? 10)

const github = await startFakeGitHub({ assets: bakeryAssets() })
const service = await startService({
  githubUrl: github.url,
  repo: github.repo,
  env: { UPSTREAM_FAIL_MODE: 'closed' },
  log: new LogFile('/tmp/check-budget.log'),
})
const agents: Agent[] = []
/** A client of its own: connections from its own loopback address. */
function clientAt(address: string): (path: string) => Promise<number> {
  const agent = new Agent({ localAddress: address })
  agents.push(agent)
  return async (path) => {
    const res = await request(`${service.url}${path}`, { dispatcher: agent })
    await res.body.dump()
    return res.statusCode
  }
}

try {
  const real = Object.entries(BAKERY).flatMap(([ext, versions]) => imagesOf(ext, versions))
  const inventor = clientAt('127.0.0.2')
  const inventorStatuses = new Map<number, number>()
  const realStatuses = new Map<number, number>()
  const count = (into: Map<number, number>, status: number) =>
    into.set(status, (into.get(status) ?? 0) + 1)
  const started = performance.now()
  const inventing = (async () => {
    for (let i = 0; i < rate * seconds; i++) {
      const due = started + (i * 1000) / rate
      const wait = due - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      count(inventorStatuses, await inventor(`/extensions/kubernetes-v9.${i}.0-x86-64.raw`))
    }
  })()
  const others = real.map(async (file, i) => {
    const due = ((i + 0.5) * seconds * 1000) / real.length
    await new Promise((resolve) => setTimeout(resolve, due))
    count(realStatuses, await clientAt(`127.0.0.${3 + i}`)(`/extensions/${file}`))
  })
  await Promise.all([inventing, ...others])
  console.log(
    JSON.stringify({
      'invented names a second': rate,
      seconds,
      'inventing client, by status': Object.fromEntries(inventorStatuses),
      'real images, by status': Object.fromEntries(realStatuses),
      'real images confirmed': `${realStatuses.get(302) ?? 0} of ${real.length}`,
    }),
  )
} finally {
  for (const agent of agents) await agent.close()
  await service.stop()
  await github.close()
}
