import type { Clock } from '../cache/refreshing.js'

/** Why a request to GitHub was not sent: GitHub asked us to wait, or this second's budget is spent. */
export type HeldBack = 'paused' | 'budget'

export interface GateEvents {
  /** GitHub said stop (a 429 or 403): nothing goes upstream for `seconds`. */
  paused(seconds: number): void
  /** A request that was not sent, and why. */
  heldBack(reason: HeldBack): void
}

/** For a gate nobody watches (explain --live). */
export const noGateEvents: GateEvents = { paused: () => undefined, heldBack: () => undefined }

export interface GateOptions {
  readonly clock: Clock
  /** Existence checks this instance may send per second; a burst of one second's worth. */
  readonly checksPerSecond: number
  readonly events: GateEvents
  readonly log: { warn(details: object, message: string): void }
}

// Without a hint from GitHub, a pause lasts a minute; whatever it says, at most an hour.
const DEFAULT_PAUSE_MS = 60_000
const MAX_PAUSE_MS = 3_600_000

/**
 * What may go to GitHub now, shared by the existence checks and the manifest
 * index. GitHub's "stop" (429, or 403 as it answers a secondary rate limit)
 * pauses every request for as long as it says (Retry-After, else
 * x-ratelimit-reset, else a minute): meanwhile answers come from memory or
 * by the fail mode. Checks also draw on a per-second budget, so names a
 * client invents cost GitHub a bounded number of requests.
 */
export class UpstreamGate {
  readonly #options: GateOptions
  #pausedUntil = -Infinity
  #tokens: number
  #refilledAt: number

  constructor(options: GateOptions) {
    this.#options = options
    this.#tokens = options.checksPerSecond
    this.#refilledAt = options.clock.now()
  }

  /** Whether an existence check may be sent now; it takes one of this second's budget when it may. */
  admitCheck(): HeldBack | null {
    const held = this.admitFetch()
    if (held !== null) return held
    this.#refill()
    if (this.#tokens < 1) return this.#hold('budget')
    this.#tokens--
    return null
  }

  /** Whether a manifest fetch may be sent now (no budget: the index asks for few). */
  admitFetch(): HeldBack | null {
    return this.#options.clock.now() < this.#pausedUntil ? this.#hold('paused') : null
  }

  /** GitHub answered `status`; a 429 or 403 pauses everything for as long as it asks. */
  observe(status: number, headers: Readonly<Record<string, unknown>>): void {
    const ms = pauseAsked(status, headers, Date.now())
    if (ms === undefined) return
    const { clock, events, log } = this.#options
    const until = clock.now() + ms
    if (until <= this.#pausedUntil) return
    this.#pausedUntil = until
    events.paused(ms / 1000)
    log.warn(
      { status, seconds: Math.ceil(ms / 1000) },
      'GitHub asked us to slow down: no upstream requests until the pause ends',
    )
  }

  #refill(): void {
    const { clock, checksPerSecond } = this.#options
    const now = clock.now()
    const earned = ((now - this.#refilledAt) / 1000) * checksPerSecond
    this.#tokens = Math.min(checksPerSecond, this.#tokens + earned)
    this.#refilledAt = now
  }

  #hold(reason: HeldBack): HeldBack {
    this.#options.events.heldBack(reason)
    return reason
  }
}

/**
 * How long GitHub asks us to wait, in milliseconds, or undefined when it did
 * not ask (any status but 429 and 403). Retry-After in seconds or as a date,
 * else x-ratelimit-reset (epoch seconds), else a minute; at most an hour.
 */
export function pauseAsked(
  status: number,
  headers: Readonly<Record<string, unknown>>,
  wallNow: number,
): number | undefined {
  if (status !== 429 && status !== 403) return undefined
  const asked = retryAfterMs(headers['retry-after'], wallNow) ?? resetMs(headers, wallNow)
  return Math.min(MAX_PAUSE_MS, Math.max(1000, asked ?? DEFAULT_PAUSE_MS))
}

function retryAfterMs(value: unknown, wallNow: number): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : date - wallNow
}

function resetMs(headers: Readonly<Record<string, unknown>>, wallNow: number): number | undefined {
  const reset = headers['x-ratelimit-reset']
  if (typeof reset !== 'string' || !/^\d+$/.test(reset)) return undefined
  return Number(reset) * 1000 - wallNow
}
