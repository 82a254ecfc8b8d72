import { BASE_URL_ACCEPTS, baseUrlOf } from '../core/base-url.js'
import { RedirectorError } from '../core/errors.js'
import type { Token } from './template.js'

/**
 * The GitHub repositories a table redirects into, each under a short name
 * its rules use (`source: community`). A table that names none has one,
 * the implicit source, whose repository is BAKERY_REPO: every table written
 * before sources existed means exactly that.
 */
export interface Source {
  readonly name: string
  /** `owner/name` on GitHub. */
  readonly repo: string
  /**
   * A file of the OpenPGP public keys that sign its manifests (`signing-keys:`,
   * relative to the table's folder); unset: its manifests are not verified.
   */
  readonly signingKeys?: string | undefined
  /**
   * Base URLs holding copies of its releases as GitHub lays them out,
   * `<base>/<tag>/<asset>` (`mirrors:`), asked in order when GitHub cannot
   * say or says missing; unset: none.
   */
  readonly mirrors?: readonly string[] | undefined
  /** Which clients are sent to the mirrors before GitHub (`mirrors-first:`); unset: none. */
  readonly mirrorsFirst?: MirrorsFirst | undefined
}

/**
 * Which clients go to a source's mirrors first: none (GitHub first, the
 * mirrors when it fails), IPv6 clients (GitHub's downloads have no IPv6),
 * or every client (a mirror nearer than GitHub).
 */
export const MIRRORS_FIRST = ['never', 'ipv6', 'all'] as const
export type MirrorsFirst = (typeof MIRRORS_FIRST)[number]

/** The implicit source's name, in logs and metrics, for a table that declares none. */
export const IMPLICIT_SOURCE = 'bakery'

// GitHub's own rules: owner up to 39 alphanumerics or dashes, repo name of
// alphanumerics, `.`, `-` and `_` (but not `.` or `..` alone).
export const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/

const SOURCE_NAME = /^[a-z][a-z0-9-]{0,30}$/

/** A table's `sources:` mapping, name to repository, in order (the first is the default). */
export function compileSources(value: unknown): Source[] {
  if (value === undefined) return []
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('"sources" must map short names to GitHub repositories (owner/name)')
  }
  const sources = Object.entries(value).map(([name, given]): Source => {
    if (!SOURCE_NAME.test(name)) {
      throw invalid(`source "${name}": the name must be lower-case letters, digits and dashes`)
    }
    // `name: owner/repo`, or `name: { repo: owner/repo, signing-keys: file, mirrors: [...] }`.
    const long = typeof given === 'object' && given !== null && !Array.isArray(given)
    const fields = (long ? given : { repo: given }) as Record<string, unknown>
    for (const key of Object.keys(fields)) {
      if (!SOURCE_KEYS.includes(key)) {
        throw invalid(`source "${name}": unknown key "${key}" (expected ${SOURCE_KEYS.join(', ')})`)
      }
    }
    const { repo, 'signing-keys': keys } = fields
    if (typeof repo !== 'string' || !REPO.test(repo)) {
      throw invalid(`source "${name}": expected owner/name of a GitHub repository`)
    }
    if (keys !== undefined && (typeof keys !== 'string' || keys === '')) {
      throw invalid(`source "${name}": "signing-keys" must be the path of a file of public keys`)
    }
    const source: Source = keys === undefined ? { name, repo } : { name, repo, signingKeys: keys }
    return { ...source, ...mirrorsOf(fields, `source "${name}"`) }
  })
  if (sources.length === 0) throw invalid('"sources" must name at least one repository')
  return sources
}

const SOURCE_KEYS = ['repo', 'signing-keys', 'mirrors', 'mirrors-first']

