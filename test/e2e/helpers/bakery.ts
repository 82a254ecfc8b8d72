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
 * What GitHub and the service do once a release changed: GitHub sends its
 * `release` webhook (`announce`), and a publish is done for a client once the
 * service serves the new manifests (`served`: the extension's and the global).
 */
export interface PublishHooks {
  announce(tag: string): Promise<void>
  served(ext: string, extensionSums: string, globalSums: string): Promise<void>
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
  // signs the global SHA256SUMS (as SHA256SUMS.gpg) once set
  private globalSigner: Signer | undefined

  constructor(
    private readonly github: FakeGitHub,
    private readonly imageBytes = 64 * 1024,
    private readonly hooks?: PublishHooks,
  ) {}

  /** Publishes one version of an extension, then its and the global SHA256SUMS. */
  async publish(ext: string, version: string, arches: readonly Arch[] = ARCHES): Promise<void> {
    const files = this.makeImages(ext, version, arches)
    this.uploadImages(ext, version, files)
    await this.republishIndexes(ext)
    await this.done(ext, `${ext}-${version}`)
  }

  /** GitHub's webhook for the release, then the wait until the service serves what was published. */
  private async done(ext: string, tag: string): Promise<void> {
    await this.hooks?.announce(tag)
    await this.hooks?.served(ext, this.extensionSums(ext), this.globalSums())
  }

  /**
   * The Flatcar bakery's order, which no client should see half done: the
   * manifests first (listing the new images), the images `pauseMs` later,
   * the signatures last, `pauseMs` after that (systemd issue 38774, bakery
   * issue 232).
   */
  async publishManifestFirst(ext: string, version: string, pauseMs: number): Promise<void> {
    const files = this.makeImages(ext, version, ARCHES)
    const sums = Buffer.from(this.extensionSums(ext))
    this.github.addAsset(ext, 'SHA256SUMS', sums)
    await this.republishGlobal()
    await sleep(pauseMs)
    this.uploadImages(ext, version, files)
    await sleep(pauseMs)
    for (const [name, signer] of this.signers.get(ext) ?? []) {
      this.github.addAsset(ext, name, await signer(sums))
    }
    // The release is published: GitHub says so; nobody waits on the service here.
    await this.hooks?.announce(`${ext}-${version}`)
  }

  /**
   * The Fedora sysexts' order: the extension's metadata release deleted
   * (`gh release delete --cleanup-tag`: its SHA256SUMS, signatures and
   * transfer files gone), then made again `pauseMs` later with the new version.
   */
  async publishRecreated(
    ext: string,
    version: string,
    pauseMs: number,
    transfer: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.github.removeAsset(ext, 'SHA256SUMS')
    for (const name of this.signers.get(ext)?.keys() ?? []) this.github.removeAsset(ext, name)
    for (const name of Object.keys(transfer)) this.github.removeAsset(ext, name)
    await sleep(pauseMs)
    const files = this.makeImages(ext, version, ARCHES)
    this.uploadImages(ext, version, files)
    await this.republishIndexes(ext)
    for (const [name, body] of Object.entries(transfer)) this.github.addAsset(ext, name, body)
    await this.hooks?.announce(`${ext}-${version}`)
  }

  /** New images of a version, known to the bakery (so its manifests list them), not yet uploaded. */
  private makeImages(ext: string, version: string, arches: readonly Arch[]): Map<string, Buffer> {
    const files = new Map<string, Buffer>()
    for (const arch of arches) {
      // A random length too, so no two images are alike even in size.
      const bytes = randomBytes(this.imageBytes + Math.floor(Math.random() * 4096))
      files.set(imageName(ext, version, arch), bytes)
    }
    const versions = this.images.get(ext) ?? new Map<string, Map<string, Buffer>>()
    versions.set(version, files)
    this.images.set(ext, versions)
    return files
  }

  /** A version's release: its images and their SHA256SUMS. */
  private uploadImages(ext: string, version: string, files: ReadonlyMap<string, Buffer>): void {
    const tag = `${ext}-${version}`
    for (const [name, bytes] of files) this.github.addAsset(tag, name, bytes)
    this.github.addAsset(tag, 'SHA256SUMS', sha256Sums(files))
  }

  /** From now on the extension's SHA256SUMS is published with a detached signature `name`. */
  async sign(ext: string, signer: Signer, name = 'SHA256SUMS.gpg'): Promise<void> {
    const signers = this.signers.get(ext) ?? new Map<string, Signer>()
    signers.set(name, signer)
    this.signers.set(ext, signers)
    await this.republishIndexes(ext)
    await this.done(ext, ext)
  }

  /** From now on the global SHA256SUMS is published with a detached `SHA256SUMS.gpg`. */
  async signGlobal(signer: Signer): Promise<void> {
    this.globalSigner = signer
    await this.republishGlobal()
    await this.hooks?.announce('SHA256SUMS')
  }

  /**
   * From now on the extension's SHA256SUMS carries the entry
   * `BEST-BEFORE-<date>` (YYYY-MM-DD; the hash of no bytes, as systemd
   * expects of a marker): sysupdate 260 and later refuse the list after it.
   */
  async bestBefore(ext: string, date: string): Promise<void> {
    this.markers.set(ext, new Map([[`BEST-BEFORE-${date}`, Buffer.alloc(0)]]))
    await this.republishIndexes(ext)
    await this.done(ext, ext)
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
    await this.republishGlobal()
  }

  private async republishGlobal(): Promise<void> {
    const sums = Buffer.from(this.globalSums())
    this.github.addAsset('SHA256SUMS', 'SHA256SUMS', sums)
    if (this.globalSigner !== undefined) {
      this.github.addAsset('SHA256SUMS', 'SHA256SUMS.gpg', await this.globalSigner(sums))
    }
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
