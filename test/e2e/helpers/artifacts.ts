import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root folder, whatever the working directory. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/**
 * Where each client's run leaves its logs (gitignored); scripts/test.sh prints
 * them when the tier fails.
 */
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'e2e')

/** One log file an append at a time, so a crash still leaves what happened so far. */
export class LogFile {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, '')
  }

  append(text: string): void {
    appendFileSync(this.path, text.endsWith('\n') ? text : `${text}\n`)
  }
}

/** A fresh folder for one client (e.g. `sysupdate`), emptied of an earlier run's logs. */
export function clientArtifacts(client: string): { dir: string; log: (name: string) => LogFile } {
  const dir = join(ARTIFACTS, client)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return { dir, log: (name) => new LogFile(join(dir, name)) }
}
