import {
  readBaseUrl,
  readBaseUrls,
  readBoolean,
  readChoice,
  readDuration,
  readHost,
  readOptional,
  readPort,
  readOptionalMatch,
  type Env,
} from './env.js'
import { parseWebhookConfig, type WebhookConfig } from './webhooks.js'
import { parseIndexConfig, type IndexConfig } from './manifests.js'
import { parseMetricsConfig, type MetricsConfig } from './metrics.js'
import { parseProtectionConfig, type ProtectionConfig } from './protection.js'
import { parseRedisPlan, type RedisPlan } from './redis.js'
import { RedirectorError } from '../core/errors.js'
import { releasesBase, type Origins } from '../table/resolve.js'
import {
  IMPLICIT_SOURCE,
  MIRRORS_FIRST,
  REPO,
  type MirrorsFirst,
  type Source,
} from '../table/sources.js'
import type { Table } from '../table/table.js'
import { parseUpstreamConfig, type UpstreamConfig } from './upstream.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Everything the service is told at start, parsed and validated once. */
export interface Config {
  readonly port: number
  /** HOST; undefined: every address, IPv6 and IPv4 alike (boot/dual-stack.ts). */
  readonly host: string | undefined
  /** GitHub's web origin (or a fake one in tests), no trailing slash. */
  readonly githubUrl: string
  /**
   * BAKERY_REPO: `owner/name` of the repository of a table's one source
   * (src/table/sources.ts); undefined when not set: the table's own, or
   * the Flatcar bakery for a table that names none.
   */
  readonly repo: string | undefined
  /** A pattern table file; undefined means the built-in Flatcar table. */
  readonly patternTable: string | undefined
  /** BAKERY_MIRRORS: the mirrors of a table of one source (originsOf); [] when unset. */
  readonly mirrors: readonly string[]
  /** BAKERY_MIRRORS_FIRST: which clients go to them first. */
  readonly mirrorsFirst: MirrorsFirst
  /** SIGNING_KEYS: the OpenPGP public keys of a table of one source (keyFilesOf). */
  readonly signingKeys: string | undefined
  readonly fallbackUrl: string
  /** PUBLIC_URL: the base URL the directory's snippets name; undefined: the request's host. */
  readonly publicUrl: string | undefined
  readonly logLevel: LogLevel
  /** Seconds a client or CDN may keep a redirect, by the target's cache class. */
  readonly redirectMaxAge: {
    readonly versioned: number
    readonly mutable: number
    readonly fallback: number
  }
  /**
   * REDIRECT_LANE: redirects known from memory answered before Fastify
   * (src/lane/); false sends every request through Fastify.
   */
  readonly redirectLane: boolean
  /** How long in-flight requests get to finish after SIGTERM or SIGINT. */
  readonly shutdownTimeoutMs: number
  /** Existence checks with GitHub before redirecting (src/config/upstream.ts). */
  readonly upstream: UpstreamConfig
  /** Client address, rate limiting (src/config/protection.ts). */
  readonly protection: ProtectionConfig
  /** The Prometheus listener (src/config/metrics.ts). */
  readonly metrics: MetricsConfig
  /** Newest-version URLs, the directory, the snapshot (src/config/manifests.ts). */
  readonly index: IndexConfig
  /** The GitHub webhook (src/config/webhooks.ts). */
  readonly webhook: WebhookConfig
  /** What a fleet keeps in Redis, over one connection (src/config/redis.ts); undefined: nothing. */
  readonly redis: RedisPlan | undefined
}

export function parseConfig(env: Env): Config {
  return {
    port: readPort(env, 'PORT', 8080),
    host: readOptional(env, 'HOST') === undefined ? undefined : readHost(env, 'HOST', ''),
    githubUrl: readBaseUrl(env, 'GITHUB_URL', 'https://github.com'),
    repo: readOptionalMatch(env, 'BAKERY_REPO', REPO, 'expected owner/name of a GitHub repository'),
    patternTable: readOptional(env, 'PATTERN_TABLE'),
    mirrors: readBaseUrls(env, 'BAKERY_MIRRORS'),
    mirrorsFirst: readChoice(env, 'BAKERY_MIRRORS_FIRST', 'never', MIRRORS_FIRST),
    signingKeys: readOptional(env, 'SIGNING_KEYS'),
    fallbackUrl: readBaseUrl(env, 'FALLBACK_URL', 'https://flatcar.github.io/sysext-bakery'),
    publicUrl:
      readOptional(env, 'PUBLIC_URL') === undefined
        ? undefined
        : readBaseUrl(env, 'PUBLIC_URL', ''),
    logLevel: readChoice(env, 'LOG_LEVEL', 'info', LOG_LEVELS),
    redirectMaxAge: {
      versioned: seconds(readDuration(env, 'REDIRECT_MAX_AGE_VERSIONED', 86_400_000)),
      mutable: seconds(readDuration(env, 'REDIRECT_MAX_AGE_MUTABLE', 60_000)),
      fallback: seconds(readDuration(env, 'REDIRECT_MAX_AGE_FALLBACK', 3_600_000)),
    },
    redirectLane: readBoolean(env, 'REDIRECT_LANE', true),
    shutdownTimeoutMs: readDuration(env, 'SHUTDOWN_TIMEOUT', 10_000, 600_000),
    upstream: parseUpstreamConfig(env),
    protection: parseProtectionConfig(env),
    metrics: parseMetricsConfig(env),
    index: parseIndexConfig(env),
    webhook: parseWebhookConfig(env),
    redis: parseRedisPlan(env),
  }
}

