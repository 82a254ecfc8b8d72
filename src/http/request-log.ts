import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { pino, type Logger } from 'pino'
import type { Answer } from '../decision/answer.js'
import type { CheckOutcome } from '../upstream/events.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The pattern-table rule that answered, 'fallback', or null (not a redirect). */
    rule: string | null
    /** What the upstream check said; 'unchecked' when none ran, null (not a redirect). */
    upstream: CheckOutcome | 'unchecked' | null
    /** The table's source the answer is about; null when none. */
    source: string | null
  }
}

// Paths are client input: keep log lines bounded whatever is sent.
const MAX_LOGGED_PATH = 1024

/** One JSON line per request, written when the response is done. */
export function registerRequestLog(app: FastifyInstance): void {
  app.decorateRequest('rule', null)
  app.decorateRequest('upstream', null)
  app.decorateRequest('source', null)
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply)
    done()
  })
}

/** One answered request as the log line tells it, whichever path answered it. */
export interface AnsweredRequest {
  readonly reqId: string
  readonly method: string
  /** The request target as sent. */
  readonly url: string
  readonly rule: string | null
  readonly source: string | null
  readonly upstream: CheckOutcome | 'unchecked' | null
  readonly status: number
  readonly location: string | undefined
  readonly durationMs: number
  readonly client: string | undefined
  readonly userAgent: string | undefined
  /** answerFields() of this request, when the caller keeps it made (the lane). */
  readonly answerFields?: string
  /** The decision's answer (the lane answers only decided requests). */
  readonly answer: Answer
}

export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const location = reply.getHeader('location')
  requestLineWriter(request.server.log)({
    reqId: request.id,
    method: request.method,
    url: request.url,
    rule: request.rule,
    source: request.source,
    upstream: request.upstream,
    status: reply.statusCode,
    location: typeof location === 'string' ? location : undefined,
    durationMs: reply.elapsedTime,
    client: request.ip,
    userAgent: request.headers['user-agent'],
  })
}

/** What the line says: an answered request, the decision's Answer aside. */
export type LoggedRequest = Omit<AnsweredRequest, 'answer'>

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
 * (AnsweredRequest.answerFields), since its answers repeat.
 */
export function answerFields(
  answered: Pick<
    AnsweredRequest,
    'method' | 'url' | 'rule' | 'source' | 'upstream' | 'status' | 'location'
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
