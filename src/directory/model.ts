import {
  ARCHES,
  DEFAULT_ARCH,
  architecturesOf,
  newestImage,
  streamsOf,
  versionsOf,
  type Arch,
  type Extension,
  type Image,
} from '../index/catalog.js'

/**
 * What the directory shows, as plain data: the JSON answer as is, and what
 * the HTML pages render. Every URL is root-relative, so the pages work behind
 * any host name, and each leads through this service, never to GitHub.
 */
export interface NewestLink {
  readonly version: string
  /** The version-less (or stream) URL that follows new releases. */
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

/** An image, by its name, in the flat directory at `base`. */
export function flatUrl(file: string, base: string): string {
  return `${base}${file}`
}

/** The newest-version URL: `<ext>.raw` is the docs' x86-64 form. */
export function newestUrl(name: string, arch: Arch, stream?: string, base = DIRECTORY): string {
  if (stream !== undefined) return flatUrl(`${name}-${stream}-${arch}.raw`, base)
  return flatUrl(arch === DEFAULT_ARCH ? `${name}.raw` : `${name}-${arch}.raw`, base)
}

function newestLinks(
  extension: Extension,
  base: string,
  stream?: string,
): Partial<Record<Arch, NewestLink>> {
  const links: Partial<Record<Arch, NewestLink>> = {}
  for (const arch of ARCHES) {
    const image = newestImage(extension, arch, stream)
    if (image === undefined) continue
    links[arch] = {
      version: image.version,
      url: newestUrl(extension.name, arch, stream, base),
      file: flatUrl(image.file, base),
    }
  }
  return links
}

/** The listing of a directory whose pages are below `base` (a table's directory form says where). */
export function listingOf(extensions: readonly Extension[], base = DIRECTORY): Listing {
  return {
    extensions: [...extensions]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((extension) => ({
        name: extension.name,
        url: `${base}${extension.name}/`,
        // Newest first, and an extension has at least one image (see ManifestIndex).
        newestVersion: (extension.images[0] as Image).version,
        architectures: architecturesOf(extension),
        versions: versionsOf(extension).length,
        newest: newestLinks(extension, base),
      })),
  }
}

export function pageOf(extension: Extension, base = DIRECTORY): ExtensionPage {
  const { name } = extension
  const streams = streamsOf(extension)
  const versions = imagesByVersion(extension, base)
  return {
    name,
    url: `${base}${name}/`,
    sha256sums: `${base}${name}/SHA256SUMS`,
    architectures: architecturesOf(extension),
    newest: newestLinks(extension, base),
    streams: streams.slice(0, PAGE_ROWS).map((stream) => ({
      stream,
      newest: newestLinks(extension, base, stream),
    })),
    streamsTotal: streams.length,
    versions,
    versionsTotal: versionsOf(extension).length,
  }
}

/** The newest PAGE_ROWS versions, newest first. imagesOf keeps one image per file, so per version and arch. */
function imagesByVersion(
  extension: Extension,
  base: string,
): { version: string; images: Partial<Record<Arch, ImageLink>> }[] {
  const byVersion = new Map<string, Partial<Record<Arch, ImageLink>>>()
  for (const image of extension.images) {
    let images = byVersion.get(image.version)
    if (images === undefined) {
      if (byVersion.size === PAGE_ROWS) break
      images = {}
      byVersion.set(image.version, images)
    }
    images[image.arch] = { file: image.file, url: flatUrl(image.file, base), sha256: image.sha256 }
  }
  return [...byVersion].map(([version, images]) => ({ version, images }))
}
