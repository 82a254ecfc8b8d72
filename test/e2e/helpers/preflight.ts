import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** A program a client run needs, and how to get it on Debian. */
export interface Tool {
  readonly name: string
  /** An absolute path, or a name looked up on PATH. */
  readonly path: string
  readonly install: string
}

export const TOOLS = {
  curl: { name: 'curl', path: 'curl', install: 'apt-get install curl' },
  wget: { name: 'wget', path: 'wget', install: 'apt-get install wget' },
  gpg: { name: 'gpg', path: 'gpg', install: 'apt-get install gpg' },
  unshare: { name: 'unshare', path: 'unshare', install: 'apt-get install util-linux' },
  chroot: { name: 'chroot', path: 'chroot', install: 'apt-get install coreutils' },
  sha256sum: { name: 'sha256sum', path: 'sha256sum', install: 'apt-get install coreutils' },
  ignition: {
    name: 'Ignition',
    path: '/usr/lib/dracut/modules.d/30ignition/ignition',
    install: 'apt-get install ignition',
  },
  // Ignition's files stage always relabels what it wrote for SELinux.
  setfiles: { name: 'setfiles', path: 'setfiles', install: 'apt-get install policycoreutils' },
} as const satisfies Record<string, Tool>

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The tool's absolute path, or null when it is not installed. */
export function locate(tool: Tool): string | null {
  if (tool.path.startsWith('/')) return executable(tool.path) ? tool.path : null
  // setfiles lives in /usr/sbin, which a non-login PATH may lack.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    if (dir !== '' && executable(join(dir, tool.path))) return join(dir, tool.path)
  }
  return null
}

/**
 * Stops the test file with every missing requirement named: a client that
 * cannot run fails the tier, it never skips it.
 */
export function requireClients(client: string, tools: readonly Tool[], needsRoot: boolean): void {
  const problems = tools
    .filter((tool) => locate(tool) === null)
    .map((tool) => `${tool.name} is not installed (${tool.install})`)
  if (needsRoot && process.getuid?.() !== 0) {
    problems.push('must run as root (mount namespaces, overlay mounts and chroot need it)')
  }
  if (problems.length > 0) {
    throw new Error(`cannot run the ${client} tier: ${problems.join('; ')}`)
  }
}
