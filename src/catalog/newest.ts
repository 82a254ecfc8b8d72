import {
  ARCHES,
  DEFAULT_ARCH,
  architecturesOf,
  architecturesOfVersion,
  newestImage,
  publishes,
  streamsOf,
  type Arch,
  type Extension,
  type Image,
} from './catalog.js'

/**
 * Version-less and stream-pinned image names, resolved against the index:
 *   `<ext>.raw`                  the newest x86-64 image (the bakery docs' form)
 *   `<ext>-<arch>.raw`           the newest image for that architecture
 *   `<ext>-<stream>-<arch>.raw`  the newest whose version starts `<stream>.`
 * Which part is the extension is decided by the index (the longest name that
 * is a published extension), never by guessing where a version starts. A
 * stream needs an explicit architecture, so `<ext>.raw` never reads as one.
 */
export interface CatalogSource {
  /** Names that may be extensions: only these are ever looked up. */
  candidates(): Promise<ReadonlySet<string>>
  /** The extension of that name, or undefined when it is none. */
  extension(name: string): Promise<Extension | undefined>
  /** Every extension, for the list of choices in a 404. */
  extensions(): Promise<readonly Extension[]>
}

export type NewestAnswer =
  | {
      readonly kind: 'image'
      readonly extension: string
      readonly image: Image
      /** The release tag: `<ext>-<version>`. */
      readonly release: string
    }
  | { readonly kind: 'not-found'; readonly message: string }

export interface Reading {
  /** The name without `.raw` and without the architecture, if one was given. */
  readonly rest: string
  readonly arch: Arch
  /** Only with an explicit architecture may a stream follow the name. */
  readonly explicitArch: boolean
}

/** The ways to read a file name, most specific first: an explicit arch, then none. */
export function readingsOf(file: string): Reading[] {
  const stem = file.slice(0, -'.raw'.length)
  const readings: Reading[] = []
  for (const arch of ARCHES) {
    const rest = stem.slice(0, -arch.length - 1)
    if (stem.endsWith(`-${arch}`) && rest !== '') readings.push({ rest, arch, explicitArch: true })
  }
  readings.push({ rest: stem, arch: DEFAULT_ARCH, explicitArch: false })
  return readings
}

/**
 * The names among `candidates` the rest could start with, longest first:
 * `docker-compose-2.34` gives `docker-compose`, then `docker`. The work is
 * bounded by the candidates, not by the length of the request path.
 */
export function namesFitting(rest: string, candidates: Iterable<string>): string[] {
  const fitting: string[] = []
  for (const name of candidates) {
    if (rest === name || rest.startsWith(`${name}-`)) fitting.push(name)
  }
  return fitting.sort((a, b) => b.length - a.length)
}

export interface Interpretation {
  readonly extension: Extension
  readonly arch: Arch
  /** The version prefix asked for; undefined for the newest of all. */
  readonly stream: string | undefined
}

/**
 * What a file name asks for, by the index: the longest published extension
 * name it starts with. undefined when it names no extension in any form.
 */
export async function interpret(
  file: string,
  source: CatalogSource,
): Promise<Interpretation | undefined> {
  for (const { name, arch, stream } of readingsFor(file, await source.candidates())) {
    const extension = await source.extension(name)
    if (extension !== undefined) return { extension, arch, stream }
  }
  return undefined
}

/**
 * The ways a file name reads against candidate extension names, in order of
 * preference: an explicit architecture first, the longest name first. Pure.
 */
export function* readingsFor(
  file: string,
  candidates: ReadonlySet<string>,
): Generator<{ name: string; arch: Arch; stream: string | undefined }> {
  for (const { rest, arch, explicitArch } of readingsOf(file)) {
    const names = explicitArch ? namesFitting(rest, candidates) : candidates.has(rest) ? [rest] : []
    for (const name of names) {
      yield { name, arch, stream: name === rest ? undefined : rest.slice(name.length + 1) }
    }
  }
}

/** True when the stream is no stream but a version the extension publishes. */
export function isPublishedVersion(found: Interpretation): boolean {
  const { extension, stream } = found
  return stream !== undefined && publishes(extension, stream)
}

export function answerFor(found: Interpretation): NewestAnswer {
  const { extension, arch, stream } = found
  const { name } = extension
  if (isPublishedVersion(found)) {
    // A released version, not a stream: its own URL answers for it.
    const arches = architecturesOfVersion(extension, stream as string).join(', ')
    return notFound(`${name} ${stream} has no ${arch} image; it has ${arches}`)
  }
  const image = newestImage(extension, arch, stream)
  if (image !== undefined) {
    return { kind: 'image', extension: name, image, release: `${name}-${image.version}` }
  }
  if (newestImage(extension, arch) === undefined) {
    const arches = architecturesOf(extension).join(', ')
    return notFound(`${name} has no ${arch} image; architectures: ${arches}`)
  }
  const streams = streamsOf(extension, arch)
  return notFound(
    `${name} has no ${arch} image whose version starts with ${stream}.; streams: ${listOf(streams, `/extensions/${name}/`)}`,
  )
}

// Choices are listed in one line; a long list ends with where to see it all.
const MAX_LISTED = 25

export function listOf(items: readonly string[], seeAll: string): string {
  if (items.length === 0) return `none (see ${seeAll})`
  if (items.length <= MAX_LISTED) return items.join(', ')
  return `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more (see ${seeAll})`
}

function notFound(message: string): NewestAnswer {
  return { kind: 'not-found', message }
}
