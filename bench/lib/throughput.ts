import { treeMemory, type Memory } from './proc.js'
import { LOAD_CORE, type Server } from './servers.js'
import { errorCount, requestsPerSecond, runWrk, type WrkResult } from './wrk.js'

export interface Throughput {
  readonly server: string
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Connection errors, timeouts and non-2xx/3xx answers during the measured run. */
  readonly errors: number
  /** After the measured run: resident now and peak (VmHWM) over the process's life. */
  readonly memory: Memory
  readonly wrk: WrkResult
  /** When the measured run began and ended: CLOCK_MONOTONIC microseconds, a CPU profile's clock. */
  readonly window: { readonly fromUs: number; readonly toUs: number }
  /** With --rounds: requests per second of every round, in order (this result is the median one). */
  readonly rounds?: readonly number[]
}

export interface Load {
  readonly pathsFile: string
  readonly connections: number
  readonly durationS: number
  readonly warmupS: number
}

/** wrk cycling through the mix: a warm-up that is thrown away, then the measured run. */
export async function measureThroughput(server: Server, load: Load): Promise<Throughput> {
  const run = (durationS: number): Promise<WrkResult> =>
    runWrk({
      url: server.url,
      script: 'mix.lua',
      scriptArgs: [load.pathsFile],
      connections: load.connections,
      durationS,
      core: LOAD_CORE,
    })
  if (load.warmupS > 0) await run(load.warmupS)
  const fromUs = monotonicUs()
  const wrk = await run(load.durationS)
  const toUs = monotonicUs()
  return {
    server: server.name,
    requestsPerSecond: requestsPerSecond(wrk),
    p50Ms: wrk.latencyUs.p50 / 1000,
    p99Ms: wrk.latencyUs.p99 / 1000,
    errors: errorCount(wrk),
    memory: await treeMemory(server.child.pid as number),
    wrk,
    window: { fromUs, toUs },
  }
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * Several rounds of one server, taken in turn with the others so that a
 * change in the machine's background load hits all servers alike: the round
 * with the median throughput stands for the server, with the memory read
 * after the last round (VmHWM only grows).
 */
export function medianRound(rounds: readonly Throughput[]): Throughput {
  const sorted = [...rounds].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)
  const median = sorted[Math.floor((sorted.length - 1) / 2)]
  const last = rounds[rounds.length - 1]
  if (median === undefined || last === undefined) throw new Error('no rounds')
  return { ...median, memory: last.memory, rounds: rounds.map((r) => r.requestsPerSecond) }
}
