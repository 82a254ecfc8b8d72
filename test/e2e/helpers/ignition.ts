import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LogFile } from './artifacts.js'
import { TOOLS } from './preflight.js'
import { hostEnv, run, type RunResult } from './run.js'

// Ignition retries 5xx and network errors forever: every stage is bounded.
const STAGE_TIMEOUT_MS = 30_000

export interface Provisioned {
  /** The folder Ignition wrote the machine's files into (its -root). */
  readonly root: string
  readonly fetch: RunResult
  /** Undefined when the fetch stage failed. */
  readonly files: RunResult | undefined
}

/**
 * Provisions a machine folder from an Ignition config the way a first boot
 * does: the `fetch` stage reads the config (the `file` platform takes it from
 * IGNITION_CONFIG_FILE), then the `files` stage downloads every file into
 * `-root`. Runs on the host; nothing outside the temporary folder is touched.
 */
export async function provision(
  config: object,
  log: LogFile,
): Promise<Provisioned & { dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'e2e-ignition-'))
  const root = join(dir, 'root')
  await prepareSelinux(root)
  const configFile = join(dir, 'config.ign')
  await writeFile(configFile, JSON.stringify(config, null, 2))
  log.append(`# config ${configFile}\n${JSON.stringify(config, null, 2)}`)
  const state = ['-config-cache', join(dir, 'ignition.json'), '-state-file', join(dir, 'state')]
  const stage = (name: string, ...args: string[]): Promise<RunResult> =>
    run(
      TOOLS.ignition.path,
      ['-platform', 'file', '-stage', name, '-log-to-stdout', ...state, ...args],
      {
        log,
        timeoutMs: STAGE_TIMEOUT_MS,
        env: { ...hostEnv(), IGNITION_CONFIG_FILE: configFile },
      },
    )
  const fetch = await stage('fetch', '-neednet', join(dir, 'neednet'))
  const files = fetch.code === 0 ? await stage('files', '-root', root) : undefined
  return { root, fetch, files, dispose: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * Ignition's files stage always relabels what it wrote with setfiles, reading
 * the policy type from /etc/selinux/config under -root. A Flatcar root has a
 * full policy; a one-line file_contexts is all setfiles needs here.
 */
async function prepareSelinux(root: string): Promise<void> {
  const contexts = join(root, 'etc', 'selinux', 'e2e', 'contexts', 'files')
  await mkdir(contexts, { recursive: true })
  await writeFile(join(root, 'etc', 'selinux', 'config'), 'SELINUX=permissive\nSELINUXTYPE=e2e\n')
  await writeFile(join(contexts, 'file_contexts'), '/.*\tsystem_u:object_r:default_t:s0\n')
}
