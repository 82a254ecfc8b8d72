import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { spawnPinned } from './proc.js'

/** The Lua scripts and their shared report.lua, which they load by relative name. */
const SCRIPTS = fileURLToPath(new URL('../wrk/', import.meta.url))

/** What bench/wrk/report.lua prints at the end of a run. */
export interface WrkResult {
  readonly requests: number
  readonly durationUs: number
  readonly bytes: number
  readonly errors: {
    readonly connect: number
    readonly read: number
    readonly write: number
    /** Responses other than 2xx and 3xx. */
    readonly status: number
    readonly timeout: number
  }
  readonly latencyUs: {
    readonly mean: number
    readonly p50: number
    readonly p90: number
    readonly p99: number
    readonly max: number
  }
}

export interface WrkRun {
  readonly url: string
  /** A script in bench/wrk/ and its arguments. */
  readonly script: 'mix.lua' | 'random.lua'
  readonly scriptArgs: readonly string[]
  readonly connections: number
  readonly durationS: number
  readonly core: number
}

/**
 * Runs wrk with one thread (it has one core) and returns its report. When
 * the script prints BENCH_LIMIT_REACHED (random.lua's request count), wrk
 * is ended with SIGINT, which makes it report at once.
 */
export async function runWrk(options: WrkRun): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    '--timeout',
    '10s',
    '-s',
    options.script,
    options.url,
    '--',
    ...options.scriptArgs,
  ]
  const child = spawnPinned(options.core, 'wrk', args, {
    cwd: SCRIPTS,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    if (stdout.includes('BENCH_LIMIT_REACHED') && child.exitCode === null) child.kill('SIGINT')
  })
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = (await once(child, 'close')) as [number | null]
  const line = /^BENCH_RESULT (.*)$/m.exec(stdout)?.[1]
  if (code !== 0 || line === undefined) {
    throw new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${stdout}${stderr}`)
  }
  return JSON.parse(line) as WrkResult
}

/** Requests per second over the run as wrk timed it. */
export function requestsPerSecond(result: WrkResult): number {
  return result.requests / (result.durationUs / 1e6)
}

export function errorCount(result: WrkResult): number {
  const { connect, read, write, status, timeout } = result.errors
  return connect + read + write + status + timeout
}
