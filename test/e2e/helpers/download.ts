import type { LogFile } from './artifacts.js'
import { run, type RunResult } from './run.js'

/** Bounded, so a hung server fails the test rather than hanging it. */
export const MAX_TIME = ['--max-time', '20']
const TIMEOUT_MS = 30_000

/**
 * `curl --fail --location URL -o OUTPUT`, as the bakery's docs fetch files:
 * follows the redirect, exits 22 on an HTTP error.
 */
export function curlGet(
  url: string,
  output: string,
  log: LogFile,
  extra: readonly string[] = [],
): Promise<RunResult> {
  return run(
    'curl',
    [
      '--fail',
      '--silent',
      '--show-error',
      '--location',
      ...MAX_TIME,
      ...extra,
      '--output',
      output,
      url,
    ],
    { log, timeoutMs: TIMEOUT_MS },
  )
}

/** `wget -O OUTPUT URL`, once: exits 8 when the server answers an error. */
export function wgetGet(url: string, output: string, log: LogFile): Promise<RunResult> {
  return run('wget', ['--tries=1', '--timeout=20', '-O', output, url], {
    log,
    timeoutMs: TIMEOUT_MS,
  })
}
