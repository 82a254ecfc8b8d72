import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.js'
import { REPO_ROOT, type LogFile } from './artifacts.js'
import { sha256Sums, type Arch } from './bakery.js'
import { serveFrom, SERVICE_ENV, type ServiceStack } from './stack.js'

export const FEDORA = 'fedora-sysexts/fedora'
export const COMMUNITY = 'fedora-sysexts/community'
export type FedoraRepo = typeof FEDORA | typeof COMMUNITY

/** The OS version the machines of this layout run (VERSION_ID, sysupdate's %w). */
export const OS_VERSION = '42'

/** `<name>-<version>-<os version>-<arch>.raw`: an image as the Fedora sysexts name it. */
export function fedoraImage(name: string, version: string, os = OS_VERSION, arch: Arch = 'x86-64') {
  return `${name}-${version}-${os}-${arch}.raw`
}

/**
 * Publishes on the fake GitHub the way the Fedora sysexts' workflows do:
 * each image is a release of its own, tagged with its file stem; release
 * `<name>` holds the name's SHA256SUMS (every version) and `<name>.conf`;
 * release `latest` the SHA256SUMS of every image of the repository.
 */
export class FedoraBakery {
  // repo -> name -> image file -> bytes
  private readonly images = new Map<string, Map<string, Map<string, Buffer>>>()

  constructor(private readonly github: FakeGitHub) {}

  publish(repo: FedoraRepo, name: string, version: string, os = OS_VERSION): Buffer {
    const file = fedoraImage(name, version, os)
    const bytes = randomBytes(32 * 1024 + Math.floor(Math.random() * 4096))
    this.github.addAsset(file.slice(0, -'.raw'.length), file, bytes, repo)
    const byName = this.images.get(repo) ?? new Map<string, Map<string, Buffer>>()
    this.images.set(repo, byName)
    const files = byName.get(name) ?? new Map<string, Buffer>()
    byName.set(name, files)
    files.set(file, bytes)
    this.github.addAsset(name, 'SHA256SUMS', sha256Sums(files), repo)
    const all = new Map([...byName.values()].flatMap((one) => [...one]))
    this.github.addAsset('latest', 'SHA256SUMS', sha256Sums(all), repo)
    return bytes
  }

  addTransfer(repo: FedoraRepo, name: string, body: string): void {
    this.github.addAsset(name, `${name}.conf`, body, repo)
  }
}

/**
 * A sysupdate transfer file for the Fedora layout: sources below `path`
 * (`/fedora/<name>/`), images named with the OS version (`%w`).
 */
export function fedoraTransfer(service: string, name: string, path: string): string {
  const pattern = `${name}-@v-%w-%a.raw`
  return [
    '[Transfer]',
    'Verify=false',
    '',
    '[Source]',
    'Type=url-file',
    `Path=${service}${path}`,
    `MatchPattern=${pattern}`,
    '',
    '[Target]',
    'InstancesMax=2',
    'Type=regular-file',
    `Path=/opt/extensions/${name}/`,
    `MatchPattern=${pattern}`,
    `CurrentSymlink=/etc/extensions/${name}.raw`,
    '',
  ].join('\n')
}

export interface FedoraStack extends ServiceStack {
  readonly bakery: FedoraBakery
}

/**
 * The fake GitHub with both Fedora repositories, and the service started as
 * docs/operating.md says for extensions.fcos.fr: the shipped table and the fallback,
 * nothing else (the tier's short lifetimes aside; the fallback stays on
 * 127.0.0.1).
 */
export async function startFedoraStack(log: LogFile): Promise<FedoraStack> {
  const github = await startFakeGitHub({ repo: FEDORA, more: { [COMMUNITY]: {} } })
  const stack = await serveFrom(github, {
    env: {
      ...SERVICE_ENV,
      PATTERN_TABLE: join(REPO_ROOT, 'tables', 'fedora-sysexts.yaml'),
      FALLBACK_URL: `${github.url}/docs-site`,
    },
    log,
  })
  return { ...stack, bakery: new FedoraBakery(github) }
}
