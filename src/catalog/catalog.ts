import { isFileName } from '../table/template.js'
import { strverscmpImproved } from '../version/strverscmp.js'
import type { ManifestEntry } from './manifest.js'
import { atOnce, inTurns, pausesBefore, sortSteps, type Steps } from './turns.js'

/**
 * What the manifests say is published: extensions, their versions and the
 * architectures each version has an image for. Pure: built from parsed
 * manifests, no I/O.
 */
export const ARCHES = ['x86-64', 'arm64'] as const
export type Arch = (typeof ARCHES)[number]
export const DEFAULT_ARCH: Arch = 'x86-64'

export interface Image {
  readonly version: string
  readonly arch: Arch
  /** `<ext>-<version>-<arch>.raw`, the asset name in release `<ext>-<version>`. */
  readonly file: string
  readonly sha256: string
}

export interface Extension {
  readonly name: string
  /** Newest first, by systemd's version order; ties keep manifest order. */
  readonly images: readonly Image[]
}

/** Splits `<stem>-<arch>.raw`; null for any other name. */
export function splitImageName(file: string): { stem: string; arch: Arch } | null {
  if (!file.endsWith('.raw')) return null
  const base = file.slice(0, -'.raw'.length)
  for (const arch of ARCHES) {
    if (base.endsWith(`-${arch}`)) return { stem: base.slice(0, -arch.length - 1), arch }
  }
  return null
}

/**
 * The names a global manifest's images could belong to: every dash-prefix of
 * each image's stem that leaves a version behind (`docker-compose-2.34.0`
 * gives `docker` and `docker-compose`). Which of them is an extension only the
 * extension's own manifest can tell; see imagesOf.
 */
export function candidateNames(entries: readonly ManifestEntry[]): string[] {
  const names = new Set<string>()
  for (const entry of entries) {
    const split = splitImageName(entry.name)
    if (split === null) continue
    for (
      let dash = split.stem.indexOf('-', 1);
      dash !== -1;
      dash = split.stem.indexOf('-', dash + 1)
    ) {
      const name = split.stem.slice(0, dash)
      if (dash < split.stem.length - 1 && isFileName(name)) names.add(name)
    }
  }
  return [...names].sort()
}

/**
 * The names a global manifest publishes images of, for choosing the source
 * of a name (a rule's `publisher-of`): an image's name is its stem up to the
 * version, which starts at the first `-` followed by a digit, or by `v` and
 * a digit (`docker-compose` for `docker-compose-2.34.0`, `kubernetes` for
 * `kubernetes-v1.32.2`, `tailscale` for `tailscale-1.82.5-1-42`). Stricter
 * than candidateNames, which must not miss a name: here a name taken for
 * another (`docker` for `docker-compose`) would send it to the wrong source.
 */
export function publishedNames(entries: readonly ManifestEntry[]): ReadonlySet<string> {
  const names = new Set<string>()
  for (const entry of entries) {
    const split = splitImageName(entry.name)
    if (split === null) continue
    const name = nameBeforeVersion(split.stem)
    if (name !== null && isFileName(name)) names.add(name)
  }
  return names
}

/** The stem up to its version (see publishedNames); null when it has none. */
function nameBeforeVersion(stem: string): string | null {
  for (let dash = stem.indexOf('-', 1); dash !== -1; dash = stem.indexOf('-', dash + 1)) {
    const next = stem.charCodeAt(dash + 1) === 0x76 ? dash + 2 : dash + 1 // after a `v`
    if (isDigit(stem.charCodeAt(next))) return stem.slice(0, dash)
  }
  return null
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39
}

/**
 * The images an extension's own manifest lists under its name:
 * `<name>-<version>-<arch>.raw` with a non-empty version. A versioned
 * release's manifest (`crio-v1.30.0`) lists `crio-v1.30.0-x86-64.raw`, which
 * is no image of an extension named `crio-v1.30.0`, so it yields nothing.
 * Only names made of URL-safe file-name characters count, so a Location
 * built from them stays below the release download base.
 */
export function imagesOf(name: string, entries: readonly ManifestEntry[]): Image[] {
  return atOnce(imagesSteps(name, entries))
}

/**
 * imagesOf and the outline of its result, made in turns of the event loop
 * (turns.ts): the work an extension's manifest costs once per revision,
 * about half a second for 100,000 versions, never holds other requests for
 * more than a slice of it. Pages and lookups then read the outline at once.
 */
export async function extensionInTurns(
  name: string,
  entries: readonly ManifestEntry[],
): Promise<Extension | undefined> {
  const images = await inTurns(imagesSteps(name, entries))
  if (images.length === 0) return undefined
  const extension = { name, images }
  outlines.set(extension, await inTurns(outlineSteps(images)))
  return extension
}

function* imagesSteps(name: string, entries: readonly ManifestEntry[]): Steps<Image[]> {
  const images: Image[] = []
  const seen = new Set<string>()
  for (let i = 0; i < entries.length; i++) {
    if (pausesBefore(i)) yield
    const entry = entries[i] as ManifestEntry
    const split = splitImageName(entry.name)
    if (split === null || !split.stem.startsWith(`${name}-`)) continue
    const version = split.stem.slice(name.length + 1)
    if (version === '' || !isFileName(entry.name) || seen.has(entry.name)) continue
    seen.add(entry.name)
    images.push({ version, arch: split.arch, file: entry.name, sha256: entry.sha256 })
  }
  // Stable: equivalent versions keep manifest order.
  return yield* sortSteps(images, (a, b) => strverscmpImproved(b.version, a.version))
}

