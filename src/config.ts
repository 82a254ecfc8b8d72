import {
  readBaseUrl,
  readBoolean,
  readChoice,
  readDuration,
  readHost,
  readOptional,
  readPort,
  readString,
  type Env,
} from './config/env.js'
import { parseIndexConfig, type IndexConfig } from './index/config.js'
import { parseMetricsConfig, type MetricsConfig } from './metrics/config.js'
import { parseProtectionConfig, type ProtectionConfig } from './protection/config.js'
import { parseSharedConfig, type SharedConfig } from './shared/config.js'
import { releasesBase, type Origins } from './table/resolve.js'
import { parseUpstreamConfig, type UpstreamConfig } from './upstream/config.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Everything the service is told at start, parsed and validated once. */
export interface Config {
  readonly port: number
  readonly host: string
  /** GitHub's web origin (or a fake one in tests), no trailing slash. */
  readonly githubUrl: string
  /** `owner/name` of the repository whose releases hold the extensions. */
  readonly repo: string
  /** A pattern table file; undefined means the built-in Flatcar table. */
  readonly patternTable: string | undefined
  readonly fallbackUrl: string
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
  /** Existence checks with GitHub before redirecting (src/upstream/config.ts). */
  readonly upstream: UpstreamConfig
  /** Client address, rate limiting (src/protection/config.ts). */
  readonly protection: ProtectionConfig
  /** The Prometheus listener (src/metrics/config.ts). */
  readonly metrics: MetricsConfig
  /** Newest-version URLs, the directory, the webhook (src/index/config.ts). */
  readonly index: IndexConfig
  /** What a fleet shares in Redis (src/shared/config.ts). */
  readonly shared: SharedConfig
}

// GitHub's own rules: owner up to 39 alphanumerics or dashes, repo name of
// alphanumerics, `.`, `-` and `_` (but not `.` or `..` alone).
const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/

export function parseConfig(env: Env): Config {
  return {
    port: readPort(env, 'PORT', 8080),
    host: readHost(env, 'HOST', '0.0.0.0'),
    githubUrl: readBaseUrl(env, 'GITHUB_URL', 'https://github.com'),
    repo: readString(
      env,
      'BAKERY_REPO',
      'flatcar/sysext-bakery',
      REPO,
      'expected owner/name of a GitHub repository',
    ),
    patternTable: readOptional(env, 'PATTERN_TABLE'),
    fallbackUrl: readBaseUrl(env, 'FALLBACK_URL', 'https://flatcar.github.io/sysext-bakery'),
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
    shared: parseSharedConfig(env),
  }
}

export function originsOf(config: Config): Origins {
  return { releases: releasesBase(config.githubUrl, config.repo), fallback: config.fallbackUrl }
}

// Cache-Control speaks whole seconds.
function seconds(ms: number): number {
  return Math.floor(ms / 1000)
}
