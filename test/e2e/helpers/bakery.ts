import { createHash, randomBytes } from 'node:crypto'
import type { FakeGitHub } from '../../helpers/fake-github.js'

export const ARCHES = ['x86-64', 'arm64'] as const
export type Arch = (typeof ARCHES)[number]

/** Detached signatures of a SHA256SUMS (binary OpenPGP, as `gpg --detach-sign`). */
export type Signer = (sums: Buffer) => Promise<Buffer>

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * A SHA256SUMS exactly as `sha256sum` writes it, which is what sysupdate's
 * strict parser accepts: 64 hex digits, two spaces, the name, `\n` (the last
 * line too), sorted by name.
 */
export function sha256Sums(files: ReadonlyMap<string, Buffer>): string {
  return [...files.keys()]
    .sort()
    .map((name) => `${sha256(files.get(name) as Buffer)}  ${name}\n`)
    .join('')
}

export function imageName(ext: string, version: string, arch: Arch): string {
  return `${ext}-${version}-${arch}.raw`
}

/**
 * Publishes a bakery on the fake GitHub the way the Flatcar bakery does
 * (see url-map.md): a release `<ext>-<version>` per version with its images
 * and their SHA256SUMS, a metadata release `<ext>` with the extension's
 * SHA256SUMS (every version) and its transfer files, and the global release
 * `SHA256SUMS`. Images are random bytes; every SHA256SUMS is rewritten on
 * each publish so all three levels stay correct.
 */
export class Bakery {
  // ext -> version -> image name -> bytes
  private readonly images = new Map<string, Map<string, Map<string, Buffer>>>()
  // ext -> signature asset name -> signer
  private readonly signers = new Map<string, Map<string, Signer>>()
  // ext -> BEST-BEFORE marker entries of its SHA256SUMS
  private readonly markers = new Map<string, Map<string, Buffer>>()

  constructor(
    private readonly github: FakeGitHub,
    private readonly imageBytes = 64 * 1024,
  ) {}

  /** Publishes one version of an extension, then its and the global SHA256SUMS. */
  async publish(ext: string, version: string, arches: readonly Arch[] = ARCHES): Promise<void> {
    const tag = `${ext}-${version}`
    const files = new Map<string, Buffer>()
    for (const arch of arches) {
      // A random length too, so no two images are alike even in size.
      const bytes = randomBytes(this.imageBytes + Math.floor(Math.random() * 4096))
      files.set(imageName(ext, version, arch), bytes)
      this.github.addAsset(tag, imageName(ext, version, arch), bytes)
    }
    this.github.addAsset(tag, 'SHA256SUMS', sha256Sums(files))
    const versions = this.images.get(ext) ?? new Map<string, Map<string, Buffer>>()
    versions.set(version, files)
    this.images.set(ext, versions)
    await this.republishIndexes(ext)
  }

  /** From now on the extension's SHA256SUMS is published with a detached signature `name`. */
  async sign(ext: string, signer: Signer, name = 'SHA256SUMS.gpg'): Promise<void> {
    const signers = this.signers.get(ext) ?? new Map<string, Signer>()
    signers.set(name, signer)
    this.signers.set(ext, signers)
    await this.republishIndexes(ext)
  }

  /**
   * From now on the extension's SHA256SUMS carries the entry
   * `BEST-BEFORE-<date>` (YYYY-MM-DD; the hash of no bytes, as systemd
   * expects of a marker): sysupdate 260 and later refuse the list after it.
   */
  async bestBefore(ext: string, date: string): Promise<void> {
    this.markers.set(ext, new Map([[`BEST-BEFORE-${date}`, Buffer.alloc(0)]]))
    await this.republishIndexes(ext)
  }

  /** An asset of the extension's metadata release (e.g. `<ext>.conf`). */
  addMetadata(ext: string, name: string, body: string): void {
    this.github.addAsset(ext, name, body)
  }

  /** Takes the extension's SHA256SUMS down, as a re-upload does for a while. */
  withdrawIndex(ext: string): void {
    this.github.removeAsset(ext, 'SHA256SUMS')
  }

  image(ext: string, version: string, arch: Arch): Buffer {
    const bytes = this.images
      .get(ext)
      ?.get(version)
      ?.get(imageName(ext, version, arch))
    if (bytes === undefined) throw new Error(`${imageName(ext, version, arch)} is not published`)
    return bytes
  }

  /** The extension's SHA256SUMS: every image of every version, and its marker if any. */
  extensionSums(ext: string): string {
    const files = this.filesOf([ext])
    for (const [name, bytes] of this.markers.get(ext) ?? []) files.set(name, bytes)
    return sha256Sums(files)
  }

  /** The global SHA256SUMS: every image of every extension. */
  globalSums(): string {
    return sha256Sums(this.filesOf([...this.images.keys()]))
  }

  private filesOf(exts: readonly string[]): Map<string, Buffer> {
    const files = new Map<string, Buffer>()
    for (const ext of exts) {
      for (const version of this.images.get(ext)?.values() ?? []) {
        for (const [name, bytes] of version) files.set(name, bytes)
      }
    }
    return files
  }

  private async republishIndexes(ext: string): Promise<void> {
    const sums = Buffer.from(this.extensionSums(ext))
    this.github.addAsset(ext, 'SHA256SUMS', sums)
    for (const [name, signer] of this.signers.get(ext) ?? []) {
      this.github.addAsset(ext, name, await signer(sums))
    }
    this.github.addAsset('SHA256SUMS', 'SHA256SUMS', this.globalSums())
  }
}

/**
 * A transfer file as the bakery publishes it (Verify=false, a url-file source
 * below the service's /extensions/<ext>/, three instances under
 * /opt/extensions/<ext>/ and the current one linked from /etc/extensions/).
 */
export function transferFile(options: {
  /** The service's origin. */
  readonly service: string
  readonly ext: string
  /** Where sysupdate looks for SHA256SUMS; default `/extensions/<ext>/`. */
  readonly path?: string
  /** Default `<ext>-@v-%a.raw`; a stream pins part of the version. */
  readonly matchPattern?: string
  readonly verify?: boolean
}): string {
  const { ext } = options
  return [
    '[Transfer]',
    `Verify=${options.verify === true ? 'yes' : 'false'}`,
    '',
    '[Source]',
    'Type=url-file',
    `Path=${options.service}${options.path ?? `/extensions/${ext}/`}`,
    `MatchPattern=${options.matchPattern ?? `${ext}-@v-%a.raw`}`,
    '',
    '[Target]',
    'InstancesMax=3',
    'Type=regular-file',
    `Path=/opt/extensions/${ext}/`,
    `CurrentSymlink=/etc/extensions/${ext}.raw`,
    '',
  ].join('\n')
}
