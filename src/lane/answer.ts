import type { Config } from '../config.js'
import { cacheControlFor, ruleOf } from '../http/redirect.js'
import { answerFields, type AnsweredRequest } from '../http/request-log.js'
import { newestFileOf } from '../index/newest.js'
import { flyClientAddress } from '../protection/client-ip.js'
import type { ProtectionConfig } from '../protection/config.js'
import type { LaneLimiter } from '../protection/rate-limit.js'
import type { Origins, ReleaseTarget } from '../table/resolve.js'
import { rawResolver, remembered, type Resolved } from '../table/memo.js'
import type { Table } from '../table/table.js'
import type { CheckTarget, UpstreamChecks } from '../upstream/checks.js'
import type { RequestHead } from './request-head.js'

/**
 * The redirect lane's decisions: which requests it may answer itself, and
 * the bytes of the answer. It answers exactly the requests the Fastify route
 * would answer with a 302 from memory, with the same headers, log line and
 * counts; for everything else it returns null and the request goes to
 * Fastify, which then does all the work (see src/lane/connections.ts).
 */
export interface LaneOptions {
  readonly table: Table
  readonly origins: Origins
  readonly maxAge: Config['redirectMaxAge']
  /** Whether Fastify routes this raw target to the redirect route (not /healthz, a listing…). */
  readonly routedToRedirects: (rawTarget: string) => boolean
  /** The upstream checks; null with UPSTREAM_CHECKS=false. */
  readonly checks: UpstreamChecks | null
  /** Whether the manifest index (newest-version names) is on. */
  readonly newestNames: boolean
  readonly trustProxy: ProtectionConfig['trustProxy']
  readonly limiter: LaneLimiter
  /** Fastify's keep-alive timeout, milliseconds: said in each answer, as Node says it. */
  readonly keepAliveTimeoutMs: number
  /** The app's request-id sequence (shared with Fastify). */
  readonly nextId: () => string
  /** Told of every request the lane answered: the log line and the metrics. */
  readonly answered: (request: AnsweredRequest) => void
  /** Milliseconds, for the duration logged; default performance.now. */
  readonly now?: () => number
}

/** A raw target the lane may answer: everything about it that does not change. */
interface LaneRoute {
  readonly rule: string
  readonly location: string
  /** Null for the fallback, or when checks are off: the redirect goes unchecked. */
  readonly check: CheckTarget | null
  /** The response up to the Date header's value, and from after it. */
  readonly before: string
  readonly after: string
  /** The request line's fields from method to location, by method. */
  readonly logged: Readonly<Record<RequestHead['method'], string>>
}

/** Answers `head` (a string of response bytes), or null to leave it to Fastify. */
export type LaneAnswerer = (head: RequestHead, peer: string | undefined) => string | null

export function laneAnswerer(options: LaneOptions): LaneAnswerer {
  const routeOf = remembered(laneRouteFinder(options))
  const now = options.now ?? (() => performance.now())
  const clientOf =
    options.trustProxy === 'fly'
      ? (head: RequestHead, peer: string | undefined) => flyClientAddress(head.address, peer)
      : (_head: RequestHead, peer: string | undefined) => peer
  return (head, peer) => {
    const started = now()
    const route = routeOf(head.target)
    if (route === null) return null
    const { check } = route
    // Asked before the limiter counts anything, so a request handed on is
    // counted once, by Fastify; after the limiter, the lookup itself is
    // made (and counted) exactly as the route would make it.
    if (check !== null && !(options.checks as UpstreamChecks).existsNow(check)) return null
    const client = clientOf(head, peer)
    if (!options.limiter(client)) return null
    if (check !== null) (options.checks as UpstreamChecks).lookupNow(check)
    const response = route.before + httpDate() + route.after
    options.answered({
      reqId: options.nextId(),
      method: head.method,
      url: head.target,
      rule: route.rule,
      upstream: check === null ? 'unchecked' : 'exists',
      status: 302,
      location: route.location,
      durationMs: now() - started,
      client,
      userAgent: head.userAgent,
      answerFields: route.logged[head.method],
    })
    return response
  }
}

/**
 * What the lane may answer for a raw target, worked out once per target.
 * The Location is safe to write as it is: the target's bytes are visible
 * ASCII (request-head.ts), Locations are built from its normalised,
 * re-encoded path and the configured origins, which are URL-normalised.
 */
function laneRouteFinder(options: LaneOptions): (rawTarget: string) => LaneRoute | null {
  // Called only when the lane's own memo misses: no second memo inside.
  const resolveTarget = rawResolver(options.table, options.origins)
  const cacheControl = cacheControlFor(options.maxAge)
  const keepAlive = `Keep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}`
  return (rawTarget) => {
    if (!options.routedToRedirects(rawTarget)) return null
    let resolved: Resolved
    try {
      resolved = resolveTarget(rawTarget)
    } catch {
      return null // the route answers it with a 4xx naming the problem
    }
    const { resolution } = resolved
    const check =
      resolution.kind === 'release' && options.checks !== null ? checkTargetOf(resolution) : null
    // A newest-version name waits on the index, unless a cached "exists"
    // settles it for the table's exact answer (src/index/redirect-hook.ts).
    if (options.newestNames && newestFileOf(resolved.target.path) !== null && check === null) {
      return null
    }
    const rule = ruleOf(resolution)
    const { location } = resolution
    const logged = (method: RequestHead['method']): string =>
      answerFields({
        method,
        url: rawTarget,
        rule,
        upstream: check === null ? 'unchecked' : 'exists',
        status: 302,
        location,
      })
    return {
      rule,
      location,
      check,
      before:
        'HTTP/1.1 302 Found\r\n' +
        'x-content-type-options: nosniff\r\n' +
        `location: ${resolution.location}\r\n` +
        `cache-control: ${cacheControl(resolution)}\r\n` +
        'content-length: 0\r\n' +
        'Date: ',
      after: `\r\nConnection: keep-alive\r\n${keepAlive}\r\n\r\n`,
      logged: { GET: logged('GET'), HEAD: logged('HEAD') },
    }
  }
}

function checkTargetOf({ release, asset, location, rule }: ReleaseTarget): CheckTarget {
  return { release, asset, location, cache: rule.cache }
}

let dateSecond = -1
let dateText = ''

/** The Date header's value, made once a second (as Node does). */
function httpDate(): string {
  const ms = Date.now()
  const second = Math.floor(ms / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(second * 1000).toUTCString()
  }
  return dateText
}
