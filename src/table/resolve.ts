import { encodePath, type Target } from '../path/normalise.js'
import { matchPath, type Captures } from './matcher.js'
import { IMPLICIT_SOURCE, type MirrorsFirst } from './sources.js'
import type { Rule, Table } from './table.js'
import { renderOutput } from './template.js'

/** Where redirects lead: the release download bases and the fallback site. */
export interface Origins {
  /** The default source's `<GITHUB_URL>/<owner>/<repo>/releases/download`, no trailing slash. */
  readonly releases: string
  /** The site for everything else, no trailing slash. */
  readonly fallback: string
  /** The default source's name: rules without a `source` lead into it. */
  readonly source: string
  /** Each source's release download base, by source name (the default's included). */
  readonly sources: Readonly<Record<string, string>>
  /** Each source's name by its repository, lower-case `owner/name` (GitHub's webhooks name it). */
  readonly repos: Readonly<Record<string, string>>
  /** Each source's mirrors, base URLs laid out as its release downloads; a source without none. */
  readonly mirrors: Readonly<Record<string, Mirrors>>
}

/** A source's mirrors, in the order they are asked, and which clients go to them first. */
export interface Mirrors {
  readonly bases: readonly string[]
  readonly first: MirrorsFirst
}

export interface ReleaseTarget {
  readonly kind: 'release'
  readonly rule: Rule
  /** The name of the source it leads into. */
  readonly source: string
  readonly captures: Captures
  readonly release: string
  readonly asset: string
  readonly location: string
}

export interface FallbackTarget {
  readonly kind: 'fallback'
  readonly location: string
}

export type Resolution = ReleaseTarget | FallbackTarget

/** Origins of a table with one source, the implicit one: as every table before sources. */
export function singleSource(releases: string, fallback: string): Origins {
  return {
    releases,
    fallback,
    source: IMPLICIT_SOURCE,
    sources: { [IMPLICIT_SOURCE]: releases },
    repos: {},
    mirrors: {},
  }
}

export function releasesBase(githubUrl: string, repo: string): string {
  return `${githubUrl.replace(/\/+$/, '')}/${repo}/releases/download`
}

/** First match wins; a path no rule takes goes to the fallback site. */
export function resolve(table: Table, target: Target, origins: Origins): Resolution {
  for (const rule of table.rules) {
    const hit = tryRule(rule, target.path, origins)
    if (typeof hit !== 'string') return hit
  }
  return fallback(target, origins)
}

export function fallback(target: Target, origins: Origins): FallbackTarget {
  const query = target.query === '' ? '' : `?${target.query}`
  return { kind: 'fallback', location: `${origins.fallback}${encodePath(target.path)}${query}` }
}

/** A match, or the reason this rule does not take the path. */
export function tryRule(rule: Rule, path: string, origins: Origins): ReleaseTarget | string {
  const captures = matchPath(rule.matcher, path)
  if (captures === null) return `does not fit ${rule.pathTemplate}`
  const release = renderOutput(rule.release, captures)
  const asset = renderOutput(rule.asset, captures)
  // Captures never hold "/", but a whole tag or asset of "." or ".." would
  // still climb out of releases/download once a client resolves the URL.
  for (const part of [release, asset]) {
    if (part === '.' || part === '..') return `would name "${part}", which is not a file`
  }
  // The rule's source was checked against the table, and the table's sources against the origins
  // (load.ts): a rule without one leads into the default.
  const base = rule.source === null ? origins.releases : (origins.sources[rule.source] as string)
  const location = `${base}/${release}/${asset}`
  const source = rule.source ?? origins.source
  return { kind: 'release', rule, source, captures, release, asset, location }
}

/** The same target in another of the table's sources (a rule that follows the publisher). */
export function inSource(target: ReleaseTarget, source: string, origins: Origins): ReleaseTarget {
  const location = `${origins.sources[source] as string}/${target.release}/${target.asset}`
  return { ...target, source, location }
}
