import { STATUS_CODES } from 'node:http'
import type { Answer } from '../decision/answer.js'
import type { Decider } from '../decision/decider.js'
import type { Route } from '../decision/route.js'
import { answerFields } from '../response/log-line.js'
import { NO_FACTS, responseOf } from '../response/of-answer.js'
import type { Recorder } from '../response/record.js'
import type { Response } from '../response/response.js'
import { clientAddress } from '../protection/client-ip.js'
import type { ProtectionConfig } from '../config/protection.js'
import type { LaneLimiter } from '../protection/rate-limit.js'
import type { RequestHead } from './request-head.js'

/**
 * The redirect lane's writer: it asks the decision (src/decision/) for the
 * answer from memory alone and, when that answer is a redirect or a
 * snapshot file, writes its response (src/response/) as the bytes Node and
 * Fastify would write for it, and records it in the same sink. It decides
 * nothing: whatever the decision cannot answer from memory, and every other
 * answer, goes to Fastify, which then does all the work (see
 * src/lane/connections.ts).
 */
export interface LaneOptions {
  readonly decider: Decider
  /** Whether Fastify routes this raw target to the answer route (not /healthz…). */
  readonly routedToAnswers: (rawTarget: string) => boolean
  readonly trustProxy: ProtectionConfig['trustProxy']
  readonly limiter: LaneLimiter
  /** Fastify's keep-alive timeout, milliseconds: said in each answer, as Node says it. */
  readonly keepAliveTimeoutMs: number
  /** The app's request-id sequence (shared with Fastify). */
  readonly nextId: () => string
  /** The sink told of every request the lane answered: the log line and the metrics. */
  readonly record: Recorder
  /** Milliseconds, for the duration logged; default performance.now. */
  readonly now?: () => number
}

/** A response's bytes around its Date value, and the whole ones last made. */
export interface ResponseParts {
  /** The response up to the Date header's value. */
  readonly before: string
  /** From after the Date value: a kept connection, or the last answer on it. */
  readonly keep: string
  readonly close: string
  /** What follows the head for a GET (latin1: one character a byte); '' for a redirect. */
  readonly body: string
  /** The whole response on a kept connection, by method, for the Date in `dated`. */
  dated: string
  kept: Partial<Record<RequestHead['method'], string>>
}

/** A response's bytes, made once per Answer (the decision hands back the same object). */
interface Rendered extends ResponseParts {
  readonly response: Response
  /** The request line's fields from method to location, by method, for this target. */
  readonly url: string
  readonly logged: Readonly<Record<RequestHead['method'], string>>
}

/** Answers `head` (a string of response bytes), or null to leave it to Fastify. */
export type LaneAnswerer = (
  head: RequestHead,
  peer: string | undefined,
  last: boolean,
) => string | null

export function laneAnswerer(options: LaneOptions): LaneAnswerer {
  // Kept with the decision's own memo of each target: no second memo by target.
  const routedByRoute = new WeakMap<object, boolean>()
  const routed = (target: string, route: Route): boolean => {
    let known = routedByRoute.get(route)
    if (known === undefined) {
      known = options.routedToAnswers(target)
      routedByRoute.set(route, known)
    }
    return known
  }
  const now = options.now ?? (() => performance.now())
  const rendered = new WeakMap<Answer, Rendered>()
  const keepAlive = `Keep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}`
  const clientOf = (head: RequestHead, peer: string | undefined) =>
    clientAddress(options.trustProxy, head.address, peer)
  return (head, peer, last) => {
    const started = now()
    const route = options.decider.route(head.target)
    if (!routed(head.target, route)) return null
    // From memory, changing nothing: a request handed on is counted once, by Fastify.
    const client = clientOf(head, peer)
    const made = options.decider.fromMemory(route, client)
    if (made === null || !isLaneAnswer(made.answer, head)) return null
    const { answer } = made
    if (!options.limiter(client)) return null
    // Now what the answer read counts, exactly as when the route sends it.
    made.commit()
    let bytes = rendered.get(answer)
    if (bytes?.url !== head.target) {
      bytes = render(responseOf(answer, NO_FACTS), head.target, keepAlive)
      rendered.set(answer, bytes)
    }
    const { labels, status } = bytes.response
    // Field by field, not spread: one object shape on the hottest path.
    options.record({
      reqId: options.nextId(),
      method: head.method,
      url: head.target,
      rule: labels.rule,
      source: labels.source,
      upstream: labels.upstream,
      origin: labels.origin,
      image: labels.image,
      location: labels.location,
      status,
      durationMs: now() - started,
      client,
      userAgent: head.userAgent,
      answerFields: bytes.logged[head.method],
    })
    return responseBytes(bytes, head.method, last, httpDate())
  }
}

/**
 * The response's bytes. Those of a kept connection are made once a second
 * per method: a string put together for every answer was copied again,
 * whole, when the socket wrote it (V8 flattens it first), and the copies
 * were a share of the garbage collection under load. Not for a body over
 * KEPT_BODY_MAX (a big manifest): a second copy of it would be held for
 * every such answer, and next to its write a join costs little.
 */
/**
 * The largest body whose whole response is kept (characters, one a byte):
 * a bakery's global SHA256SUMS of a few hundred images is tens of KiB; the
 * lane holds a few dozen snapshot answers, so a few MiB at most.
 */
export const KEPT_BODY_MAX = 256 * 1024

export function responseBytes(
  bytes: ResponseParts,
  method: RequestHead['method'],
  last: boolean,
  date: string,
): string {
  const body = method === 'GET' ? bytes.body : ''
  if (last) return bytes.before + date + bytes.close + body
  if (body.length > KEPT_BODY_MAX) return bytes.before + date + bytes.keep + body
  if (bytes.dated !== date) {
    bytes.dated = date
    bytes.kept = {}
  }
  return (bytes.kept[method] ??= bytes.before + date + bytes.keep + body)
}

/**
 * The answers the lane writes, with nothing to log besides the request line:
 * a redirect, or a snapshot file's bytes to a client that sent no validator
 * (one that did may get a 304: the route decides that).
 */
function isLaneAnswer(answer: Answer, head: RequestHead): boolean {
  if (answer.warning !== undefined || answer.retryAfter !== undefined) return false
  if (answer.status === 302) return true
  return answer.file !== undefined && !head.conditional
}

/**
 * A response as Node writes it when Fastify sends it: the status line, the
 * response's headers in their order, then what Fastify and Node add. The
 * values are safe to write as they are: the Location is built from the
 * normalised, re-encoded path and the configured origins, the ETag is
 * base64url, the dates HTTP dates, the omitted names percent-encoded.
 */
function render(response: Response, url: string, keepAlive: string): Rendered {
  const { status, headers, body, labels } = response
  const logged = (method: RequestHead['method']): string =>
    answerFields({ ...labels, status, method, url })
  const bodyBytes = typeof body === 'string' ? Buffer.from(body) : body
  return {
    response,
    before:
      `HTTP/1.1 ${status} ${STATUS_CODES[status] as string}\r\n` +
      headers.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
      `content-length: ${bodyBytes.byteLength}\r\n` +
      'Date: ',
    body: bodyBytes.toString('latin1'),
    keep: `\r\nConnection: keep-alive\r\n${keepAlive}\r\n\r\n`,
    close: '\r\nConnection: close\r\n\r\n',
    url,
    logged: { GET: logged('GET'), HEAD: logged('HEAD') },
    dated: '',
    kept: {},
  }
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
