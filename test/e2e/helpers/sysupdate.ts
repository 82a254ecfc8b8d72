import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { REPO_ROOT, type LogFile } from './artifacts.js'
import { describe, run, type RunResult } from './run.js'

const ROOT_SCRIPT = join(REPO_ROOT, 'scripts', 'sysupdate-root.sh')
const IN_ROOT = join(REPO_ROOT, 'test', 'e2e', 'helpers', 'in-root.sh')
const SYSUPDATE = '/usr/lib/systemd/systemd-sysupdate'
const PULL = '/usr/lib/systemd/systemd-pull'

// A cold build downloads ~100 MB of Debian; a warm check takes milliseconds.
const ROOT_BUILD_TIMEOUT_MS = 12 * 60_000
const SYSUPDATE_TIMEOUT_MS = 60_000

/** The Debian releases whose roots the tier runs sysupdate in (scripts/sysupdate-root.sh). */
export const RELEASES = ['bookworm', 'trixie', 'sid'] as const
export type Release = (typeof RELEASES)[number]

export interface SysupdateRoot {
  readonly root: string
  /** The systemd version, e.g. 257. */
  readonly version: number
  /** What `systemd-sysupdate --version` printed first, e.g. `systemd 257 (257.13-1~deb13u1)`. */
  readonly banner: string
}

/**
 * The cached root of one release (built on first use by
 * scripts/sysupdate-root.sh, which honours SYSUPDATE_ROOT_CACHE), and the
 * systemd version it holds.
 */
export async function sysupdateRoot(release: Release, log: LogFile): Promise<SysupdateRoot> {
  const built = await run('bash', [ROOT_SCRIPT, release], {
    log,
    timeoutMs: ROOT_BUILD_TIMEOUT_MS,
  })
  const root = built.stdout.trim().split('\n').at(-1) ?? ''
  if (built.code !== 0 || root === '') {
    throw new Error(`cannot build the ${release} sysupdate root: ${describe(built)}`)
  }
  const printed = await run('chroot', [root, SYSUPDATE, '--version'], { log, timeoutMs: 10_000 })
  const banner = printed.stdout.split('\n')[0] ?? ''
  const version = /^systemd (\d+)\b/.exec(banner)?.[1]
  if (printed.code !== 0 || version === undefined) {
    throw new Error(`systemd-sysupdate does not run in ${root}: ${describe(printed)}`)
  }
  return { root, version: Number(version), banner }
}

/**
 * One machine: the cached root seen through an overlay whose upper layer is a
 * temporary folder, so each machine has its own /etc and /opt that persist
 * from one sysupdate run to the next, and the cached root stays untouched.
 * Files are set and read in the upper layer from the host.
 */
export class Machine {
  private constructor(
    private readonly root: string,
    private readonly state: string,
    private readonly log: LogFile,
  ) {}

  static async create(root: string, log: LogFile): Promise<Machine> {
    const state = await mkdtemp(join(tmpdir(), 'e2e-machine-'))
    const machine = new Machine(root, state, log)
    // What a Flatcar machine has before any extension is installed.
    await mkdir(machine.host('/etc/extensions'), { recursive: true })
    return machine
  }

  /** Where a path of the machine lives on the host (its upper layer). */
  host(path: string): string {
    return join(this.state, 'upper', path)
  }

  async writeFile(path: string, body: string | Buffer): Promise<void> {
    await mkdir(dirname(this.host(path)), { recursive: true })
    await writeFile(this.host(path), body)
  }

  readFile(path: string): Promise<Buffer> {
    return readFile(this.host(path))
  }

  readlink(path: string): Promise<string> {
    return readlink(this.host(path))
  }

  async mkdir(path: string): Promise<void> {
    await mkdir(this.host(path), { recursive: true })
  }

  /** File names in a folder of the machine; none when it does not exist. */
  async list(path: string): Promise<string[]> {
    return readdir(this.host(path)).then(
      (names) => names.sort(),
      () => [],
    )
  }

  /** `systemd-sysupdate -C <component> ARGS`, as a Flatcar machine runs it. */
  sysupdate(component: string, ...args: string[]): Promise<RunResult> {
    this.log.append(`# machine ${this.state}`)
    return run(
      IN_ROOT,
      [this.root, this.state, '/usr/bin/env', ...chrootEnv(), SYSUPDATE, '-C', component, ...args],
      { log: this.log, timeoutMs: SYSUPDATE_TIMEOUT_MS },
    )
  }

  /** A command line as a unit's `ExecStart=` holds it (words split on spaces, no quoting). */
  exec(commandLine: string): Promise<RunResult> {
    this.log.append(`# machine ${this.state}`)
    return run(
      IN_ROOT,
      [this.root, this.state, '/usr/bin/env', ...chrootEnv(), ...commandLine.split(' ')],
      { log: this.log, timeoutMs: SYSUPDATE_TIMEOUT_MS },
    )
  }

  /** `systemd-pull raw --direct ARGS`: the engine of `importctl pull-raw` (and of sysupdate's downloads). */
  pull(...args: string[]): Promise<RunResult> {
    this.log.append(`# machine ${this.state}`)
    return run(
      IN_ROOT,
      [this.root, this.state, '/usr/bin/env', ...chrootEnv(), PULL, 'raw', '--direct', ...args],
      { log: this.log, timeoutMs: SYSUPDATE_TIMEOUT_MS },
    )
  }

  dispose(): Promise<void> {
    return rm(this.state, { recursive: true, force: true })
  }
}

// A clean environment inside the root: nothing of the test runner's leaks in.
function chrootEnv(): string[] {
  return ['-i', 'PATH=/usr/sbin:/usr/bin', 'LANG=C.UTF-8', 'SYSTEMD_COLORS=0', 'SYSTEMD_PAGER=cat']
}
