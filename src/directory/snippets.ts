import {
  ARCHES,
  DEFAULT_ARCH,
  streamsOf,
  type Arch,
  type Extension,
  type Image,
} from '../index/catalog.js'

/**
 * What an extension page offers to set a machine up with (issue 30): for a
 * version, an architecture and a choice between pinning that version and
 * following its stream, a Butane config, the sysupdate transfer file alone
 * and a curl line. Plain data from the extension's adopted manifest (file
 * names, versions, SHA-256), so a snippet only ever names what is published.
 */

/** How the machine follows the extension: this version only, or its stream through sysupdate. */
export type Follow = 'version' | 'stream'
export const FOLLOWS: readonly Follow[] = ['version', 'stream']

/**
 * Which systemd the transfer file is for: 257 and later read `.transfer`
 * (and `.conf` with a warning), 254 to 256 (Flatcar LTS) only `.conf`.
 */
export type Systemd = '257' | '254'
export const SYSTEMDS: readonly Systemd[] = ['257', '254']

export interface UseChoice {
  readonly version: string
  readonly arch: Arch
  readonly follow: Follow
  readonly systemd: Systemd
}

/** The query of an extension page, as far as the snippets read it. */
export interface UseQuery {
  readonly version?: unknown
  readonly arch?: unknown
  readonly use?: unknown
  readonly systemd?: unknown
  readonly stream?: unknown
}

export type ChoiceResult =
  | {
      readonly ok: true
      readonly choice: UseChoice
      readonly image: Image
      readonly stream: string | null
    }
  | { readonly ok: false; readonly reason: string }

/**
 * The choice a page's query makes, every part checked against what the
 * extension publishes: the newest version, x86-64 where it has one and
 * pinned by default. A part that names nothing published is refused with
 * what it accepts, never turned into a snippet that cannot work.
 */
export function choiceOf(extension: Extension, query: UseQuery): ChoiceResult {
  const named = namedStream(extension, query.stream)
  if (typeof named === 'object') return named
  const version = query.version ?? newestVersion(extension, named, query.arch)
  if (typeof version !== 'string' || !extension.images.some((image) => image.version === version)) {
    return { ok: false, reason: `version: ${extension.name} has no version ${shown(version)}` }
  }
  const images = extension.images.filter((image) => image.version === version)
  const arches = images.map((image) => image.arch)
  const arch = query.arch ?? (arches.includes(DEFAULT_ARCH) ? DEFAULT_ARCH : arches[0])
  const image = images.find((one) => one.arch === arch)
  if (typeof arch !== 'string' || image === undefined) {
    const known = (ARCHES as readonly string[]).includes(String(arch))
    const why = known ? `is not published for ${shown(arch)}` : `has no architecture ${shown(arch)}`
    return { ok: false, reason: `arch: ${version} ${why}; it is for ${arches.join(' and ')}` }
  }
  if (named !== undefined && !version.startsWith(`${named}.`)) {
    return { ok: false, reason: `stream: ${version} is not in stream ${shown(named)}` }
  }
  // Naming a stream is asking to follow it.
  const follow = query.use ?? (named === undefined ? 'version' : 'stream')
  if (typeof follow !== 'string' || !(FOLLOWS as readonly string[]).includes(follow)) {
    return { ok: false, reason: `use: expected version or stream, not ${shown(follow)}` }
  }
  const stream = named ?? streamOf(extension, image)
  if (follow === 'stream' && stream === null) {
    return { ok: false, reason: `use: ${version} belongs to no stream; pin it (use=version)` }
  }
  const systemd = query.systemd ?? '257'
  if (typeof systemd !== 'string' || !(SYSTEMDS as readonly string[]).includes(systemd)) {
    return { ok: false, reason: `systemd: expected 257 or 254, not ${shown(systemd)}` }
  }
  const choice = {
    version,
    arch: image.arch,
    follow: follow as Follow,
    systemd: systemd as Systemd,
  }
  return { ok: true, choice, image, stream }
}

/** The stream the query names: one the page shows, or none; or why not. */
function namedStream(
  extension: Extension,
  stream: unknown,
): string | undefined | { ok: false; reason: string } {
  if (stream === undefined) return undefined
  if (typeof stream === 'string' && streamsOf(extension).includes(stream)) return stream
  return { ok: false, reason: `stream: ${extension.name} has no stream ${shown(stream)}` }
}

/** The newest version, within `stream` when one is named, for `arch` where it has one. */
function newestVersion(extension: Extension, stream: string | undefined, arch: unknown): string {
  const within = extension.images.filter(
    (image) => stream === undefined || image.version.startsWith(`${stream}.`),
  )
  // A named stream has at least one image: streams are made from them.
  return ((within.find((image) => image.arch === arch) ?? within[0]) as Image).version
}

/** A value from the query, as a message shows it: quoted, and never long. */
function shown(value: unknown): string {
  const text = Array.isArray(value) ? value.join(',') : String(value)
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}

