import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCommand } from '../../../src/cli.js'
import type { FakeGitHub } from '../../helpers/fake-github.js'
import { startNginx, type Nginx } from '../../helpers/nginx.js'
import { REPO_ROOT, type LogFile } from './artifacts.js'

/**
 * A mirrored tree as an air-gapped site keeps one: `sysext-redirector mirror`
 * run against the fake GitHub into a folder, served by Debian's nginx with
 * deploy/mirror/nginx.conf as shipped. nginx starts first, so a transfer file
 * published before the mirror runs can name its URL.
 */
export interface MirroredTree {
  readonly dir: string
  readonly nginx: Nginx
  /**
   * Runs the mirror command (again, after a publish) for these extensions
   * alone (a scenario's own: the others' manifests are other scenarios'
   * business); throws when it fails. Returns its summary line.
   */
  mirror(...extensions: string[]): Promise<string>
  close(): Promise<void>
}

export async function mirroredTree(github: FakeGitHub, log: LogFile): Promise<MirroredTree> {
  const dir = await mkdtemp(join(tmpdir(), 'e2e-mirror-'))
  const site = await readFile(join(REPO_ROOT, 'deploy/mirror/nginx.conf'), 'utf8')
  const nginx = await startNginx(site, dir)
  const env = { GITHUB_URL: github.url, BAKERY_REPO: github.repo }
  return {
    dir,
    nginx,
    mirror: async (...extensions) => {
      const out: string[] = []
      const chosen = extensions.flatMap((name) => ['--extension', name])
      const code = await runCommand(['mirror', dir, '--no-progress', ...chosen], env, {
        out: (line) => out.push(line),
        err: (line) => out.push(line),
      })
      log.append(out.join('\n'))
      if (code !== 0) throw new Error(`mirror failed (${code}): ${out.join('\n')}`)
      return out.join('\n')
    },
    close: async () => {
      await nginx.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
