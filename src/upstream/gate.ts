import { LRUCache } from 'lru-cache'
import type { Clock } from '../cache/refreshing.js'
import { clientKey } from '../core/address.js'

/**
 * Why a request to GitHub was not sent: GitHub asked us to wait, this
 * second's budget is spent, or the asking client's share of it is.
 */
export const HELD_BACK = ['paused', 'budget', 'client'] as const
export type HeldBack = (typeof HELD_BACK)[number]

/** Who a check is for: a client's request, or (none) the service itself. */
export interface CheckAsker {
  /** The client's address; its share of the budget is counted by clientKey (an IPv6 /64 as one). */
  readonly client: string
  /** Whether an adopted manifest lists the name: such names may spend the whole budget. */
  readonly listed: boolean
}

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
  /** What one client's requests may spend of it per second; a burst of one second's worth. */
  readonly checksPerClient: number
  readonly events: GateEvents
  readonly log: { warn(details: object, message: string): void }
}

// Without a hint from GitHub, a pause lasts a minute; whatever it says, at most an hour.
const DEFAULT_PAUSE_MS = 60_000
const MAX_PAUSE_MS = 3_600_000
// Clients whose share is remembered; one forgotten comes back with a full share.
const CLIENTS_REMEMBERED = 10_000

/** Tokens earned at a rate per second, up to one second's worth. */
interface Bucket {
  tokens: number
  at: number
}

/**
 * What may go to GitHub now, shared by the existence checks and the manifest
 * index. GitHub's "stop" (429, or 403 as it answers a secondary rate limit)
 * pauses every request for as long as it says (Retry-After, else
 * x-ratelimit-reset, else a minute): meanwhile answers come from memory or
 * by the fail mode. Checks also draw on a per-second budget, so names a
 * client invents cost GitHub a bounded number of requests; and each client
 * on its own share of it, so that one client inventing names cannot spend
 * what the others' real images need. Names no adopted manifest lists may
 * not take the last half of the budget: they are the first refused.
 */
export class UpstreamGate {
  readonly #options: GateOptions
  #pausedUntil = -Infinity
  readonly #instance: Bucket
  readonly #clients = new LRUCache<string, Bucket>({ max: CLIENTS_REMEMBERED })
  /** Tokens only listed names (and the service's own checks) may take. */
  readonly #reserved: number

  constructor(options: GateOptions) {
    this.#options = options
    this.#instance = { tokens: options.checksPerSecond, at: options.clock.now() }
    this.#reserved = Math.floor(options.checksPerSecond / 2)
  }

  /**
   * Whether an existence check may be sent now; when it may, it takes one of
   * this second's budget, and one of the client's share. Without an asker
   * the check is the service's own (adopting a manifest, refreshing in the
   * background): no client's share, and treated as listed.
   */
  admitCheck(asker?: CheckAsker): HeldBack | null {
    const held = this.admitFetch()
    if (held !== null) return held
    const { clock, checksPerSecond } = this.#options
    const now = clock.now()
    refill(this.#instance, now, checksPerSecond)
    const share = asker === undefined ? undefined : this.#shareOf(asker.client, now)
    if (share !== undefined && share.tokens < 1) return this.#hold('client')
    const floor = asker === undefined || asker.listed ? 1 : 1 + this.#reserved
    if (this.#instance.tokens < floor) return this.#hold('budget')
    this.#instance.tokens--
    if (share !== undefined) share.tokens--
    return null
  }

  /**
   * What admitCheck would say now of a check of the service's own, changing
   * nothing: the mirror command waits for the budget before each request
   * instead of being refused.
   */
  wouldHold(): 'paused' | 'budget' | null {
    const { clock, checksPerSecond } = this.#options
    const now = clock.now()
    if (now < this.#pausedUntil) return 'paused'
    refill(this.#instance, now, checksPerSecond)
    return this.#instance.tokens < 1 ? 'budget' : null
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

  /** The client's share, refilled to now; a client not seen lately starts with a full one. */
  #shareOf(client: string, now: number): Bucket {
    const perSecond = this.#options.checksPerClient
    const key = clientKey(client)
    let share = this.#clients.get(key)
    if (share === undefined) {
      share = { tokens: perSecond, at: now }
      this.#clients.set(key, share)
    }
    refill(share, now, perSecond)
    return share
  }

  #hold(reason: HeldBack): HeldBack {
    this.#options.events.heldBack(reason)
    return reason
  }
}

function refill(bucket: Bucket, now: number, perSecond: number): void {
  bucket.tokens = Math.min(perSecond, bucket.tokens + ((now - bucket.at) / 1000) * perSecond)
  bucket.at = now
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
