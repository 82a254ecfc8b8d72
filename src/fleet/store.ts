import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { Breaker } from '../core/breaker.js'
import type { RedisConnection } from './redis.js'

/**
 * What a fleet of instances knows together, in Redis (or Valkey): the
 * answers one instance got from GitHub (existence checks, manifests), so the
 * others use them instead of asking again, and the invalidations a webhook
 * causes, so every instance drops what the release event changed.
 *
 * The store only ever saves work: each instance keeps its own memory in
 * front of it (a redirect known in memory never waits for the store), and
 * when the store fails or is slow the instance asks GitHub itself, exactly
 * as it would without one.
 *
 * Keys (all below one prefix per releases URL, so forks can share a Redis):
 * - `gen:<release>`: how many times the release was invalidated. Answers
 *   are kept under the generation they were asked in, so an invalidation
 *   retires them all with one INCR, and an answer asked before it can never
 *   be saved after it (the save checks the generation).
 * - `<kind>:<release>:<key>:<gen>`: an answer, expiring with its lifetime.
 * - `lock:<kind>:<release>:<key>:<gen>`: held by the instance asking GitHub
 *   for it; the others wait for its answer.
 * - `<kind>-data:<release>`: bytes beside the answers (a manifest's body),
 *   outside the generations: whoever has the same validators may use them.
 * - `adopted:<release>` and its `:rank`: the newest revision of a manifest
 *   (and its signatures) any instance adopted, so every instance serves it
 *   and none goes back to an older one (src/manifests/fleet-revisions.ts).
 */

/** How often an instance waiting for another's answer looks for it. */
export const WAIT_POLL_MS = 20

/** Failures in a row after which the store is skipped, and for how long. */
export const BREAKER_FAILURES = 3
export const BREAKER_OPEN_MS = 5_000

export type SharedKind = 'check' | 'manifest'

/**
 * How a read through the store was answered: `hit` from the store; `waited`
 * from the store after waiting for another instance asking GitHub; `asked`
 * by this instance, which asked GitHub and shared the answer; `alone` by
 * asking GitHub without the store (it failed, was skipped, or the instance
 * asking first gave no answer in time).
 */
export type SharedResult = 'hit' | 'waited' | 'asked' | 'alone'

export interface SharedEvents {
  read(kind: SharedKind, result: SharedResult): void
  /** The store became usable (true) or is skipped until it answers again (false). */
  available(up: boolean): void
  invalidation(direction: 'sent' | 'received'): void
}

export interface SharedLog {
  info(details: object, message: string): void
  warn(details: object, message: string): void
}

/** An answer and how long it stays fresh. */
export interface Fresh {
  readonly value: Buffer
  readonly ttlMs: number
}

/** An answer from answer(), and how it came (for told()). */
export interface Answered extends Fresh {
  readonly result: SharedResult
}

/** What `ask` found: with `share: false` it holds for this instance only (held back locally). */
export interface Asked extends Fresh {
  readonly share: boolean
}

export interface SharedStoreOptions {
  /** The Redis plan's connections (redis.ts), shared with the rate limit. */
  readonly connection: RedisConnection
  /** Keys start with it: one namespace per releases URL. */
  readonly prefix: string
  readonly clock: { now(): number }
  readonly log: SharedLog
  readonly events: SharedEvents
}

type Invalidated = (tags: readonly string[]) => void

// One round trip: the generation and the answer under it with its lifetime left; without
// one, the lock, taken for ARGV[1] if it is free (2: taken, 1: another instance holds it).
const READ_OR_LOCK = `
local gen = redis.call('GET', KEYS[1]) or '0'
local key = KEYS[2] .. ':' .. gen
local value = redis.call('GET', key)
if value then return {gen, value, redis.call('PTTL', key), 0} end
if redis.call('SET', KEYS[3] .. ':' .. gen, ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {gen, false, 0, 2}
end
return {gen, false, 0, 1}
`

// Saved only if no invalidation came since it was asked; the lock goes with it.
const WRITE = `
local gen = redis.call('GET', KEYS[1]) or '0'
redis.call('DEL', KEYS[3] .. ':' .. ARGV[1])
if gen ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2] .. ':' .. gen, ARGV[2], 'PX', ARGV[3])
return 1
`

// An adopted revision is kept only above the rank kept: the fleet never goes back.
const ADOPT = `
local kept = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= kept then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`

interface Keys {
  readonly gen: string
  readonly value: string
  readonly lock: string
}

interface Read {
  readonly gen: string
  readonly value: Buffer | null
  readonly ttlMs: number
  /** Who asks GitHub, when there is no answer yet ('none': there is one). */
  readonly lock: 'ours' | 'theirs' | 'none'
}

export class SharedStore {
  readonly #options: SharedStoreOptions
  readonly #connection: RedisConnection
  readonly #redis: Redis
  readonly #subscriber: Redis
  readonly #breaker: Breaker
  /** Tells this instance's own messages apart from the fleet's. */
  readonly #id = randomUUID()
  readonly #channel: string
  #invalidated: Invalidated = () => undefined
  /** Connected; so an outage is told once, not at every attempt to reconnect. */
  #up = false

