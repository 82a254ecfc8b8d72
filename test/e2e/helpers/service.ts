import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { CHILD_ARGS, MAIN } from '../../helpers/process.js'
import { REPO_ROOT, type LogFile } from './artifacts.js'

/** One line of the service's request log (src/http/request-log.ts). */
export interface RequestLine {
  readonly method: string
  readonly path: string
  readonly status: number
  readonly rule: string | null
  /** The table's source the answer led into; absent for none. */
  readonly source?: string
  readonly location?: string
  readonly userAgent?: string
  /** When it was logged (epoch milliseconds). */
  readonly time: number
}

export interface Service {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string
  /** The process (for its memory in /proc/PID/status). */
  readonly pid: number
  /**
   * Every request the service has logged, in order, up to now: a client that
   * has exited may have been answered before its request's line reached us.
   */
  requests(): Promise<RequestLine[]>
  stop(): Promise<void>
}

export interface ServiceOptions {
  /** The fake GitHub's origin, the service's GITHUB_URL. */
  readonly githubUrl: string
  /** BAKERY_REPO; unset for a table that names its own repositories. */
  readonly repo?: string
  /** Settings beyond the origin and repo (e.g. the upstream checks'). */
  readonly env?: Readonly<Record<string, string>>
  /** Where the service's stdout and stderr go, line by line. */
  readonly log: LogFile
}

const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 15_000
const MARK_TIMEOUT_MS = 5_000

/**
 * Starts the real process (src/main.ts, through the tests' TypeScript loader) the way it is
 * deployed: configured by environment only, listening on a free port of
 * 127.0.0.1, logging JSON lines that the tests read back to learn what the
 * service answered.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: '0',
    GITHUB_URL: options.githubUrl,
    ...(options.repo === undefined ? {} : { BAKERY_REPO: options.repo }),
    // The fallback is only ever a redirect target; keep even that on 127.0.0.1
    // (the fake GitHub answers 404 there) so no client leaves the machine.
    FALLBACK_URL: `${options.githubUrl}/docs-site`,
    LOG_LEVEL: 'info',
    // The Prometheus listener too: a free port, loopback only.
    METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    ...options.env,
  }
  const child = spawn(process.execPath, [...CHILD_ARGS, MAIN], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  options.log.append(`# service env: ${JSON.stringify(options.env ?? {})}`)
  const requests: RequestLine[] = []
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running behind the failure: nobody else would ever stop it.
      child.kill('SIGKILL')
      reject(new Error(`the service did not listen within ${START_TIMEOUT_MS} ms`))
    }, START_TIMEOUT_MS)
    createInterface({ input: child.stdout }).on('line', (line) => {
      options.log.append(line)
      const record = parseJson(line)
      if (record?.msg === 'request') requests.push(record as unknown as RequestLine)
      const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(String(record?.msg))
      if (address) {
        clearTimeout(timer)
        resolve(address[1] as string)
      }
    })
    createInterface({ input: child.stderr }).on('line', (line) => options.log.append(line))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(
        new Error(
          `the service exited with ${String(code)} before listening; see ${options.log.path}`,
        ),
      )
    })
  })
  const url = await listening
  let marks = 0
  return {
    url,
    pid: child.pid as number,
    requests: async () => {
      // Lines come in answer order, so once a request sent now is logged,
      // so is every request answered before it.
      const mark = `/healthz?e2e-mark=${++marks}`
      const answer = await fetch(`${url}${mark}`)
      await answer.arrayBuffer()
      const deadline = Date.now() + MARK_TIMEOUT_MS
      while (!requests.some((line) => line.path === mark)) {
        if (Date.now() > deadline) throw new Error(`the service did not log ${mark}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      return requests.filter((line) => !line.path.startsWith('/healthz?e2e-mark='))
    },
    stop: () => stop(child),
  }
}

function parseJson(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

// SIGTERM is how it is stopped in production; it must exit on its own.
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the service did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM`))
    }, STOP_TIMEOUT_MS)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
