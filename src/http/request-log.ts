import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { CheckOutcome } from '../upstream/events.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The pattern-table rule that answered, 'fallback', or null (not a redirect). */
    rule: string | null
    /** What the upstream check said; 'unchecked' when none ran, null (not a redirect). */
    upstream: CheckOutcome | 'unchecked' | null
  }
}

// Paths are client input: keep log lines bounded whatever is sent.
const MAX_LOGGED_PATH = 1024

/** One JSON line per request, written when the response is done. */
export function registerRequestLog(app: FastifyInstance): void {
  app.decorateRequest('rule', null)
  app.decorateRequest('upstream', null)
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply)
    done()
  })
}

export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const url = request.raw.url ?? ''
  request.log.info(
    {
      method: request.method,
      path: url.length > MAX_LOGGED_PATH ? `${url.slice(0, MAX_LOGGED_PATH)}…` : url,
      rule: request.rule,
      upstream: request.upstream,
      status: reply.statusCode,
      location: reply.getHeader('location'),
      durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
      client: request.ip,
      userAgent: request.headers['user-agent'],
    },
    'request',
  )
}
