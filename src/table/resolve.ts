import { encodePath, type Target } from '../path/normalise.js'
import { matchPath, type Captures } from './matcher.js'
import type { Rule, Table } from './table.js'
import { renderOutput } from './template.js'

/** Where redirects lead: the release download base and the fallback site. */
export interface Origins {
  /** `<GITHUB_URL>/<owner>/<repo>/releases/download`, no trailing slash. */
  readonly releases: string
  /** The site for everything else, no trailing slash. */
  readonly fallback: string
}

export interface ReleaseTarget {
  readonly kind: 'release'
  readonly rule: Rule
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
  const location = `${origins.releases}/${release}/${asset}`
  return { kind: 'release', rule, captures, release, asset, location }
}
