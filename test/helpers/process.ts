import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { OFFLINE } from './app.js'

/** No network beyond loopback, and the metrics listener on a free port. */
export const QUIET = { ...OFFLINE, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' }

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

/**
 * Children load TypeScript through ts-register.mjs, as the tests themselves
 * do (see the "tap" section of package.json): one loader, so the coverage tap
 * collects from children (through its NODE_OPTIONS hook) maps onto the same
 * code.
 */
export const CHILD_ARGS = ['--import', new URL('./ts-register.mjs', import.meta.url).href]

export interface Started {
  readonly child: ChildProcess
  readonly url: string
  /** Everything written to stdout and stderr so far. */
  output(): string
  exited(): Promise<number | null>
}

/**
 * Runs src/main.ts as a real process, with the TypeScript loader (and the
 * coverage hooks) this test process runs under, on a free port of 127.0.0.1.
 */
export async function startMain(env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [...CHILD_ARGS, MAIN], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  const url = await new Promise<string>((resolve, reject) => {
    const check = (): void => {
      // On 127.0.0.1, or (HOST unset) on every address: reached through 127.0.0.1 either way.
      const match = /Server listening at http:\/\/(?:127\.0\.0\.1|\[::\]):(\d+)/.exec(output)
      if (match?.[1] !== undefined) resolve(`http://127.0.0.1:${match[1]}`)
    }
    child.stdout.on('data', check)
    void exit.then(() => reject(new Error(`main exited before listening:\n${output}`)))
  })
  return { child, url, output: () => output, exited: () => exit }
}

/** Runs src/main.ts to completion with arguments; returns its code and output. */
export async function runMain(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...CHILD_ARGS, MAIN, ...args], {
    env: { ...process.env, ...QUIET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stdout, stderr }
}
