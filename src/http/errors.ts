import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { clientLine, clientStatus } from '../decision/refused.js'
import { isRedirectorError } from '../core/errors.js'
import { servedOf } from '../response/record.js'
import { sendText, writeReply } from '../response/reply.js'
import { textResponse } from '../response/response.js'
import { writeAnswer } from './answer-route.js'

export const ALLOWED_METHODS = 'GET, HEAD'

/**
 * Client mistakes get their 4xx and one line saying what was wrong; anything
 * else is our fault: logged in full, answered with a bare 500.
 */
export function errorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const status = statusOf(error)
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed')
    return sendText(reply, 500, 'internal error')
  }
  return sendText(reply, status, clientLine(status, error.message))
}

function statusOf(error: FastifyError): number {
  if (isRedirectorError(error)) return clientStatus(error.code) ?? 500
  const status = error.statusCode ?? 500
  return status >= 400 && status < 500 ? status : 500
}

/**
 * The router refuses a path it cannot decode before any route runs. The
 * decision's own first step names the problem better, so let it answer when
 * it refuses the target too.
 */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const { decider, recordServed } = request.server
  // Only the decision's first, pure step runs here: nothing is asked upstream.
  const refused = decider.refusal(request.url)
  if (refused !== null) writeAnswer(request, reply, refused)
  else errorHandler(error, request, reply)
  // No hooks run for a request the router refused: record it here, once the
  // answer is out, as onResponse would, so log lines keep the answers' order.
  reply.raw.once('close', () => recordServed(servedOf(request, reply)))
}

/** Only GET and HEAD are served; the router sends every other method here. */
function methodNotAllowed(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const line = `method ${request.method} is not allowed`
  return writeReply(
    reply,
    textResponse(405, line, 'no-store', undefined, [['allow', ALLOWED_METHODS]]),
  )
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(methodNotAllowed)
}
