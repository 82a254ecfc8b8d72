import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import type { Build } from './build.js'
import { freePort, spawnPinned, stop } from './proc.js'

/** The servers measured share this core; wrk, the fake GitHub and the driver use the other. */
export const SERVER_CORE = 0
export const LOAD_CORE = 1

const BENCH = fileURLToPath(new URL('../', import.meta.url))
const REPO = fileURLToPath(new URL('../../', import.meta.url))

/** The redirect targets of the bakery's Caddy and of our nginx rules. */
export const GITHUB_RELEASES = 'https://github.com/flatcar/sysext-bakery/releases/download'
export const DOCS_SITE = 'https://flatcar.github.io/sysext-bakery'

export type ServerName =
  'sysext-redirector' | 'sysext-redirector (shared store)' | 'caddy' | 'nginx'

export interface Server {
  readonly name: ServerName
  readonly url: string
  readonly child: ChildProcess
  /** How this server's release Locations begin. */
  readonly releasesBase: string
  /** Whether it answers manifests and transfer files with their bytes (ours), not a 302. */
  readonly servesSnapshots?: boolean
  stop(): Promise<void>
}

export interface Service extends Server {
  readonly metricsUrl: string
  /** Where the JSON request log goes (the process's stdout). */
  readonly logFile: string
}

export interface FakeGitHubProcess {
  readonly url: string
  stop(): Promise<void>
}

/** test/helpers/fake-github-cli.ts with the mix's assets, as a process of its own. */
export async function startFakeGitHub(dir: string, fixture: object): Promise<FakeGitHubProcess> {
  const fixtureFile = join(dir, 'fixture.json')
  await writeFile(fixtureFile, JSON.stringify(fixture))
  const cli = join(REPO, 'test/helpers/fake-github-cli.ts')
  const child = spawnPinned(
    LOAD_CORE,
    process.execPath,
    ['--import', 'tsx', cli, '--fixture', fixtureFile],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const url = await new Promise<string>((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /^listening (http:\/\/\S+)$/m.exec(output)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`the fake GitHub exited (${code}): ${output}`)))
  })
  return { url, stop: () => stop(child) }
}

export interface ServiceOptions {
  readonly build: Build
  readonly githubUrl: string
  /** For the log files. */
  readonly dir: string
  readonly label: string
  /** Node flags before the script, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[]
  /** Settings besides serviceEnv's, and the name it is reported under. */
  readonly env?: NodeJS.ProcessEnv
  readonly name?: ServerName
}

/**
 * `node dist/main.js` as production runs it (with the Dockerfile's node
 * flags): JSON request log lines on
 * stdout (here a file), rate limiting on with a limit the load cannot
 * reach, the metrics listener on, upstream checks on. Only what the shell of
 * a container would have is passed on; NODE_OPTIONS in particular is not.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const port = await freePort()
  const metricsPort = await freePort()
  const logFile = join(options.dir, `${options.label}.log`)
  const out = openSync(logFile, 'a')
  const err = openSync(join(options.dir, `${options.label}.stderr`), 'a')
  const child = spawnPinned(
    SERVER_CORE,
    process.execPath,
    [...options.build.nodeFlags, ...(options.nodeArgs ?? []), options.build.main],
    {
      cwd: options.build.appDir,
      env: { ...serviceEnv(options.githubUrl, port, metricsPort), ...options.env },
      stdio: ['ignore', out, err],
    },
  )
  closeSync(out)
  closeSync(err)
  const url = `http://127.0.0.1:${port}`
  await waitForAnswer(`${url}/healthz`, child)
  return {
    name: options.name ?? 'sysext-redirector',
    url,
    child,
    releasesBase: `${options.githubUrl}/flatcar/sysext-bakery/releases/download`,
    servesSnapshots: true,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    logFile,
    stop: () => stop(child),
  }
}

export function serviceEnv(
  githubUrl: string,
  port: number,
  metricsPort: number,
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    GITHUB_URL: githubUrl,
    LOG_LEVEL: 'info',
    UPSTREAM_CHECKS: 'true',
    // The highest value accepted: one client (wrk) sending millions a minute stays under it.
    RATE_LIMIT_MAX: '1000000000',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: String(metricsPort),
  }
}

/**
 * Debian's redis-server as the shared store (--shared-store), on the load
 * core: with warm caches the service does not ask it, which is the point.
 */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort()
  const child = spawnPinned(
    LOAD_CORE,
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await new Promise<void>((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)))
  })
  return { url: `redis://127.0.0.1:${port}`, stop: () => stop(child) }
}

/** Debian's caddy with bench/Caddyfile; its state and config dirs in `dir`. */
export async function startCaddy(dir: string): Promise<Server> {
  const port = await freePort()
  const home = join(dir, 'caddy')
  await mkdir(home, { recursive: true })
  const log = openSync(join(home, 'caddy.log'), 'a')
  const child = spawnPinned(
    SERVER_CORE,
    'caddy',
    ['run', '--adapter', 'caddyfile', '--config', join(BENCH, 'Caddyfile')],
    {
      cwd: home,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        XDG_CONFIG_HOME: join(home, 'config'),
        XDG_DATA_HOME: join(home, 'data'),
        BENCH_CADDY_PORT: String(port),
      },
      stdio: ['ignore', log, log],
    },
  )
  closeSync(log)
  const url = `http://127.0.0.1:${port}`
  await waitForAnswer(`${url}/`, child)
  return { name: 'caddy', url, child, releasesBase: GITHUB_RELEASES, stop: () => stop(child) }
}

/** nginx with bench/nginx.conf, in the foreground, every path it writes in `dir`. */
export async function startNginx(dir: string): Promise<Server> {
  const port = await freePort()
  const prefix = join(dir, 'nginx')
  await mkdir(prefix, { recursive: true })
  const template = await readFile(join(BENCH, 'nginx.conf'), 'utf8')
  const conf = join(prefix, 'nginx.conf')
  await writeFile(conf, template.replaceAll('@DIR@', prefix).replaceAll('@PORT@', String(port)))
  const log = openSync(join(prefix, 'stderr.log'), 'a')
  const child = spawnPinned(
    SERVER_CORE,
    'nginx',
    ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')],
    { cwd: prefix, stdio: ['ignore', log, log] },
  )
  closeSync(log)
  const url = `http://127.0.0.1:${port}`
  await waitForAnswer(`${url}/`, child)
  return { name: 'nginx', url, child, releasesBase: GITHUB_RELEASES, stop: () => stop(child) }
}

/** Polls until the server answers anything, or fails if it exits first. */
async function waitForAnswer(url: string, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited (${child.exitCode})`)
    try {
      const response = await request(url)
      await response.body.dump()
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  throw new Error(`${url}: no answer within ${timeoutMs} ms`)
}
