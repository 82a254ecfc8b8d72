import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { buildService } from './lib/build.js'
import { measureColdBurst } from './lib/burst.js'
import { compareLocations } from './lib/locations.js'
import { checkTools, describeMachine } from './lib/machine.js'
import { ANSWER_KINDS, answerKindOf, fixtureFor, MIX, type AnswerKind } from './lib/mix.js'
import { parseOptions, USAGE } from './lib/options.js'
import { pinSelf, run, treeMemory } from './lib/proc.js'
import { profileService } from './lib/profile.js'
import { sendRandomPaths } from './lib/random-paths.js'
import { formatResults, toJson, type Results } from './lib/report.js'
import {
  LOAD_CORE,
  startCaddy,
  startFakeGitHub,
  startNginx,
  startRedis,
  startService,
  type Server,
} from './lib/servers.js'
import { measureStartup } from './lib/startup.js'
import { measureThroughput, medianRound, type Throughput } from './lib/throughput.js'

/**
 * `npm run bench`: sysext-redirector against the bakery's Caddy and an
 * equivalent nginx, side by side on one core each in turn, plus start-up
 * time, the cold-burst check count and memory after a million distinct
 * paths. See bench/README.md for the method.
 */
async function main(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv)
  if (options === 'help') return console.log(USAGE)
  await checkTools()
  const machine = await describeMachine()
  const startedAt = new Date()
  const repo = process.cwd()
  const dir = await mkdtemp(join(tmpdir(), 'sysext-bench-'))
  const running: { stop(): Promise<void> }[] = []
  try {
    progress('building the service (npm run build, into a temp dir)')
    const build = await buildService(repo, dir, options.allowTypeErrors)
    if (build.typeErrors !== '')
      progress(`tsc reported errors, measuring anyway:\n${build.typeErrors}`)
    // From here on this process, the fake GitHub and wrk share the load core.
    await pinSelf(LOAD_CORE)

    const fixture = fixtureFor(MIX)
    const github = await startFakeGitHub(dir, fixture)
    running.push(github)
    const service = await startService({ build, githubUrl: github.url, dir, label: 'service' })
    running.push(service)
    const shared = options.sharedStore ? await startSharedService(build, github.url, dir) : []
    const others = [...shared, await startCaddy(dir), await startNginx(dir)]
    running.push(...others)
    const servers: Server[] = [service, ...others]

    progress('comparing every Location of the mix (and warming the check cache)')
    const disagreements = await compareLocations(servers, MIX, fixture)
    if (disagreements.length > 0) {
      throw new Error(`the servers disagree:\n${JSON.stringify(disagreements, null, 2)}`)
    }
    const serviceAtStart = await treeMemory(service.child.pid as number)
    const pathsFile = join(dir, 'paths.txt')
    await writeFile(pathsFile, MIX.map((entry) => `${entry.path}\n`).join(''))
    const load = { pathsFile, ...options }
    // Each answer kind on its own: redirects, and snapshot files (Caddy's 302s for the same paths).
    const loads = {} as Record<AnswerKind, typeof load>
    for (const kind of ANSWER_KINDS) {
      const file = join(dir, `paths-${kind}.txt`)
      const paths = MIX.filter((entry) => answerKindOf(entry.kind) === kind)
      await writeFile(file, paths.map((entry) => `${entry.path}\n`).join(''))
      loads[kind] = { ...load, pathsFile: file }
    }

    const rounds = Object.fromEntries(
      ANSWER_KINDS.map((kind) => [kind, servers.map((): Throughput[] => [])]),
    ) as Record<AnswerKind, Throughput[][]>
    for (let round = 1; round <= options.rounds; round++) {
      for (const kind of ANSWER_KINDS) {
        for (const [i, server] of servers.entries()) {
          progress(
            `${server.name}, ${kind} answers: ${options.warmupS} s warm-up, ${options.durationS} s measured` +
              (options.rounds > 1 ? ` (round ${round} of ${options.rounds})` : ''),
          )
          const result = await measureThroughput(server, loads[kind])
          if (result.errors > 0) {
            throw new Error(
              `${server.name}: ${result.errors} errors under load: ${JSON.stringify(result.wrk.errors)}`,
            )
          }
          rounds[kind][i]?.push(result)
        }
      }
    }
    const throughput = Object.fromEntries(
      ANSWER_KINDS.map((kind) => [kind, rounds[kind].map(medianRound)]),
    ) as Record<AnswerKind, Throughput[]>
    for (const other of others) await other.stop()

    let randomPaths = null
    if (options.randomRequests > 0) {
      progress(`sysext-redirector: ${options.randomRequests} distinct random paths`)
      randomPaths = await sendRandomPaths(
        service,
        options.randomRequests,
        options.connections,
        (r) =>
          progress(
            `  ${r.answered} answered, RSS ${r.rssMiB.toFixed(1)} MiB, heap used ${r.heapUsedMiB.toFixed(1)} MiB`,
          ),
      )
    }
    await service.stop()
    const logged = await run('grep', ['-c', '"msg":"request"', service.logFile])

    progress(`start-up to first 302, ${options.startupRuns} times`)
    const startup = await measureStartup(
      build,
      github.url,
      dir,
      options.startupRuns,
      MIX[0]?.path ?? '/',
    )
    progress(`cold burst of ${options.burst} concurrent requests`)
    const coldBurst = await measureColdBurst(build, dir, options.burst)

    let profile = null
    if (options.profile) {
      progress('profiling the service under the same load (node --cpu-prof)')
      const profileDir = resolve(dirname(options.out), 'profile')
      profile = await profileService(build, github.url, dir, profileDir, MIX, load)
    }

    const results: Results = {
      startedAt: startedAt.toISOString(),
      seconds: (Date.now() - startedAt.getTime()) / 1000,
      machine,
      loadAtEnd: loadavg()[0] as number,
      options,
      buildMs: build.ms,
      typeErrors: build.typeErrors !== '',
      serviceAtStart,
      throughput,
      startup,
      coldBurst,
      randomPaths,
      requestLogLines: Number(logged.stdout.trim()),
      profile,
    }
    console.log(formatResults(results))
    await mkdir(dirname(options.out), { recursive: true })
    await writeFile(options.out, `${JSON.stringify({ mix: MIX, ...toJson(results) }, null, 2)}\n`)
    console.log(`\nresults written to ${options.out}`)
  } finally {
    for (const each of running.reverse()) await each.stop()
    if (options.keep) console.error(`kept ${dir}`)
    else await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The same service with a shared store, as a fleet runs it: a redis-server and
 * REDIS_URL, the rate-limit counts per instance (RATE_LIMIT_SHARED=false) so
 * the redirect lane stays on. Memory answers first: the store is not asked
 * once the caches are warm, and its throughput should be the service's.
 */
async function startSharedService(
  build: Awaited<ReturnType<typeof buildService>>,
  githubUrl: string,
  dir: string,
): Promise<Server[]> {
  const redis = await startRedis()
  const service = await startService({
    build,
    githubUrl,
    dir,
    label: 'service-shared',
    name: 'sysext-redirector (shared store)',
    env: { REDIS_URL: redis.url, RATE_LIMIT_SHARED: 'false' },
  })
  return [{ ...service, stop: async () => (await service.stop(), await redis.stop()) }]
}

function progress(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
