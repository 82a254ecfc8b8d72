import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ImageLabels } from '../decision/answer.js'
import { requestLineWriter, type LoggedRequest } from './log-line.js'
import { NO_LABELS } from './response.js'

/** One request served, as recorded: its log line's fields and the image it led to. */
export interface Served extends LoggedRequest {
  /** The image a redirect leads to, as its response labels it; null for any other. */
  readonly image: ImageLabels | null
}

/** What a served request is counted in (the app's metrics, src/metrics/). */
export interface RequestCounts {
  countRequest(rule: string, status: number, seconds: number): void
  countDownload(image: ImageLabels, source: string): void
  countOrigin(origin: string): void
}

/** Records one served request: its log line, its counts. */
export type Recorder = (served: Served) => void

declare module 'fastify' {
  interface FastifyInstance {
    /** The one record of every request served, whichever path served it. */
    recordServed: Recorder
  }
}

/**
 * The one sink of served requests: the Fastify route's (by the onResponse
 * hook, or by the router's refusal, which runs no hook), and the redirect
 * lane's, which no hook sees. Each gets one log line and its counts.
 */
export function recorder(log: FastifyBaseLogger, metrics: RequestCounts): Recorder {
  const writeLine = requestLineWriter(log)
  return (served) => {
    writeLine(served)
    metrics.countRequest(served.rule ?? 'none', served.status, served.durationMs / 1000)
    if (served.origin !== null && served.status === 302) metrics.countOrigin(served.origin)
    if (isDownload(served)) metrics.countDownload(served.image, served.source as string)
  }
}

/**
 * A download is a GET redirected to an image GitHub confirmed exists, by
 * the table or by a newest-version name: the decision names the image.
 * Unchecked, missing or unknown assets are not counted: their names come
 * from the client, and counting them would let anyone mint label values.
 */
function isDownload(served: Served): served is Served & { image: ImageLabels } {
  return (
    served.method === 'GET' &&
    served.upstream === 'exists' &&
    served.status === 302 &&
    served.image !== null
  )
}

/** Every request Fastify answers is recorded once it is done. */
export function registerRecord(app: FastifyInstance, record: Recorder): void {
  app.decorateRequest('response', null)
  app.decorate('recordServed', record)
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    record(servedOf(request, reply))
    done()
  })
}

/** A request Fastify answered, by the response written (none: what Fastify answered itself). */
export function servedOf(request: FastifyRequest, reply: FastifyReply): Served {
  const { rule, source, upstream, origin, image, location } = request.response?.labels ?? NO_LABELS
  return {
    reqId: request.id,
    method: request.method,
    url: request.url,
    rule,
    source,
    upstream,
    origin,
    image,
    status: reply.statusCode,
    location,
    durationMs: reply.elapsedTime,
    client: request.ip,
    userAgent: request.headers['user-agent'],
  }
}
