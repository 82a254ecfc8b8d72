import { spawn } from 'node:child_process'
import type { LogFile } from './artifacts.js'

export interface RunOptions {
  /** Every client run is bounded: Ignition, for one, retries 5xx forever. */
  readonly timeoutMs: number
  /** Where the command, its exit and its output are written. */
  readonly log: LogFile
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
}

export interface RunResult {
  /** Exit code, or null when a signal ended it (a timeout, for one). */
  readonly code: number | null
  readonly timedOut: boolean
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

/**
 * Runs a command to its end and logs it. The command gets its own process
 * group so a timeout kills it and every child (systemd-pull, gpg) at once.
 */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  const started = Date.now()
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? hostEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup(child.pid)
  }, options.timeoutMs)
  return new Promise((resolve) => {
    const finish = (code: number | null, error?: Error): void => {
      clearTimeout(timer)
      const result: RunResult = {
        code,
        timedOut,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8') + (error ? `\n${error.message}` : ''),
        ms: Date.now() - started,
      }
      logRun(options.log, command, args, result)
      resolve(result)
    }
    // A command that cannot start (not installed) ends as exit 127, as in a shell.
    child.once('error', (error) => finish(127, error))
    child.once('close', (code) => finish(code))
  })
}

/** The runner's environment, with the sbin folders (chroot, setfiles) on PATH. */
export function hostEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

function logRun(log: LogFile, command: string, args: readonly string[], result: RunResult): void {
  const how = result.timedOut
    ? `killed after the ${result.ms} ms timeout`
    : `exit ${String(result.code)} after ${result.ms} ms`
  log.append(
    [
      `$ ${[command, ...args].map(quote).join(' ')}`,
      `# ${how}`,
      result.stdout === '' ? '' : `--- stdout\n${result.stdout.trimEnd()}`,
      result.stderr === '' ? '' : `--- stderr\n${result.stderr.trimEnd()}`,
      '',
    ]
      .filter((line, i, all) => line !== '' || i === all.length - 1)
      .join('\n'),
  )
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

/** One line describing how a run ended, for assertion messages. */
export function describe(result: RunResult): string {
  const end = result.timedOut ? 'timed out' : `exit ${String(result.code)}`
  const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ')
  return `${end}: ${tail}`
}
