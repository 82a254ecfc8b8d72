import type { Config } from '../config/service.js'
import type { CacheClass } from '../table/table.js'
import type { UpstreamConfig } from '../config/upstream.js'

/**
 * How long a shared cache (a CDN, a proxy) or a client may keep each kind of
 * answer. The rule: the lifetime follows what the service knows. A confirmed
 * versioned image never changes, so its redirect is kept long; anything the
 * service could not confirm (GitHub did not answer, or the manifest behind it
 * is a stale copy) is kept only until the service will have asked again, so
 * a redirect into a release that does not exist is never kept for a day.
 * docs/using.md's "Cache lifetimes" table says the same.
 */
export interface Lifetimes {
  /** A table redirect, by its rule's class, confirmed or unchecked (UPSTREAM_CHECKS=false). */
  readonly versioned: string
  readonly mutable: string
  /** The docs-site fallback. */
  readonly fallback: string
  /** A newest-version redirect or a directory page: they move on every publish. */
  readonly moving: string
  /** A definite 404: the asset, extension or stream does not exist. */
  readonly missing: string
  /** A redirect or page the service could not confirm. */
  readonly unconfirmed: string
  /** A snapshot file served with its bytes: short, so a cache never pairs revisions for long. */
  readonly snapshot: string
}

/** The most seconds a cache in front of the service keeps a snapshot file. */
export const SNAPSHOT_MAX_AGE = 10

/** Answers that must not be kept at all: errors, 503s, refused input. */
export const NO_STORE = 'no-store'

export function publicMaxAge(seconds: number): string {
  return `public, max-age=${seconds}`
}

export function lifetimesOf(
  maxAge: Config['redirectMaxAge'],
  ttlMs: Pick<UpstreamConfig['ttlMs'], 'missing' | 'unknown'>,
): Lifetimes {
  // Unconfirmed: until the service asks GitHub again, and never longer than a mutable answer.
  const unconfirmed = Math.min(maxAge.mutable, Math.ceil(ttlMs.unknown / 1000))
  return {
    versioned: publicMaxAge(maxAge.versioned),
    mutable: publicMaxAge(maxAge.mutable),
    fallback: publicMaxAge(maxAge.fallback),
    moving: publicMaxAge(maxAge.mutable),
    missing: publicMaxAge(Math.floor(ttlMs.missing / 1000)),
    unconfirmed: publicMaxAge(unconfirmed),
    snapshot: publicMaxAge(Math.min(maxAge.mutable, SNAPSHOT_MAX_AGE)),
  }
}

export function byClass(lifetimes: Lifetimes, cache: CacheClass): string {
  return cache === 'versioned' ? lifetimes.versioned : lifetimes.mutable
}
