import { readFile } from 'node:fs/promises'
import { availableParallelism, loadavg, release, totalmem } from 'node:os'
import { run } from './proc.js'

export interface Machine {
  readonly nproc: number
  readonly cpuModel: string
  readonly kernel: string
  readonly node: string
  readonly memoryGiB: number
  readonly caddy: string
  readonly nginx: string
  readonly wrk: string
  /** 1-minute load average when the run started: high means the figures are noisy. */
  readonly loadAtStart: number
}

/** Debian package names of the tools the bench drives. */
const TOOLS = { caddy: 'caddy', nginx: 'nginx', wrk: 'wrk', taskset: 'util-linux' } as const

/** Stops the run with an install hint if a tool is missing or there is only one core. */
export async function checkTools(): Promise<void> {
  const missing: string[] = []
  for (const [tool, pkg] of Object.entries(TOOLS)) {
    const found = await run('sh', ['-c', `command -v ${tool}`])
    if (found.code !== 0) missing.push(pkg)
  }
  if (missing.length > 0) {
    throw new Error(
      `the benchmark needs ${missing.join(', ')}; on Debian or Ubuntu:\n  apt-get install -y ${missing.join(' ')}`,
    )
  }
  if (availableParallelism() < 2) {
    throw new Error('the benchmark needs 2 cores: one for the servers, one for the load generator')
  }
}

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8')
  return {
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    kernel: release(),
    node: process.version,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    caddy: await versionOf('caddy', ['version']),
    nginx: await versionOf('nginx', ['-v']),
    wrk: await versionOf('wrk', ['--version']),
    loadAtStart: loadavg()[0] as number,
  }
}

async function versionOf(tool: string, args: readonly string[]): Promise<string> {
  const result = await run(tool, args)
  return (result.stdout + result.stderr).split('\n')[0]?.trim() ?? ''
}