  constructor(options: SharedStoreOptions) {
    this.#options = options
    this.#channel = `${options.prefix}invalidations`
    this.#connection = options.connection
    this.#redis = options.connection.redis
    this.#subscriber = options.connection.subscriber()
    this.#breaker = new Breaker({
      failures: BREAKER_FAILURES,
      openMs: BREAKER_OPEN_MS,
      clock: options.clock,
      opened: (reason) => {
        options.events.available(false)
        options.log.warn(
          { reason, skippedForMs: BREAKER_OPEN_MS },
          'shared store not answering: this instance goes on alone',
        )
      },
      closed: () => {
        options.events.available(true)
        options.log.info({}, 'shared store answering again: answers are shared')
      },
    })
    // Not in use until connected.
    options.events.available(false)
    this.#redis.defineCommand('sharedRead', { numberOfKeys: 3, lua: READ_OR_LOCK })
    this.#redis.defineCommand('sharedWrite', { numberOfKeys: 3, lua: WRITE })
    this.#redis.defineCommand('sharedAdopt', { numberOfKeys: 2, lua: ADOPT })
    this.#listen()
  }

  /** Called with the tags of each release event another instance received. */
  onInvalidation(invalidated: Invalidated): void {
    this.#invalidated = invalidated
  }

  /**
   * The fleet's answer for `key` of `release`: from the store if an instance
   * has it; else `ask` runs here, and its answer is shared, unless another
   * instance is asking already: then its answer is awaited, for at most
   * `waitMs`, before this one asks too.
   */
  async answer(
    kind: SharedKind,
    release: string,
    key: string,
    ask: () => Promise<Asked>,
    waitMs: number,
  ): Promise<Answered> {
    const keys = this.#keys(kind, release, key)
    const deadline = this.#options.clock.now() + waitMs
    for (let waited = false; ; waited = true) {
      const read = await this.#readOrLock(keys, waitMs)
      if (read === undefined) break
      if (read.value !== null) {
        return { value: read.value, ttlMs: read.ttlMs, result: waited ? 'waited' : 'hit' }
      }
      if (read.lock === 'ours') {
        const asked = await ask()
        if (asked.share) void this.#write(keys, read.gen, asked)
        else void this.#command((redis) => redis.del(`${keys.lock}:${read.gen}`))
        return { ...fresh(asked), result: asked.share ? 'asked' : 'alone' }
      }
      // Another instance is asking: its answer, or the lock if it lets go without one.
      if (this.#options.clock.now() >= deadline) break
      await sleep(WAIT_POLL_MS)
    }
    return { ...fresh(await ask()), result: 'alone' }
  }

  /**
   * Counts how an answer the instance needed came (the metrics): what
   * answer() said, or `alone` when its caller could not use what the store
   * held and asked GitHub itself.
   */
  told(kind: SharedKind, result: SharedResult): void {
    this.#options.events.read(kind, result)
  }

  /** Bytes kept beside the answers for `release` (see the keys above); null: none. */
  async data(kind: SharedKind, release: string): Promise<Buffer | null> {
    const got = await this.#command((redis) => redis.getBuffer(this.#dataKey(kind, release)))
    return got ?? null
  }

  /** Keeps bytes beside the answers for `release`, for `ttlMs`; does not wait for the store. */
  keepData(kind: SharedKind, release: string, bytes: Buffer, ttlMs: number): void {
    void this.#command((redis) => redis.set(this.#dataKey(kind, release), bytes, 'PX', ttlMs))
  }

  /** The revision the fleet adopted of a manifest's release (its bytes, as offered); null: none. */
  async adopted(release: string): Promise<Buffer | null> {
    const got = await this.#command((redis) => redis.getBuffer(this.#adoptedKey(release)))
    return got ?? null
  }

  /**
   * Offers a revision this instance adopted: kept, for `ttlMs`, only when its
   * rank is above the fleet's (so the fleet never goes back to an older one),
   * and then the other instances are told to read the release again.
   */
  offerAdopted(release: string, rank: number, bytes: Buffer, ttlMs: number): void {
    const key = this.#adoptedKey(release)
    void this.#command((redis) =>
      (redis as unknown as ScriptCommands).sharedAdopt(`${key}:rank`, key, rank, bytes, ttlMs),
    ).then((kept) => {
      if (kept === 1) this.invalidate([], [release])
    })
  }

  /**
   * Retires every answer about these releases, fleet-wide, and tells the
   * other instances which tags a release event named. Sent at once, on the
   * connection every later read of this instance uses, so none of them can
   * read an answer from before.
   */
  invalidate(releases: readonly string[], tags: readonly string[]): void {
    const { prefix, events, log } = this.#options
    const sent = this.#command(async (redis) => {
      const message = JSON.stringify({ from: this.#id, tags })
      // Written in this order on the one connection: the fleet hears of it once it is done.
      await Promise.all([
        ...releases.map((release) => redis.incr(`${prefix}gen:${release}`)),
        redis.publish(this.#channel, message),
      ])
      return true
    })
    void sent.then((done) => {
      if (done === true) return events.invalidation('sent')
      log.warn(
        { tags },
        'release event not shared: the store is unavailable; other instances catch up as their entries expire',
      )
    })
  }

  close(): void {
    this.#connection.close()
  }

  #keys(kind: SharedKind, release: string, key: string): Keys {
    const { prefix } = this.#options
    return {
      gen: `${prefix}gen:${release}`,
      value: `${prefix}${kind}:${release}:${key}`,
      lock: `${prefix}lock:${kind}:${release}:${key}`,
    }
  }

  #adoptedKey(release: string): string {
    return `${this.#options.prefix}adopted:${release}`
  }

  #dataKey(kind: SharedKind, release: string): string {
    return `${this.#options.prefix}${kind}-data:${release}`
  }

  async #readOrLock(keys: Keys, lockMs: number): Promise<Read | undefined> {
    const reply = await this.#command((redis) =>
      (redis as unknown as ScriptCommands).sharedReadBuffer(
        keys.gen,
        keys.value,
        keys.lock,
        this.#id,
        lockMs,
      ),
    )
    if (reply === undefined) return undefined
    const [gen, value, ttl, lock] = reply
    return {
      gen: gen.toString(),
      value,
      ttlMs: Number(ttl),
      lock: lock === 2 ? 'ours' : lock === 1 ? 'theirs' : 'none',
    }
  }

  async #write(keys: Keys, gen: string, fresh: Fresh): Promise<void> {
    await this.#command((redis) =>
      (redis as unknown as ScriptCommands).sharedWrite(
        keys.gen,
        keys.value,
        keys.lock,
        gen,
        fresh.value,
        // PX takes whole milliseconds, at least one.
        Math.max(1, Math.ceil(fresh.ttlMs)),
      ),
    )
  }

  /** Runs a command unless the store is being skipped; undefined when it was skipped or failed. */
  async #command<T>(run: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    // Not connected (down, or not yet up): alone at once, which is no failure of a command.
    if (this.#redis.status !== 'ready' || !this.#breaker.allows()) return undefined
    try {
      const result = await run(this.#redis)
      this.#breaker.succeeded()
      return result
    } catch (err) {
      // A dropped connection is told by its events; the breaker counts a store that hangs.
      if (this.#redis.status === 'ready') this.#breaker.failed((err as Error).message)
      return undefined
    }
  }

  #listen(): void {
    const { events, log } = this.#options
    this.#subscriber.on('message', (_channel: string, message: string) => {
      const parsed = parseMessage(message)
      if (parsed === null || parsed.from === this.#id) return
      events.invalidation('received')
      this.#invalidated(parsed.tags)
    })
    // ioredis reconnects by itself; an error event unheard would be thrown.
    this.#subscriber.on('error', () => undefined)
    let reason = 'connection closed'
    this.#redis.on('error', (err: Error) => (reason = err.message))
    this.#redis.on('ready', () => {
      this.#up = true
      // A new connection: whatever the last one did is no reason to skip this one.
      this.#breaker.reset()
      events.available(true)
      log.info({}, 'shared store connected: answers are shared')
    })
    this.#redis.on('close', () => {
      if (this.#connection.isClosing() || !this.#up) return
      this.#up = false
      events.available(false)
      log.warn({ reason }, 'shared store unavailable: this instance goes on alone')
    })
    this.#subscriber.subscribe(this.#channel).then(
      () =>
        log.info(
          { channel: this.#channel },
          'shared store subscribed: release events at other instances reach this one',
        ),
      // Only when closed before it ever connected.
      () => undefined,
    )
  }
}

interface ScriptCommands {
  sharedAdopt(
    rank: string,
    value: string,
    ranked: number,
    bytes: Buffer,
    ttlMs: number,
  ): Promise<number>
  sharedReadBuffer(
    gen: string,
    value: string,
    lock: string,
    owner: string,
    lockMs: number,
  ): Promise<[Buffer, Buffer | null, number, number]>
  sharedWrite(
    gen: string,
    value: string,
    lock: string,
    asked: string,
    bytes: Buffer,
    ttlMs: number,
  ): Promise<number>
}

function fresh(asked: Fresh): Fresh {
  return { value: asked.value, ttlMs: asked.ttlMs }
}

/** `{from, tags}` as invalidate() publishes it; anything else is ignored. */
export function parseMessage(message: string): { from: string; tags: string[] } | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(message)
  } catch {
    return null
  }
  if (typeof parsed !== 'object' || parsed === null) return null
  const { from, tags } = parsed as { from?: unknown; tags?: unknown }
  if (typeof from !== 'string' || !Array.isArray(tags)) return null
  if (!tags.every((tag) => typeof tag === 'string')) return null
  return { from, tags }
}
