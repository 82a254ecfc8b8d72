import type { FastifyBaseLogger } from 'fastify'
import { pino, type Logger } from 'pino'
import type { CheckOutcome } from '../upstream/head.js'

// Paths are client input: keep log lines bounded whatever is sent.
const MAX_LOGGED_PATH = 1024

/** One served request as its log line tells it, whichever path served it. */
export interface LoggedRequest {
  readonly reqId: string
  readonly method: string
  /** The request target as sent. */
  readonly url: string
  readonly rule: string | null
  readonly source: string | null
  readonly upstream: CheckOutcome | 'unchecked' | null
  /** Where a redirect to a release asset leads: github, or a mirror's base URL. */
  readonly origin: string | null
  readonly status: number
  readonly location: string | undefined
  readonly durationMs: number
  readonly client: string | undefined
  readonly userAgent: string | undefined
  /** answerFields() of this request, when the caller keeps it made (the lane). */
  readonly answerFields?: string
}

const writers = new WeakMap<FastifyBaseLogger, (answered: LoggedRequest) => void>()

/**
 * Writes the one line for an answered request to the logger's destination,
 * when the logger logs at info. The line is pino's own layout (level, time,
 * the logger's bindings such as pid and hostname, then the fields, then
 * msg), made here rather than by pino: pino's generic serialising was a
 * fifth of the CPU under load, and these fields are always the same few
 * strings and numbers. One writer per logger (the app's pino instance).
 */
export function requestLineWriter(log: FastifyBaseLogger): (answered: LoggedRequest) => void {
  let writer = writers.get(log)
  if (writer === undefined) {
    writer = lineWriter(log as Logger)
    writers.set(log, writer)
  }
  return writer
}

function lineWriter(log: Logger): (answered: LoggedRequest) => void {
  // pino.symbols are pino's documented way in for integrations.
  const internals = log as unknown as Record<symbol, unknown>
  const stream = internals[pino.symbols.streamSym] as { write(line: string): unknown }
  const time = internals[pino.symbols.timeSym] as () => string
  const bindings = internals[pino.symbols.chindingsSym] as string
  const level = pino.levels.values.info as number
  return (answered) => {
    if (!log.isLevelEnabled('info')) return
    stream.write(
      `{"level":${level}${time()}${bindings},"reqId":${JSON.stringify(answered.reqId)}` +
        (answered.answerFields ?? answerFields(answered)) +
        `,"durationMs":${Math.round(answered.durationMs * 1000) / 1000}` +
        optional('client', answered.client) +
        optional('userAgent', answered.userAgent) +
        ',"msg":"request"}\n',
    )
  }
}

/**
 * The request line's fields from method to location: what the request and
 * its answer were. The redirect lane makes them once per path and method
 * (LoggedRequest.answerFields), since its answers repeat.
 */
export function answerFields(
  answered: Pick<
    LoggedRequest,
    'method' | 'url' | 'rule' | 'source' | 'upstream' | 'origin' | 'status' | 'location'
  >,
): string {
  const { url } = answered
  const path = url.length > MAX_LOGGED_PATH ? `${url.slice(0, MAX_LOGGED_PATH)}…` : url
  return (
    `,"method":${JSON.stringify(answered.method)},"path":${JSON.stringify(path)}` +
    optional('rule', answered.rule) +
    // Left out when there is none, as before sources: lines of a fallback stay as they were.
    optional('source', answered.source ?? undefined) +
    optional('upstream', answered.upstream) +
    // Only where a redirect leads to a release asset.
    optional('origin', answered.origin ?? undefined) +
    `,"status":${answered.status}` +
    optional('location', answered.location)
  )
}

/**
 * A field as pino writes it: left out when undefined (a request the router
 * refused never had its rule set), null as null.
 */
const optional = (name: string, value: string | null | undefined): string =>
  value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`