/**
 * The stream a version belongs to: the most specific stream the page shows
 * whose newest versions start with it (`v1.32` for `v1.32.2`); null when none.
 */
export function streamOf(extension: Extension, image: Image): string | null {
  const streams = streamsOf(extension, image.arch).filter((stream) =>
    image.version.startsWith(`${stream}.`),
  )
  return streams.sort((a, b) => b.length - a.length)[0] ?? null
}

/** Where the snippets point: the service's public origin and the page's own paths. */
export interface UsePlace {
  /** `https://extensions.example.org`, no trailing slash. */
  readonly origin: string
  /** The extension page's path (`/extensions/kubernetes/`): sysupdate's `Path=`. */
  readonly page: string
  /** The image's path on this service (`/extensions/kubernetes-v1.32.2-x86-64.raw`). */
  readonly image: string
}

export interface Snippets {
  readonly butane: string
  /** Where the transfer file goes and what it says; null when the version is pinned. */
  readonly transfer: { readonly path: string; readonly text: string } | null
  readonly curl: string
}

/** Where a machine keeps an extension's images (Flatcar's docs), and the link systemd-sysext reads. */
const IMAGES_DIR = '/opt/extensions'
const ACTIVE_DIR = '/etc/extensions'

export function snippetsOf(
  extension: Extension,
  chosen: Extract<ChoiceResult, { ok: true }>,
  place: UsePlace,
): Snippets {
  const { choice, image, stream } = chosen
  const name = extension.name
  const dir = `${IMAGES_DIR}/${name}`
  const transfer =
    choice.follow === 'stream'
      ? {
          path: `/etc/sysupdate.${name}.d/${name}.${choice.systemd === '254' ? 'conf' : 'transfer'}`,
          text: transferText(name, `${name}-${stream as string}.@v-${image.arch}.raw`, dir, place),
        }
      : null
  return {
    butane: butaneText(name, image, `${place.origin}${place.image}`, transfer),
    transfer,
    curl:
      `curl -fLo ${image.file} ${place.origin}${place.image}` +
      ` && echo '${image.sha256}  ${image.file}' | sha256sum -c`,
  }
}

/** The sysupdate definition that follows a stream, in the flat directory of the extension's page. */
function transferText(name: string, pattern: string, dir: string, place: UsePlace): string {
  return `[Transfer]
# The bakery's own definitions set Verify=false; with its key in
# /etc/systemd/import-pubring.gpg, Verify=true checks SHA256SUMS' signature.
Verify=false

[Source]
Type=url-file
Path=${place.origin}${place.page}
MatchPattern=${pattern}

[Target]
InstancesMax=3
Type=regular-file
Path=${dir}
CurrentSymlink=${ACTIVE_DIR}/${name}.raw
MatchPattern=${pattern}
`
}

/**
 * A Butane config (variant flatcar): the image in its folder, checked by its
 * SHA-256, the link that makes systemd-sysext merge it, and for a stream the
 * transfer file and the timer that runs sysupdate.
 */
function butaneText(
  name: string,
  image: Image,
  url: string,
  transfer: Snippets['transfer'],
): string {
  const path = `${IMAGES_DIR}/${name}/${image.file}`
  const lines = [
    'variant: flatcar',
    'version: 1.0.0',
    'storage:',
    '  files:',
    `    - path: ${path}`,
    '      mode: 0644',
    '      contents:',
    `        source: ${url}`,
    '        verification:',
    `          hash: sha256-${image.sha256}`,
  ]
  if (transfer !== null) {
    lines.push(`    - path: ${transfer.path}`, '      contents:', '        inline: |')
    for (const line of transfer.text.trimEnd().split('\n')) {
      lines.push(line === '' ? '' : `          ${line}`)
    }
  }
  lines.push(
    '  links:',
    `    - path: ${ACTIVE_DIR}/${name}.raw`,
    `      target: ${path}`,
    '      hard: false',
  )
  if (transfer !== null) {
    lines.push('systemd:', '  units:', '    - name: systemd-sysupdate.timer', '      enabled: true')
  }
  return `${lines.join('\n')}\n`
}

/**
 * What an extension page offers to set a machine up with : the
 * choice made, with its snippets and the image's SHA-256; or, for a choice
 * that names nothing published, why not.
 */
export type UseSection =
  | (Snippets & {
      readonly choice: UseChoice
      readonly stream: string | null
      readonly sha256: string
    })
  | { readonly error: string }

/** The section for a choice (choiceOf), its URLs below `origin`; or why the choice is refused. */
export function useSectionOf(
  extension: Extension,
  chosen: ChoiceResult,
  origin: string,
  base: string,
): UseSection {
  if (!chosen.ok) return { error: chosen.reason }
  const { choice, stream, image } = chosen
  const place = { origin, page: `${base}${extension.name}/`, image: `${base}${image.file}` }
  return { choice, stream, sha256: image.sha256, ...snippetsOf(extension, chosen, place) }
}
