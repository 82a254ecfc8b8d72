import {
  ARCHES,
  DEFAULT_ARCH,
  architecturesOf,
  newestImage,
  versionsOf,
  type Arch,
  type Extension,
  type Image,
} from '../catalog/catalog.js'
import type { DirectoryLayout } from '../table/layers.js'
import { streamsIn } from './streams.js'

/**
 * What the directory shows, as plain data: the JSON answer as is, and what
 * the HTML pages render. Every URL is root-relative, so the pages work behind
 * any host name, and each leads through this service, never to GitHub.
 */
export interface NewestLink {
  readonly version: string
  /**
   * The version-less (or stream) URL that follows new releases; in a layout
   * without such names (Fedora's), the versioned URL of today's image.
   */
  readonly url: string
  /** The versioned URL of the image it leads to today. */
  readonly file: string
}

export interface ListingEntry {
  readonly name: string
  readonly url: string
  /** The newest version of all, whatever its architectures. */
  readonly newestVersion: string
  readonly architectures: readonly Arch[]
  readonly versions: number
  readonly newest: Partial<Record<Arch, NewestLink>>
}

export interface Listing {
  readonly layout: DirectoryLayout['kind']
  readonly extensions: readonly ListingEntry[]
}

export interface ImageLink {
  readonly file: string
  readonly url: string
  readonly sha256: string
}

export interface ExtensionPage {
  readonly name: string
  readonly url: string
  readonly layout: DirectoryLayout['kind']
  /** The folder holding its SHA256SUMS: systemd-sysupdate's `Path=`. */
  readonly folder: string
  readonly sha256sums: string
  readonly architectures: readonly Arch[]
  readonly newest: Partial<Record<Arch, NewestLink>>
  /** The newest PAGE_ROWS streams; `streamsTotal` says how many there are. */
  readonly streams: readonly { stream: string; newest: Partial<Record<Arch, NewestLink>> }[]
  readonly streamsTotal: number
  /** The newest PAGE_ROWS versions; `versionsTotal` says how many there are (SHA256SUMS lists all). */
  readonly versions: readonly { version: string; images: Partial<Record<Arch, ImageLink>> }[]
  readonly versionsTotal: number
}

/**
 * The most streams and versions a page shows, newest first. A page is for
 * people choosing a version; a bakery with 100,000 versions would otherwise
 * make every page tens of megabytes. The SHA256SUMS it links lists them all.
 */
export const PAGE_ROWS = 1000

/** The Flatcar bakery's directory: where the pages link below unless a table says otherwise. */
export const DIRECTORY = '/extensions/'

/** Where a directory's pages are (`base`) and how its extensions are laid out. */
export interface Place {
  readonly base: string
  readonly layout: DirectoryLayout
}

export const FLATCAR_PLACE: Place = { base: DIRECTORY, layout: { kind: 'flatcar' } }

/** An image, by its name, in the flat directory at `base`. */
export function flatUrl(file: string, base: string): string {
  return `${base}${file}`
}

/** The newest-version URL: `<ext>.raw` is the docs' x86-64 form. */
export function newestUrl(name: string, arch: Arch, stream?: string, base = DIRECTORY): string {
  if (stream !== undefined) return flatUrl(`${name}-${stream}-${arch}.raw`, base)
  return flatUrl(arch === DEFAULT_ARCH ? `${name}.raw` : `${name}-${arch}.raw`, base)
}

/**
 * An extension's folder, where its SHA256SUMS is and sysupdate's `Path=`
 * points: its page in the flat directory, its name folder in Fedora's.
 */
export function folderOf(name: string, { base, layout }: Place): string {
  return layout.kind === 'fedora' ? layout.folder.replace('{ext}', name) : `${base}${name}/`
}

/** An image's URL: at the flat directory's top, or in its name's folder. */
export function imageUrl(name: string, file: string, place: Place): string {
  return place.layout.kind === 'fedora'
    ? `${folderOf(name, place)}${file}`
    : flatUrl(file, place.base)
}

function newestLinks(
  extension: Extension,
  place: Place,
  stream?: string,
): Partial<Record<Arch, NewestLink>> {
  const links: Partial<Record<Arch, NewestLink>> = {}
  const streams = streamsIn(place.layout)
  for (const arch of ARCHES) {
    const image =
      stream === undefined ? newestImage(extension, arch) : streams.newest(extension, arch, stream)
    if (image === undefined) continue
    const file = imageUrl(extension.name, image.file, place)
    // Only Flatcar's layout has names that follow new releases (the table's newest layer).
    const url =
      place.layout.kind === 'flatcar' ? newestUrl(extension.name, arch, stream, place.base) : file
    links[arch] = { version: image.version, url, file }
  }
  return links
}

/** The listing of a directory whose pages are below `base` (a table's directory form says where). */
export function listingOf(extensions: readonly Extension[], place = FLATCAR_PLACE): Listing {
  const { base } = place
  return {
    layout: place.layout.kind,
    extensions: [...extensions]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((extension) => ({
        name: extension.name,
        url: `${base}${extension.name}/`,
        // Newest first, and an extension has at least one image (see ManifestIndex).
        newestVersion: (extension.images[0] as Image).version,
        architectures: architecturesOf(extension),
        versions: versionsOf(extension).length,
        newest: newestLinks(extension, place),
      })),
  }
}

export function pageOf(extension: Extension, place = FLATCAR_PLACE): ExtensionPage {
  const { name } = extension
  const streams = streamsIn(place.layout).list(extension)
  const versions = imagesByVersion(extension, place)
  const folder = folderOf(name, place)
  return {
    name,
    url: `${place.base}${name}/`,
    layout: place.layout.kind,
    folder,
    sha256sums: `${folder}SHA256SUMS`,
    architectures: architecturesOf(extension),
    newest: newestLinks(extension, place),
    streams: streams.slice(0, PAGE_ROWS).map((stream) => ({
      stream,
      newest: newestLinks(extension, place, stream),
    })),
    streamsTotal: streams.length,
    versions,
    versionsTotal: versionsOf(extension).length,
  }
}

/** The newest PAGE_ROWS versions, newest first. imagesOf keeps one image per file, so per version and arch. */
function imagesByVersion(
  extension: Extension,
  place: Place,
): { version: string; images: Partial<Record<Arch, ImageLink>> }[] {
  const byVersion = new Map<string, Partial<Record<Arch, ImageLink>>>()
  for (const image of extension.images) {
    let images = byVersion.get(image.version)
    if (images === undefined) {
      if (byVersion.size === PAGE_ROWS) break
      images = {}
      byVersion.set(image.version, images)
    }
    const url = imageUrl(extension.name, image.file, place)
    images[image.arch] = { file: image.file, url, sha256: image.sha256 }
  }
  return [...byVersion].map(([version, images]) => ({ version, images }))
}