/**
 * What pages and lookups read from an extension, made once per extension
 * object: the index makes one per manifest revision (manifest-index.ts), so
 * this is work per revision, O(n) over its images (already sorted), never per
 * request. Lookups are then a map read, whatever the manifest's size.
 */
interface Outline {
  readonly versions: readonly string[]
  /** Per version, the architectures it has an image for: bit i for ARCHES[i]. */
  readonly archBits: ReadonlyMap<string, number>
  readonly streams: readonly string[]
  /** Per architecture, the streams shown that have an image for it. */
  readonly streamsWith: Readonly<Record<Arch, readonly string[]>>
  /** The newest image per architecture, of all versions. */
  readonly newest: Partial<Record<Arch, Image>>
  /** Per architecture, the newest image of each stream: every prefix of a version that ends before a `.`. */
  readonly newestIn: Readonly<Record<Arch, ReadonlyMap<string, Image>>>
}

const outlines = new WeakMap<Extension, Outline>()

function outlineOf(extension: Extension): Outline {
  let outline = outlines.get(extension)
  if (outline === undefined) {
    outline = atOnce(outlineSteps(extension.images))
    outlines.set(extension, outline)
  }
  return outline
}

function* outlineSteps(images: readonly Image[]): Steps<Outline> {
  const archBits = new Map<string, number>()
  const newest: Partial<Record<Arch, Image>> = {}
  const newestIn = { 'x86-64': new Map<string, Image>(), arm64: new Map<string, Image>() }
  // Newest first: the first image seen for a stream and architecture is its newest.
  for (let i = 0; i < images.length; i++) {
    if (pausesBefore(i)) yield
    const image = images[i] as Image
    const { version, arch } = image
    archBits.set(version, (archBits.get(version) ?? 0) | archBit(arch))
    newest[arch] ??= image
    const streams = newestIn[arch]
    for (let dot = version.indexOf('.'); dot !== -1; dot = version.indexOf('.', dot + 1)) {
      const stream = version.slice(0, dot)
      if (!streams.has(stream)) streams.set(stream, image)
    }
  }
  const versions = [...archBits.keys()]
  const { streams, streamsWith } = yield* streamSteps(versions, archBits, newestIn)
  return { versions, archBits, streams, streamsWith, newest, newestIn }
}

function archBit(arch: Arch): number {
  return 1 << ARCHES.indexOf(arch)
}

/**
 * The streams worth showing: each version without its last `.` part
 * (`v1.32` for `v1.32.2`), unless that names a release itself. Newest first;
 * and per architecture, those that have an image for it.
 */
function* streamSteps(
  versions: readonly string[],
  published: ReadonlyMap<string, number>,
  newestIn: Readonly<Record<Arch, ReadonlyMap<string, Image>>>,
): Steps<Pick<Outline, 'streams' | 'streamsWith'>> {
  const seen = new Set<string>()
  const streams: string[] = []
  const streamsWith: Record<Arch, string[]> = { 'x86-64': [], arm64: [] }
  for (let i = 0; i < versions.length; i++) {
    if (pausesBefore(i)) yield
    const version = versions[i] as string
    const dot = version.lastIndexOf('.')
    const stream = version.slice(0, dot)
    if (dot <= 0 || published.has(stream) || seen.has(stream)) continue
    seen.add(stream)
    streams.push(stream)
    for (const arch of ARCHES) if (newestIn[arch].has(stream)) streamsWith[arch].push(stream)
  }
  return { streams, streamsWith }
}

export function architecturesOf(extension: Extension): Arch[] {
  const { newest } = outlineOf(extension)
  return ARCHES.filter((arch) => newest[arch] !== undefined)
}

/** Versions newest first, each once. */
export function versionsOf(extension: Extension): readonly string[] {
  return outlineOf(extension).versions
}

/** Whether the extension publishes exactly this version. */
export function publishes(extension: Extension, version: string): boolean {
  return outlineOf(extension).archBits.has(version)
}

/** The architectures a published version has an image for. */
export function architecturesOfVersion(extension: Extension, version: string): Arch[] {
  const bits = outlineOf(extension).archBits.get(version) ?? 0
  return ARCHES.filter((arch) => (bits & archBit(arch)) !== 0)
}

/**
 * The newest image for an architecture, optionally within a stream: a
 * version belongs to a stream when the stream is its prefix at a `.`
 * boundary (`v1.32` and `v1` for `v1.32.2`, not `v1.3`).
 */
export function newestImage(extension: Extension, arch: Arch, stream?: string): Image | undefined {
  const outline = outlineOf(extension)
  return stream === undefined ? outline.newest[arch] : outline.newestIn[arch].get(stream)
}

/** The streams worth showing (see streamSteps), newest first; with `arch`, those that have an image for it. */
export function streamsOf(extension: Extension, arch?: Arch): readonly string[] {
  const outline = outlineOf(extension)
  return arch === undefined ? outline.streams : outline.streamsWith[arch]
}
