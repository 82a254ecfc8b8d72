import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { once } from 'node:events'
import { readdir, readFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'

/**
 * Process plumbing for the benchmark: running commands, pinning them to a
 * core, stopping them, and reading their memory from /proc.
 */

export interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to completion, collecting its output. */
export async function run(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<Finished> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout, stderr }
}

/**
 * Starts a command on one CPU core. taskset execs the command, so the
 * child's pid is the command's own (what /proc is read for).
 */
export function spawnPinned(
  core: number,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildProcess {
  return spawn('taskset', ['-c', String(core), command, ...args], options)
}

/** Moves this process (and the children it starts from now on) to one core. */
export async function pinSelf(core: number): Promise<void> {
  const result = await run('taskset', ['-p', '-c', String(core), String(process.pid)])
  if (result.code !== 0) throw new Error(`taskset -p failed: ${result.stderr.trim()}`)
}

/** Stops a child by its pid: SIGTERM, then SIGKILL if it lingers. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** Resolves with the exit code; rejects if it does not come within `ms`. */
export async function exitWithin(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  const timer = setTimeout(() => child.kill('SIGKILL'), ms)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  return code
}

/** A port that was free a moment ago (for servers that need one given). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface Memory {
  /** Resident now, in KiB. */
  readonly rssKiB: number
  /** The most ever resident (VmHWM), in KiB. */
  readonly peakKiB: number
}

/**
 * Memory of a process and all its descendants (nginx's master and worker),
 * summed. Shared pages count once per process, as `ps` would show them.
 */
export async function treeMemory(pid: number): Promise<Memory> {
  let rssKiB = 0
  let peakKiB = 0
  for (const each of await descendantsAndSelf(pid)) {
    const status = await readFile(`/proc/${each}/status`, 'utf8')
    rssKiB += field(status, 'VmRSS')
    peakKiB += field(status, 'VmHWM')
  }
  return { rssKiB, peakKiB }
}

async function descendantsAndSelf(pid: number): Promise<number[]> {
  const found = [pid]
  for (let i = 0; i < found.length; i++) {
    const tasks = await readdir(`/proc/${found[i]}/task`)
    for (const task of tasks) {
      const children = await readFile(`/proc/${found[i]}/task/${task}/children`, 'utf8')
      found.push(...children.split(' ').filter(Boolean).map(Number))
    }
  }
  return found
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)
  if (match?.[1] === undefined) throw new Error(`no ${name} in /proc status`)
  return Number(match[1])
}
