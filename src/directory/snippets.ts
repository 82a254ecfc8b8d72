import { ARCHES, DEFAULT_ARCH, type Arch, type Extension, type Image } from '../catalog/catalog.js'
import type { DirectoryLayout } from '../table/layers.js'
import { folderOf, FLATCAR_PLACE, imageUrl, type Place } from './model.js'
import { streamsIn, type Streams } from './streams.js'

/**
 * What an extension page offers to set a machine up with (issue 30): for a
 * version, an architecture and a choice between pinning that version and
 * following its stream, a Butane config, the sysupdate transfer file alone
 * and a curl line. Plain data from the extension's adopted manifest (file
 * names, versions, SHA-256), so a snippet only ever names what is published;
 * in the shapes of the directory's layout (Flatcar's or the Fedora sysexts').
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
export function choiceOf(
  extension: Extension,
  query: UseQuery,
  layout: DirectoryLayout = FLATCAR_PLACE.layout,
): ChoiceResult {
  const streams = streamsIn(layout)
  const named = namedStream(extension, query.stream, streams)
  if (typeof named === 'object') return named
  const version = query.version ?? newestVersion(extension, named, query.arch, streams)
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
  if (named !== undefined && !streams.holds(version, named)) {
    return { ok: false, reason: `stream: ${version} is not in stream ${shown(named)}` }
  }
  // Naming a stream is asking to follow it.
  const follow = query.use ?? (named === undefined ? 'version' : 'stream')
  if (typeof follow !== 'string' || !(FOLLOWS as readonly string[]).includes(follow)) {
    return { ok: false, reason: `use: expected version or stream, not ${shown(follow)}` }
  }
  const stream = named ?? streams.of(extension, image)
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
  streams: Streams,
): string | undefined | { ok: false; reason: string } {
  if (stream === undefined) return undefined
  if (typeof stream === 'string' && streams.list(extension).includes(stream)) return stream
  return { ok: false, reason: `stream: ${extension.name} has no stream ${shown(stream)}` }
}

/** The newest version, within `stream` when one is named, for `arch` where it has one. */
function newestVersion(
  extension: Extension,
  stream: string | undefined,
  arch: unknown,
  streams: Streams,
): string {
  const within = extension.images.filter(
    (image) => stream === undefined || streams.holds(image.version, stream),
  )
  // A named stream has at least one image: streams are made from them.
  return ((within.find((image) => image.arch === arch) ?? within[0]) as Image).version
}

/** A value from the query, as a message shows it: quoted, and never long. */
function shown(value: unknown): string {
  const text = Array.isArray(value) ? value.join(',') : String(value)
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}

/** Where the snippets point: the service's public origin and the paths of the extension's files. */
export interface UsePlace {
  /** `https://extensions.example.org`, no trailing slash. */
  readonly origin: string
  /** The extension's folder (`/extensions/kubernetes/`): sysupdate's `Path=`. */
  readonly folder: string
  /** The image's path on this service (`/extensions/kubernetes-v1.32.2-x86-64.raw`). */
  readonly image: string
}

export interface Snippets {
  readonly butane: string
  /** Where the transfer file goes and what it says; null when the version is pinned. */
  readonly transfer: { readonly path: string; readonly text: string } | null
  readonly curl: string
}

/**
 * Where a layout's machines keep an extension's images and the link
 * systemd-sysext reads: Flatcar's docs keep each in its own folder below
 * /opt/extensions and link it from /etc/extensions; the Fedora sysexts' keep
 * them side by side in /var/lib/extensions.d, linked from /var/lib/extensions.
 */
interface Machine {
  readonly butane: readonly string[]
  imagesDir(name: string): string
  readonly activeDir: string
  /** sysupdate's MatchPattern for following `stream` of this image. */
  pattern(name: string, stream: string, image: Image): string
  readonly instancesMax: number
  /** Why the transfer file says Verify=false, and when it may say true. */
  readonly verify: string
  /** Units the Butane enables besides the updater (systemd-sysext is on by default on Flatcar). */
  readonly units: readonly string[]
}

const MACHINES: Readonly<Record<DirectoryLayout['kind'], Machine>> = {
  flatcar: {
    butane: ['variant: flatcar', 'version: 1.0.0'],
    imagesDir: (name) => `/opt/extensions/${name}`,
    activeDir: '/etc/extensions',
    pattern: (name, stream, image) => `${name}-${stream}.@v-${image.arch}.raw`,
    instancesMax: 3,
    verify: `# The bakery's own definitions set Verify=false; with its key in
# /etc/systemd/import-pubring.gpg, Verify=true checks SHA256SUMS' signature.`,
    units: [],
  },
  fedora: {
    // fcos 1.4.0 gives Ignition spec 3.3.0, which every Fedora CoreOS applies.
    butane: ['variant: fcos', 'version: 1.4.0'],
    imagesDir: () => '/var/lib/extensions.d',
    activeDir: '/var/lib/extensions',
    // %w is the machine's VERSION_ID and %a its architecture: the images of its own release.
    pattern: (name) => `${name}-@v-%w-%a.raw`,
    instancesMax: 2,
    verify: '# The Fedora sysexts sign no SHA256SUMS: Verify=false, as in their own files.',
    units: ['systemd-sysext.service'],
  },
}

