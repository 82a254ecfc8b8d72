import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Answer } from '../decision/answer.js'
import { clientLine, clientStatus } from '../decision/refused.js'
import { isRedirectorError } from '../errors.js'
import { countRequest } from '../metrics/register.js'
import { render } from './answer-route.js'
import { logRequest } from './request-log.js'
import { sendText } from './text-reply.js'

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
  const { decider } = request.server
  // Only the decision's first, pure step runs here: nothing is asked upstream.
  if (decider.route(request.url).kind === 'refused') {
    render(request, reply, decider.decide(request.url) as Answer)
  } else {
    errorHandler(error, request, reply)
  }
  // No hooks run for a request the router refused: log its line here, once
  // the answer is out, as onResponse would, so lines keep the answers' order.
  reply.raw.once('close', () => {
    logRequest(request, reply)
    countRequest(request.server.metrics, request, reply)
  })
}

/** Only GET and HEAD are served; the router sends every other method here. */
function methodNotAllowed(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendText(
    reply.header('allow', ALLOWED_METHODS),
    405,
    `method ${request.method} is not allowed`,
  )
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(methodNotAllowed)
}
