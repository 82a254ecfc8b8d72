import {
  ARCHES,
  imagesOf,
  newestImage,
  splitImageName,
  versionsOf,
  type Arch,
  type Extension,
  type Image,
} from '../catalog/catalog.js'
import { parseManifest, type ManifestEntry } from '../catalog/manifest.js'
import { folderOf, imageUrl, newestUrl, type Place } from '../directory/model.js'
import type { Manifests } from '../table/layers.js'

/**
 * What the mirror command writes, worked out from the manifests alone: which
 * images of which extensions, at which paths of the tree (the paths the
 * service answers), and each manifest as written. No I/O: every rule of the
 * tree's shape is here, tested exhaustively.
 */

/** What the command line chose; null: everything. */
export interface Choice {
  readonly extensions: ReadonlySet<string> | null
  readonly arches: ReadonlySet<Arch> | null
  /** Versions kept per extension, newest first. */
  readonly keep: number | null
}

export const EVERYTHING: Choice = { extensions: null, arches: null, keep: null }

/** An extension as mirrored: its manifest as written and the images it lists. */
export interface ExtensionPlan {
  readonly name: string
  /** Where its manifest is served (`/extensions/<ext>/SHA256SUMS`). */
  readonly manifestPath: string
  /** The manifest as written: the adopted bytes, or their lines of the images kept. */
  readonly manifest: Uint8Array
  /** Whether lines were left out: then its signatures would not verify, and are not written. */
  readonly filtered: boolean
  readonly images: readonly PlannedImage[]
  /** Newest-version names (flat layout): each path and the image it is a copy of. */
  readonly newest: readonly NewestName[]
  /** Where its transfer files may be served; those the service has are written. */
  readonly transferPaths: readonly string[]
}

/** A newest-version name: its path, and the image (kept) whose copy it is. */
export interface NewestName {
  readonly path: string
  readonly file: string
  readonly sha256: string
}

export interface PlannedImage {
  readonly file: string
  readonly sha256: string
  /** Every path it is served at; the first is the one asked of the service. */
  readonly paths: readonly string[]
}

/** The images of one extension's manifest the choice keeps, newest version first. */
export function chosenImages(
  name: string,
  entries: readonly ManifestEntry[],
  choice: Choice,
): Image[] {
  const all = imagesOf(name, entries).filter(
    (image) => choice.arches === null || choice.arches.has(image.arch),
  )
  if (choice.keep === null) return all
  const kept = new Set(versionsOf({ name, images: all }).slice(0, choice.keep))
  return all.filter((image) => kept.has(image.version))
}

/** An extension's plan from its adopted manifest (one the service parsed to adopt it). */
export function planExtension(
  name: string,
  adopted: Uint8Array,
  choice: Choice,
  place: Place,
  manifests: Manifests,
): ExtensionPlan {
  const parsed = parseManifest(adopted)
  // Adopted, so it parses; were it not, it would list nothing to mirror.
  const images = chosenImages(name, parsed.ok ? parsed.entries : [], choice)
  const files = new Set(images.map((image) => image.file))
  const written = keepLines(adopted, files)
  const extension: Extension = { name, images }
  return {
    name,
    manifestPath: extensionManifestPath(name, place, manifests),
    manifest: written.bytes,
    filtered: written.filtered,
    images: images.map((image) => ({
      file: image.file,
      sha256: digestOf(image),
      paths: imagePaths(name, image.file, place),
    })),
    newest: newestNames(extension, place),
    transferPaths: transferPaths(name, place),
  }
}

/** Where an extension's manifest is served: its folder (sysupdate's `Path=`). */
export function extensionManifestPath(name: string, place: Place, manifests: Manifests): string {
  return `${folderOf(name, place)}${manifests.extension.asset}`
}

/** Where an image is served: the flat directory's top and below its extension, or its name folder. */
export function imagePaths(name: string, file: string, place: Place): string[] {
  const first = imageUrl(name, file, place)
  if (place.layout.kind === 'fedora') return [first]
  return [first, `${folderOf(name, place)}${file}`]
}

/** The flat layout's newest-version names, at the top and below the extension, per architecture. */
function newestNames(extension: Extension, place: Place): NewestName[] {
  if (place.layout.kind === 'fedora') return []
  const bases = [place.base, folderOf(extension.name, place)]
  return ARCHES.flatMap((arch) => {
    const image = newestImage(extension, arch)
    if (image === undefined) return []
    const { file } = image
    const sha256 = digestOf(image)
    return bases.map((base) => ({
      path: newestUrl(extension.name, arch, undefined, base),
      file,
      sha256,
    }))
  })
}

/** A manifest's digest as files are named by it (manifests may write it in either case). */
function digestOf(image: Image): string {
  return image.sha256.toLowerCase()
}

/** The names a transfer file of an extension may be served at (`.conf`, and `.transfer` from v257). */
export function transferPaths(name: string, place: Place): string[] {
  const folder = folderOf(name, place)
  return ['conf', 'transfer'].flatMap((type) => [
    `${filesBase(place)}${name}.${type}`,
    `${folder}${name}.${type}`,
  ])
}

/**
 * Where a directory's files are: the flat directory itself, or (Fedora's
 * layout, whose pages may be elsewhere) the folder that holds the name
 * folders (`/fedora/` for `/fedora/{ext}/`).
 */
export function filesBase(place: Place): string {
  const { layout } = place
  return layout.kind === 'fedora'
    ? layout.folder.slice(0, layout.folder.indexOf('{ext}'))
    : place.base
}

/** The global manifest as written: the lines of the images kept in every extension mirrored. */
export function planGlobal(
  adopted: Uint8Array,
  extensions: readonly ExtensionPlan[],
): { bytes: Uint8Array; filtered: boolean } {
  const files = new Set(extensions.flatMap((extension) => extension.images.map((one) => one.file)))
  return keepLines(adopted, files)
}

/** Where the global manifest of a directory is served. */
export function globalPath(place: Place, manifests: Manifests): string {
  return `${filesBase(place)}${manifests.global.asset}`
}

/**
 * A manifest's lines that name an image kept, or no image at all (a marker
 * such as the bakery's BEST-BEFORE entries), byte for byte; `filtered` when
 * any line was left out.
 */
export function keepLines(
  bytes: Uint8Array,
  files: ReadonlySet<string>,
): { bytes: Uint8Array; filtered: boolean } {
  const text = Buffer.from(bytes).toString('utf8')
  const lines = text.split(/(?<=\n)/)
  const kept = lines.filter((line) => {
    const name = nameOf(line)
    return name === null || splitImageName(name) === null || files.has(name)
  })
  if (kept.length === lines.length) return { bytes, filtered: false }
  return { bytes: Buffer.from(kept.join('')), filtered: true }
}

/** The file a manifest line names (`<hash>  <name>` or `<hash> *<name>`); null for a blank line. */
function nameOf(line: string): string | null {
  const match = /^[0-9A-Fa-f]+ [ *](.+?)\r?\n?$/.exec(line)
  return match === null ? null : (match[1] as string)
}