export function snippetsOf(
  extension: Extension,
  chosen: Extract<ChoiceResult, { ok: true }>,
  place: UsePlace,
  layout: DirectoryLayout = FLATCAR_PLACE.layout,
): Snippets {
  const { choice, image, stream } = chosen
  const name = extension.name
  const machine = MACHINES[layout.kind]
  const transfer =
    choice.follow === 'stream'
      ? {
          path: `/etc/sysupdate.${name}.d/${name}.${choice.systemd === '254' ? 'conf' : 'transfer'}`,
          text: transferText(name, machine.pattern(name, stream as string, image), machine, place),
        }
      : null
  return {
    butane: butaneText(name, image, `${place.origin}${place.image}`, transfer, machine),
    transfer,
    curl:
      `curl -fLo ${image.file} ${place.origin}${place.image}` +
      ` && echo '${image.sha256}  ${image.file}' | sha256sum -c`,
  }
}

/** The sysupdate definition that follows a stream, in the extension's folder on this service. */
function transferText(name: string, pattern: string, machine: Machine, place: UsePlace): string {
  return `[Transfer]
${machine.verify}
Verify=false

[Source]
Type=url-file
Path=${place.origin}${place.folder}
MatchPattern=${pattern}

[Target]
InstancesMax=${machine.instancesMax}
Type=regular-file
Path=${machine.imagesDir(name)}/
CurrentSymlink=${machine.activeDir}/${name}.raw
MatchPattern=${pattern}
`
}

/** The command the updater unit runs: the extension's own definitions (a sysupdate component). */
export function updateCommand(name: string): string {
  return `/usr/lib/systemd/systemd-sysupdate --component=${name} update`
}

/**
 * The updater: a service and a timer of the extension's own. The transfer
 * file is a component (`/etc/sysupdate.<ext>.d/`), which systemd-sysupdate's
 * own service never reads; its own units keep one extension's updates apart
 * from another's, and need no placeholder definition in /etc/sysupdate.d.
 * The new image is merged at the next boot (or `systemd-sysext refresh`).
 */
function updaterUnits(name: string): string[] {
  const service = `[Unit]
Description=Update the ${name} system extension
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=${updateCommand(name)}
`
  const timer = `[Unit]
Description=Update the ${name} system extension daily

[Timer]
OnBootSec=15min
OnUnitActiveSec=1d
RandomizedDelaySec=1h

[Install]
WantedBy=timers.target
`
  return [
    `    - name: sysupdate-${name}.service`,
    '      contents: |',
    ...indented(service, 8),
    `    - name: sysupdate-${name}.timer`,
    '      enabled: true',
    '      contents: |',
    ...indented(timer, 8),
  ]
}

/** A text as a YAML block scalar's lines, `depth` spaces in (below a `contents: |` or `inline: |`). */
function indented(text: string, depth: number): string[] {
  const indent = ' '.repeat(depth)
  return text
    .trimEnd()
    .split('\n')
    .map((line) => (line === '' ? '' : `${indent}${line}`))
}

/**
 * A Butane config (the layout's variant): the image in its folder, checked by
 * its SHA-256, the link that makes systemd-sysext merge it, and for a stream
 * the transfer file and the units that run sysupdate for it.
 */
function butaneText(
  name: string,
  image: Image,
  url: string,
  transfer: Snippets['transfer'],
  machine: Machine,
): string {
  const path = `${machine.imagesDir(name)}/${image.file}`
  const lines = [
    ...machine.butane,
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
    lines.push(...indented(transfer.text, 10))
  }
  lines.push(
    '  links:',
    `    - path: ${machine.activeDir}/${name}.raw`,
    `      target: ${path}`,
    '      hard: false',
  )
  const units = machine.units.flatMap((unit) => [`    - name: ${unit}`, '      enabled: true'])
  if (transfer !== null) units.push(...updaterUnits(name))
  if (units.length > 0) lines.push('systemd:', '  units:', ...units)
  return `${lines.join('\n')}\n`
}

/**
 * What an extension page offers to set a machine up with: the choice made,
 * with its snippets and the image's SHA-256; or, for a choice that names
 * nothing published, why not.
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
  place: Place = FLATCAR_PLACE,
): UseSection {
  if (!chosen.ok) return { error: chosen.reason }
  const { choice, stream, image } = chosen
  const { name } = extension
  const where = {
    origin,
    folder: folderOf(name, place),
    image: imageUrl(name, image.file, place),
  }
  const snippets = snippetsOf(extension, chosen, where, place.layout)
  return { choice, stream, sha256: image.sha256, ...snippets }
}

/**
 * The origin the snippets on a page name (`https://extensions.example.org`):
 * PUBLIC_URL when set; else the Host the client asked for, over https behind
 * Fly's proxy (which ends TLS) and http otherwise. A Host that is not a plain
 * host name or address with an optional port names nothing: null.
 */
export function publicOrigin(
  publicUrl: string | undefined,
  behindFly: boolean,
  host: string | undefined,
): string | null {
  if (publicUrl !== undefined) return publicUrl
  if (host === undefined || !HOST.test(host)) return null
  return `${behindFly ? 'https' : 'http'}://${host.toLowerCase()}`
}

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/
