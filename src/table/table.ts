import { RedirectorError } from '../core/errors.js'
import {
  compileDirectories,
  compileManifests,
  compileNewest,
  type DirectoryForm,
  type Manifests,
  type NewestLayer,
} from './layers.js'
import { compileMatcher, type Matcher } from './matcher.js'
import { compileSources, ruleSource, type Publisher, type Source } from './sources.js'
import {
  checkOutputTemplate,
  checkPathTemplate,
  parseTemplate,
  type TemplateError,
  type Token,
} from './template.js'

/**
 * How a redirect may be cached. `versioned` targets never change once
 * published (an image of one version); `mutable` ones are replaced in place
 * (indexes, transfer files), so their answers may only be cached briefly.
 * `signature` ones are the detached signatures clients probe for by several
 * names in turn: whether a release has each is learnt once per
 * CHECK_TTL_SIGNATURE (or a webhook), the 404s included, so the probes of a
 * whole fleet cost GitHub a few requests an hour.
 */
export type CacheClass = 'versioned' | 'mutable' | 'signature'

const CACHE_CLASSES: readonly CacheClass[] = ['versioned', 'mutable', 'signature']

export interface Example {
  readonly path: string
  /** Expected Location; `{releases}` and `{fallback}` stand for the configured URLs. */
  readonly location: string
}

export interface Rule {
  readonly name: string
  readonly description: string
  readonly pathTemplate: string
  readonly matcher: Matcher
  readonly release: readonly Token[]
  readonly asset: readonly Token[]
  readonly cache: CacheClass
  /**
   * Whether its files are served from the adopted snapshot (manifests,
   * signatures, transfer files: small and replaced in place) instead of
   * redirected; with UPSTREAM_CHECKS=false they are redirected all the same.
   */
  readonly snapshot: boolean
  /** The source it redirects into; null: the table's default (first) source. */
  readonly source: string | null
  /** Set when it leads to whichever source publishes a name (`source` is then the fallback). */
  readonly publisher: Publisher | null
  readonly examples: readonly Example[]
}

export interface Table {
  /** The repositories it redirects into, the default first; [] for the implicit one (BAKERY_REPO). */
  readonly sources: readonly Source[]
  readonly rules: readonly Rule[]
  /** Paths no layer may take: they must reach the fallback. */
  readonly unmatched: readonly Example[]
  /** Newest-version names the manifest index answers; null: none. */
  readonly newest: NewestLayer | null
  /** Directory pages the manifest index answers. */
  readonly directories: readonly DirectoryForm[]
  readonly manifests: Manifests
}

const TOP_KEYS = new Set(['sources', 'rules', 'unmatched', 'newest', 'directories', 'manifests'])

type Doc = Record<string, unknown>

const MIRRORS_AT_TOP =
  '"mirrors" names no source: give each source its own (sources: {name: {repo: owner/name, mirrors: [URL, ...]}}), or set BAKERY_MIRRORS for a table without sources'

const RULE_KEYS = new Set([
  'name',
  'description',
  'path',
  'source',
  'release',
  'asset',
  'cache',
  'snapshot',
  'examples',
])
const RULE_NAME = /^[a-z0-9][a-z0-9-]*$/

/** Validates a parsed table document and compiles its rules. */
export function compileTable(doc: unknown): Table {
  if (!isObject(doc)) throw invalid('the table must be a mapping with a "rules" list')
  for (const key of Object.keys(doc)) {
    // Mirrors belong to a source: a list of its own would name none.
    if (key === 'mirrors') throw invalid(MIRRORS_AT_TOP)
    if (!TOP_KEYS.has(key)) throw invalid(`unknown top-level key "${key}"`)
  }
  if (!Array.isArray(doc.rules) || doc.rules.length === 0) {
    throw invalid('"rules" must be a non-empty list')
  }
  const sources = compileSources(doc.sources)
  const names = new Set<string>()
  const rules = doc.rules.map((entry: unknown, index: number) => {
    const rule = compileRule(entry, index, sources)
    if (names.has(rule.name)) throw invalid(`rule "${rule.name}": the name is used twice`)
    names.add(rule.name)
    return rule
  })
  return {
    sources,
    rules,
    unmatched: readExamples(doc.unmatched, 'unmatched'),
    newest: compileNewest(doc.newest),
    directories: compileDirectories(doc.directories, sources),
    manifests: compileManifests(doc.manifests),
  }
}

function compileRule(entry: unknown, index: number, sources: readonly Source[]): Rule {
  if (!isObject(entry)) throw invalid(`rule #${index + 1}: must be a mapping`)
  const name = entry.name
  if (typeof name !== 'string' || !RULE_NAME.test(name)) {
    throw invalid(`rule #${index + 1}: "name" must be lower-case letters, digits and dashes`)
  }
  const where = `rule "${name}"`
  for (const key of Object.keys(entry)) {
    if (!RULE_KEYS.has(key)) throw invalid(`${where}: unknown key "${key}"`)
  }
  const pathTemplate = requireString(entry, 'path', where)
  const path = withContext(where, 'path', () => parseTemplate(pathTemplate))
  withContext(where, 'path', () => checkPathTemplate(path))
  const release = compileOutput(entry, 'release', path, where)
  const asset = compileOutput(entry, 'asset', path, where)
  const cache = (entry.cache ?? 'mutable') as CacheClass
  if (!CACHE_CLASSES.includes(cache)) {
    throw invalid(`${where}: "cache" must be "versioned", "mutable" or "signature"`)
  }
  const description = entry.description ?? ''
  if (typeof description !== 'string') throw invalid(`${where}: "description" must be text`)
  const snapshot = entry.snapshot ?? false
  if (typeof snapshot !== 'boolean') throw invalid(`${where}: "snapshot" must be true or false`)
  if (snapshot && cache === 'versioned') {
    throw invalid(`${where}: a "versioned" file never changes: it is redirected, not a snapshot`)
  }
  const { source, publisher } = ruleSource(entry.source, sources, where, (template) =>
    compileOutputText(template, path, `${where}: "source"`, 'publisher-of'),
  )
  return {
    name,
    description,
    pathTemplate,
    matcher: compileMatcher(path),
    release,
    asset,
    cache,
    snapshot,
    source,
    publisher,
    examples: readExamples(entry.examples, `${where}: examples`),
  }
}

function compileOutput(entry: Doc, key: string, path: Token[], where: string): Token[] {
  return compileOutputText(requireString(entry, key, where), path, where, key)
}

/** An output template from the path's captures. */
function compileOutputText(text: string, path: Token[], where: string, key: string): Token[] {
  const tokens = withContext(where, key, () => parseTemplate(text))
  withContext(where, key, () => checkOutputTemplate(tokens, path))
  return tokens
}

function readExamples(value: unknown, where: string): Example[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalid(`${where} must be a list`)
  return value.map((example: unknown, i: number) => {
    const at = `${where} #${i + 1}`
    if (!isObject(example)) throw invalid(`${at} must be a mapping with "path" and "location"`)
    return {
      path: requireString(example, 'path', at),
      location: requireString(example, 'location', at),
    }
  })
}

function requireString(doc: Doc, key: string, where: string): string {
  const value = doc[key]
  if (typeof value !== 'string' || value === '') throw invalid(`${where}: "${key}" must be text`)
  return value
}

function withContext<T>(where: string, key: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    // Only template checks run here, and they throw TemplateError alone.
    throw invalid(`${where}: "${key}" ${(err as TemplateError).message}`)
  }
}

function isObject(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(message: string): RedirectorError {
  return new RedirectorError('SR_TABLE_INVALID', message)
}