/** A source's `mirrors:` and `mirrors-first:`, checked; neither given: nothing. */
function mirrorsOf(
  fields: Record<string, unknown>,
  at: string,
): Pick<Source, 'mirrors' | 'mirrorsFirst'> {
  const { mirrors, 'mirrors-first': first } = fields
  if (mirrors === undefined) {
    if (first !== undefined) throw invalid(`${at}: "mirrors-first" needs "mirrors"`)
    return {}
  }
  if (!Array.isArray(mirrors) || mirrors.length === 0) {
    throw invalid(`${at}: "mirrors" must list one or more base URLs`)
  }
  const bases = mirrors.map((value: unknown) => {
    const base = typeof value === 'string' ? baseUrlOf(value) : null
    if (base === null) {
      throw invalid(`${at}: mirror ${JSON.stringify(value)} is not valid: ${BASE_URL_ACCEPTS}`)
    }
    return base
  })
  if (first !== undefined && !(MIRRORS_FIRST as readonly unknown[]).includes(first)) {
    throw invalid(`${at}: "mirrors-first" must be one of ${MIRRORS_FIRST.join(', ')}`)
  }
  return { mirrors: bases, mirrorsFirst: (first ?? 'never') as MirrorsFirst }
}

/**
 * A rule that leads to whichever source publishes a name: the source whose
 * global manifest lists images of it, when exactly one does; otherwise
 * (none does, several do, or a manifest cannot be read) the declared one.
 */
export interface Publisher {
  /** The extension name, rendered from the rule's captures (`{name}`). */
  readonly name: readonly Token[]
  /** Where the name goes when the manifests do not pick exactly one source. */
  readonly otherwise: string
}

/** A rule's `source:`: the source it leads into (null: the default), or whichever publishes a name. */
export interface RuleSource {
  readonly source: string | null
  readonly publisher: Publisher | null
}

const PUBLISHER_KEYS = ['publisher-of', 'otherwise']

/**
 * Reads a rule's `source:`, which must name a source the table declares:
 * `source: community`, or `source: {publisher-of: '{name}', otherwise: fedora}`.
 */
export function ruleSource(
  value: unknown,
  sources: readonly Source[],
  where: string,
  compileName: (template: string) => Token[],
): RuleSource {
  if (value === undefined) return { source: null, publisher: null }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return publisherSource(value as Record<string, unknown>, sources, where, compileName)
  }
  return { source: declared(value, sources, `${where}: "source"`), publisher: null }
}

function publisherSource(
  value: Record<string, unknown>,
  sources: readonly Source[],
  where: string,
  compileName: (template: string) => Token[],
): RuleSource {
  const at = `${where}: "source"`
  for (const key of Object.keys(value)) {
    if (!PUBLISHER_KEYS.includes(key)) {
      throw invalid(`${at}: unknown key "${key}" (expected ${PUBLISHER_KEYS.join(', ')})`)
    }
  }
  const of = value['publisher-of']
  if (typeof of !== 'string') {
    throw invalid(`${at}: "publisher-of" must be a template naming the extension, such as '{name}'`)
  }
  if (sources.length < 2) throw invalid(`${at}: "publisher-of" needs two or more "sources"`)
  const otherwise = declared(value.otherwise, sources, `${at}: "otherwise"`)
  return { source: otherwise, publisher: { name: compileName(of), otherwise } }
}

/** An optional `source:` naming one the table declares (a directory form's); null: the default. */
export function sourceName(value: unknown, sources: readonly Source[], at: string): string | null {
  return value === undefined ? null : declared(value, sources, at)
}

/** A source name the table declares. */
function declared(value: unknown, sources: readonly Source[], at: string): string {
  if (typeof value !== 'string' || !sources.some((source) => source.name === value)) {
    const names = sources.map((source) => source.name)
    throw invalid(
      names.length === 0
        ? `${at}: needs the table's "sources" to declare it`
        : `${at}: must be one of ${names.join(', ')}`,
    )
  }
  return value
}

function invalid(message: string): RedirectorError {
  return new RedirectorError('SR_TABLE_INVALID', message)
}

/** A release tag in one source: what a webhook delivery invalidates. */
export interface SourceTag {
  readonly source: string
  readonly tag: string
}

/**
 * A release as the fleet's shared store names it (checks and manifests):
 * with its source, so a tag two repositories both have (`latest`) is kept,
 * and retired, apart. Source names hold no `/`, so the first `/` splits it
 * again.
 */
export function sharedRelease(source: string, release: string): string {
  return `${source}/${release}`
}

/** sharedRelease's parts again. */
export function splitSharedRelease(qualified: string): SourceTag {
  const slash = qualified.indexOf('/')
  return { source: qualified.slice(0, slash), tag: qualified.slice(slash + 1) }
}
