import { isIP } from 'node:net'
import { BASE_URL_ACCEPTS, baseUrlOf } from '../core/base-url.js'
import { RedirectorError } from '../core/errors.js'

/**
 * Typed readers for environment variables. Each one names the variable and
 * what it accepts when the value is wrong, so a bad deployment stops at start
 * with a message an operator can act on.
 */
export type Env = Readonly<Record<string, string | undefined>>

/** The error for a bad value: names the variable, the value and what it accepts. */
export function invalid(name: string, value: string, accepts: string): RedirectorError {
  return new RedirectorError(
    'SR_CONFIG_INVALID',
    `${name}=${JSON.stringify(value)} is not valid: ${accepts}`,
  )
}

/** An unset or empty variable takes its default. */
function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim()
  return value === '' ? undefined : value
}

export function readInteger(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = raw(env, name)
  if (value === undefined) return fallback
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(number >= min && number <= max)) {
    throw invalid(name, value, `expected a whole number from ${min} to ${max}`)
  }
  return number
}

export function readPort(env: Env, name: string, fallback: number): number {
  return readInteger(env, name, fallback, 0, 65_535)
}

export function readHost(env: Env, name: string, fallback: string): string {
  const value = raw(env, name) ?? fallback
  if (isIP(value) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)) {
    throw invalid(name, value, 'expected an IP address or a host name')
  }
  return value
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

// The longest any duration setting takes unless it says less: a year.
const MAX_DURATION_MS = 365 * 86_400_000

/** A duration such as `500ms`, `30s`, `5m`, `1h` or `7d`; returns milliseconds. */
export function readDuration(
  env: Env,
  name: string,
  fallbackMs: number,
  maxMs = MAX_DURATION_MS,
): number {
  const value = raw(env, name)
  if (value === undefined) return fallbackMs
  const match = DURATION.exec(value)
  const ms =
    match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  if (Number.isNaN(ms)) {
    throw invalid(
      name,
      value,
      `expected a duration such as ${examplesUpTo(maxMs)}, ${rangeOf(maxMs)}`,
    )
  }
  if (ms > maxMs) throw invalid(name, value, `expected a duration ${rangeOf(maxMs)}`)
  return ms
}

const EXAMPLES: [string, number][] = [
  ['500ms', 500],
  ['30s', 30_000],
  ['5m', 300_000],
  ['1h', 3_600_000],
]

/** "500ms, 30s or 5m": the examples a setting takes, none above its limit. */
function examplesUpTo(maxMs: number): string {
  const names = EXAMPLES.filter(([, ms]) => ms <= maxMs).map(([name]) => name)
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('')
}

/** "at most 10m": the largest duration a setting takes, in its largest whole unit. */
function rangeOf(maxMs: number): string {
  const [unit, size] = Object.entries(UNIT_MS)
    .sort(([, a], [, b]) => b - a)
    .find(([, size]) => maxMs % size === 0) as [string, number]
  return `at most ${maxMs / size}${unit}`
}

/**
 * A duration that must be above zero: zero would mean "no timeout" to undici,
 * "forever" to lru-cache and "refresh on every read" to the manifest index.
 */
export function readPositiveDuration(
  env: Env,
  name: string,
  fallbackMs: number,
  maxMs = MAX_DURATION_MS,
): number {
  const ms = readDuration(env, name, fallbackMs, maxMs)
  if (ms > 0) return ms
  throw invalid(
    name,
    raw(env, name) as string,
    `expected a duration above zero such as ${examplesUpTo(maxMs)}, ${rangeOf(maxMs)}`,
  )
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)
  if (value === undefined) return fallback
  if (/^(true|1|yes|on)$/i.test(value)) return true
  if (/^(false|0|no|off)$/i.test(value)) return false
  throw invalid(name, value, 'expected true or false (or 1 or 0, yes or no, on or off)')
}

export function readChoice<T extends string>(
  env: Env,
  name: string,
  fallback: T,
  choices: readonly T[],
): T {
  const value = raw(env, name)
  if (value === undefined) return fallback
  if (!(choices as readonly string[]).includes(value)) {
    throw invalid(name, value, `expected one of ${choices.join(', ')}`)
  }
  return value as T
}

/** An http(s) URL with no query or fragment; returned without a trailing slash. */
export function readBaseUrl(env: Env, name: string, fallback: string): string {
  const value = raw(env, name) ?? fallback
  const base = baseUrlOf(value)
  if (base === null) throw invalid(name, value, BASE_URL_ACCEPTS)
  return base
}

/** A list of base URLs separated by commas (BAKERY_MIRRORS); [] when unset. */
export function readBaseUrls(env: Env, name: string): string[] {
  const value = raw(env, name)
  if (value === undefined) return []
  return value.split(',').map((part) => {
    const base = baseUrlOf(part.trim())
    if (base === null) throw invalid(name, value, `${BASE_URL_ACCEPTS}, separated by commas`)
    return base
  })
}

/** A setting that may be unset (undefined); when set, it must fit `pattern`. */
export function readOptionalMatch(
  env: Env,
  name: string,
  pattern: RegExp,
  accepts: string,
): string | undefined {
  const value = raw(env, name)
  if (value !== undefined && !pattern.test(value)) throw invalid(name, value, accepts)
  return value
}

export function readOptional(env: Env, name: string): string | undefined {
  return raw(env, name)
}
