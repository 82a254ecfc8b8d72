import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isRedirectorError, type ErrorCode } from '../errors.js'
import { countRequest } from '../metrics/register.js'
import { normaliseTarget } from '../path/normalise.js'
import { logRequest } from './request-log.js'
import { sendText } from './text-reply.js'

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  SR_PATH_TOO_LONG: 414,
  SR_PATH_ENCODING: 400,
  SR_PATH_CONTROL_CHAR: 400,
  SR_PATH_INVALID: 400,
}

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
  return sendText(reply, status, `${STATUS_CODES[status]}: ${oneLine(error.message)}`)
}

/**
 * A message may quote the client's target (the router's does), and Node's
 * parser is not the only way in: control characters and line separators are
 * percent-encoded, so the answer stays one line whatever was sent.
 */
function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  return message.replace(/[\x00-\x1f\x7f\u0085\u2028\u2029]/g, (c) => encodeURIComponent(c))
}

function statusOf(error: FastifyError): number {
  if (isRedirectorError(error)) return STATUS_BY_CODE[error.code] ?? 500
  const status = error.statusCode ?? 500
  return status >= 400 && status < 500 ? status : 500
}

/**
 * The router refuses a path it cannot decode before any route runs. Our own
 * normalisation names the problem better, so let it speak when it objects.
 */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  let reason: Error = error
  try {
    normaliseTarget(request.url)
  } catch (err) {
    reason = err as Error
  }
  errorHandler(reason as FastifyError, request, reply)
  // No hooks run for a request the router refused: log its line here.
  logRequest(request, reply)
  countRequest(request.server.metrics, request, reply)
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