/** A file of OpenPGP public keys, and the setting that names it (for its errors). */
export interface KeyFileSetting {
  readonly path: string
  readonly setting: string
}

/**
 * Each source's signing keys, by source name: SIGNING_KEYS for a table of
 * one source (as BAKERY_REPO), else each source's `signing-keys:` in the
 * table; SIGNING_KEYS with several sources would be ambiguous and stops the start.
 */
export function keyFilesOf(
  config: Config,
  table: Pick<Table, 'sources'>,
): Record<string, KeyFileSetting> {
  const declared = table.sources
  if (config.signingKeys !== undefined) {
    if (declared.length > 1) {
      throw new RedirectorError(
        'SR_CONFIG_INVALID',
        `SIGNING_KEYS names the keys of a table with one source; this table has ${declared.length} (${declared.map((source) => source.name).join(', ')}): give each source its signing-keys in the table`,
      )
    }
    const name = declared[0]?.name ?? IMPLICIT_SOURCE
    return { [name]: { path: config.signingKeys, setting: 'SIGNING_KEYS' } }
  }
  const files: Record<string, KeyFileSetting> = {}
  for (const { name, signingKeys } of declared) {
    if (signingKeys !== undefined) {
      files[name] = { path: signingKeys, setting: `source "${name}" signing-keys` }
    }
  }
  return files
}

/** The repository of a table that names none. */
export const DEFAULT_REPO = 'flatcar/sysext-bakery'

/**
 * Where the table's redirects lead: each source's release downloads (the
 * first is the default), its mirrors, and the fallback site. BAKERY_REPO
 * and BAKERY_MIRRORS replace those of a table with one source; a table with
 * several names its own, and either setting would be ambiguous there, so it
 * stops the start.
 */
export function originsOf(config: Config, table: Pick<Table, 'sources'>): Origins {
  const declared = table.sources
  const several = declared.length > 1
  if (config.repo !== undefined && several)
    throw ambiguous('BAKERY_REPO', declared, 'repository', 'repositories')
  if (config.mirrors.length > 0 && several)
    throw ambiguous('BAKERY_MIRRORS', declared, 'mirrors', 'mirrors')
  const given: Partial<Source> =
    config.mirrors.length > 0 ? { mirrors: config.mirrors, mirrorsFirst: config.mirrorsFirst } : {}
  const sources: Source[] =
    declared.length === 0
      ? [{ name: IMPLICIT_SOURCE, repo: config.repo ?? DEFAULT_REPO, ...given }]
      : declared.map((source) => ({ ...source, repo: config.repo ?? source.repo, ...given }))
  const bases = Object.fromEntries(
    sources.map((source) => [source.name, releasesBase(config.githubUrl, source.repo)]),
  )
  const first = sources[0] as Source
  return {
    releases: bases[first.name] as string,
    fallback: config.fallbackUrl,
    source: first.name,
    sources: bases,
    repos: Object.fromEntries(sources.map((source) => [source.repo.toLowerCase(), source.name])),
    mirrors: Object.fromEntries(
      sources.flatMap(({ name, mirrors, mirrorsFirst }) =>
        mirrors === undefined ? [] : [[name, { bases: mirrors, first: mirrorsFirst ?? 'never' }]],
      ),
    ),
  }
}

/** A setting that replaces one source's part, given for a table of several. */
function ambiguous(
  setting: string,
  declared: readonly Source[],
  part: string,
  parts: string,
): RedirectorError {
  const names = declared.map((source) => source.name).join(', ')
  return new RedirectorError(
    'SR_CONFIG_INVALID',
    `${setting} replaces the ${part} of a table with one source; this table has ${declared.length} (${names}): change their ${parts} in the table`,
  )
}

// Cache-Control speaks whole seconds.
function seconds(ms: number): number {
  return Math.floor(ms / 1000)
}
