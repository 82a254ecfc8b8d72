import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import type { Build } from './build.js'
import { freePort, spawnPinned, stop } from './proc.js'
import { SERVER_CORE, serviceEnv } from './servers.js'

export interface Startup {
  /** Each start, from spawning `node dist/main.js` to the first 302 received. */
  readonly runsMs: readonly number[]
  readonly medianMs: number
  readonly path: string
}

/**
 * Starts the service `runs` times in its production configuration and asks
 * for `path` in a tight loop (each refused connection is retried at once)
 * until a 302 comes back. The path is an image the fake GitHub has, so the
 * first redirect includes the service's first upstream check, as a real
 * client's first request would.
 */
export async function measureStartup(
  build: Build,
  githubUrl: string,
  dir: string,
  runs: number,
  path: string,
): Promise<Startup> {
  const runsMs: number[] = []
  for (let i = 0; i < runs; i++) runsMs.push(await timeOneStart(build, githubUrl, dir, path, i))
  const sorted = [...runsMs].sort((a, b) => a - b)
  return { runsMs, medianMs: sorted[Math.floor(sorted.length / 2)] as number, path }
}

async function timeOneStart(
  build: Build,
  githubUrl: string,
  dir: string,
  path: string,
  run: number,
): Promise<number> {
  const port = await freePort()
  const metricsPort = await freePort()
  const log = openSync(join(dir, `startup-${run}.log`), 'a')
  const started = performance.now()
  const child = spawnPinned(SERVER_CORE, process.execPath, [...build.nodeFlags, build.main], {
    cwd: build.appDir,
    env: serviceEnv(githubUrl, port, metricsPort),
    stdio: ['ignore', log, log],
  })
  closeSync(log)
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`the service exited during start-up (${child.exitCode})`)
      if (performance.now() - started > 15_000) throw new Error('no 302 within 15 s of start')
      const status = await statusOf(`http://127.0.0.1:${port}${path}`)
      if (status === 302) return performance.now() - started
      if (status !== null) throw new Error(`start-up: ${path} answered ${status}, not 302`)
    }
  } finally {
    await stop(child)
  }
}

/** The status, or null while nothing listens yet. */
async function statusOf(url: string): Promise<number | null> {
  try {
    const response = await request(url)
    await response.body.dump()
    return response.statusCode
  } catch {
    return null
  }
}
