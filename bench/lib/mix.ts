import { createHash } from 'node:crypto'

/**
 * The paths every server is driven with, one of each kind the bakery's rules
 * serve, in the order wrk cycles through them. Each names the release asset
 * it leads to (which the fake GitHub publishes, so the upstream checks say
 * "exists") or, for the docs-site fallback, the path and query kept.
 */
export type MixKind =
  | 'raw'
  | 'raw-below-path'
  | 'conf'
  | 'release-conf'
  | 'extension-sha256sums'
  | 'global-sha256sums'
  | 'fallback'

/**
 * How the service answers a kind: a redirect (images, the fallback), or the
 * bytes of a snapshot file (manifests and transfer files, which Caddy and
 * nginx answer with their 302). The report gives each its own figures.
 */
export type AnswerKind = 'redirect' | 'snapshot'

export const ANSWER_KINDS: readonly AnswerKind[] = ['redirect', 'snapshot']

export function answerKindOf(kind: MixKind): AnswerKind {
  return kind === 'raw' || kind === 'raw-below-path' || kind === 'fallback'
    ? 'redirect'
    : 'snapshot'
}

export interface MixPath {
  readonly kind: MixKind
  readonly path: string
  /** `<tag>/<asset>` below the releases base, or the fallback's path and query. */
  readonly target: string
}

export const MIX: readonly MixPath[] = [
  raw('/extensions/kubernetes-v1.32.2-x86-64.raw', 'kubernetes-v1.32.2'),
  sums('/extensions/kubernetes/SHA256SUMS', 'kubernetes/SHA256SUMS'),
  rawBelow('/extensions/kubernetes/kubernetes-v1.32.2-arm64.raw', 'kubernetes-v1.32.2'),
  conf('/extensions/kubernetes.conf', 'kubernetes/kubernetes.conf'),
  fallback('/docs/getting-started/'),
  raw('/extensions/k3s-v1.31.4+k3s1-x86-64.raw', 'k3s-v1.31.4+k3s1'),
  { kind: 'global-sha256sums', path: '/extensions/SHA256SUMS', target: 'SHA256SUMS/SHA256SUMS' },
  releaseConf('/extensions/kubernetes/kubernetes-v1.32.conf', 'kubernetes/kubernetes-v1.32.conf'),
  raw('/extensions/docker-compose-2.34.0-arm64.raw', 'docker-compose-2.34.0'),
  sums('/extensions/docker-compose/SHA256SUMS', 'docker-compose/SHA256SUMS'),
  rawBelow('/extensions/wasmtime/wasmtime-24.0.0-x86-64.raw', 'wasmtime-24.0.0'),
  conf('/extensions/docker-compose.conf', 'docker-compose/docker-compose.conf'),
  fallback('/favicon.ico'),
  raw('/extensions/crio-v1.30.0-rc1-x86-64.raw', 'crio-v1.30.0-rc1'),
  fallback('/kubernetes/?ref=readme'),
]

function raw(path: string, tag: string): MixPath {
  return { kind: 'raw', path, target: `${tag}/${basename(path)}` }
}

function rawBelow(path: string, tag: string): MixPath {
  return { kind: 'raw-below-path', path, target: `${tag}/${basename(path)}` }
}

function conf(path: string, target: string): MixPath {
  return { kind: 'conf', path, target }
}

function releaseConf(path: string, target: string): MixPath {
  return { kind: 'release-conf', path, target }
}

function sums(path: string, target: string): MixPath {
  return { kind: 'extension-sha256sums', path, target }
}

function fallback(path: string): MixPath {
  return { kind: 'fallback', path, target: path }
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

/** The fake GitHub's assets: every release target of the mix, with plausible bodies. */
export type Fixture = Record<string, Record<string, string | { randomBytes: number; seed: string }>>

export function fixtureFor(mix: readonly MixPath[]): Fixture {
  const fixture: Fixture = {}
  const images = mix
    .filter((entry) => entry.kind === 'raw' || entry.kind === 'raw-below-path')
    .map((entry) => basename(entry.target))
  for (const entry of mix) {
    if (entry.kind === 'fallback') continue
    const slash = entry.target.indexOf('/')
    const tag = entry.target.slice(0, slash)
    const name = entry.target.slice(slash + 1)
    const assets = (fixture[tag] ??= {})
    if (name.endsWith('.raw')) assets[name] = { randomBytes: 4096, seed: name }
    else if (name === 'SHA256SUMS') {
      // The global manifest lists every image; an extension's its own.
      assets[name] = manifest(
        tag === 'SHA256SUMS' ? images : images.filter((i) => i.startsWith(`${tag}-`)),
      )
    } else
      assets[name] =
        `[Source]\nType=url-file\nPath=https://extensions.flatcar.org/extensions/${tag}\n`
  }
  return fixture
}

/** SHA256SUMS as the bakery writes it (and sysupdate parses it). */
function manifest(names: readonly string[]): string {
  return names
    .map((name) => `${createHash('sha256').update(name).digest('hex')}  ${name}\n`)
    .join('')
}

/**
 * A Location reduced to what must be equal across servers: release targets
 * lose their origin (ours is the fake GitHub, the others github.com); the
 * fallback stays whole.
 */
export function comparableLocation(location: string, releasesBase: string): string {
  return location.startsWith(`${releasesBase}/`)
    ? `release:${location.slice(releasesBase.length + 1)}`
    : location
}

/** The bytes the fake GitHub serves for a release target (`<tag>/<asset>`) of the fixture. */
export function fixtureBytes(fixture: Fixture, target: string): string | undefined {
  const slash = target.indexOf('/')
  const asset = fixture[target.slice(0, slash)]?.[target.slice(slash + 1)]
  return typeof asset === 'string' ? asset : undefined
}

/** What the mix says a server's Location must reduce to. */
export function expectedLocation(entry: MixPath, fallbackBase: string): string {
  return entry.kind === 'fallback' ? `${fallbackBase}${entry.target}` : `release:${entry.target}`
}
