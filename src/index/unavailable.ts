import type { FastifyReply, FastifyRequest } from 'fastify'
import { isRedirectorError } from '../errors.js'
import { sendText } from '../http/text-reply.js'

/**
 * The answer when the index cannot be read yet (GitHub unreachable and no
 * good copy): a 503 with Retry-After, never a 4xx, which Ignition would take
 * as final. Any other error is a bug: it is thrown on to the error handler
 * (a bare 500, logged in full).
 */
export function sendUnavailable(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  retryAfter: number,
  what: string,
): FastifyReply {
  /* c8 ignore next -- no input makes the index throw anything else */
  if (!isRedirectorError(err) || err.code !== 'SR_INDEX_UNAVAILABLE') throw err
  request.log.warn({ reason: err.message }, 'manifest index unavailable')
  return sendText(
    reply.header('retry-after', String(retryAfter)),
    503,
    `Service Unavailable: ${what} cannot be read from GitHub yet; try again shortly`,
  )
}
