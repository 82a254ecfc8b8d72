import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** The pattern-table rule that answered, 'fallback', or null (not a redirect). */
    rule: string | null
  }
}

// Paths are client input: keep log lines bounded whatever is sent.
const MAX_LOGGED_PATH = 1024

/** One JSON line per request, written when the response is done. */
export function registerRequestLog(app: FastifyInstance): void {
  app.decorateRequest('rule', null)
  app.addHook('onResponse', async (request, reply) => {
    const url = request.raw.url ?? ''
    request.log.info(
      {
        method: request.method,
        path: url.length > MAX_LOGGED_PATH ? `${url.slice(0, MAX_LOGGED_PATH)}…` : url,
        rule: request.rule,
        status: reply.statusCode,
        location: reply.getHeader('location'),
        durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
        client: request.ip,
        userAgent: request.headers['user-agent'],
      },
      'request',
    )
  })
}
