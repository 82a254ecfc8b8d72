import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Answer } from '../decision/answer.js'
import type { Decider } from '../decision/decider.js'
import { renderPage } from '../directory/render.js'
import { sendFile } from './file-reply.js'
import { sendText } from './text-reply.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The decision's answer, once the route has rendered it; null for other routes. */
    answer: Answer | null
  }
}

/**
 * GET and HEAD of every path not served otherwise: the flat directory. The
 * decision (src/decision/) says what to answer; this route only renders it.
 * Not an async handler: an answer decided from memory (the common case) is
 * sent without a promise.
 */
export function registerAnswerRoute(app: FastifyInstance, decider: Decider): void {
  app.decorateRequest('answer', null)
  app.get('*', (request, reply) => {
    const answer = decider.decide(request.url, request.ip)
    if (answer instanceof Promise) return answer.then((late) => render(request, reply, late))
    render(request, reply, answer)
    return undefined
  })
}

/** Sends an Answer: the one place a decision becomes a Fastify reply. */
export function render(request: FastifyRequest, reply: FastifyReply, answer: Answer): FastifyReply {
  request.answer = answer
  request.rule = answer.rule
  request.source = answer.source
  request.upstream = answer.upstream
  if (answer.warning !== undefined) request.log.warn(answer.warning.details, answer.warning.message)
  if (answer.page !== undefined) {
    return renderPage(request, reply, answer.status, answer.page, answer.cacheControl)
  }
  if (answer.file !== undefined) {
    return sendFile(request, reply, answer.file, answer.contentType as string, answer.cacheControl)
  }
  if (answer.retryAfter !== undefined) reply.header('retry-after', answer.retryAfter)
  if (answer.location !== undefined) {
    reply.code(answer.status).headers({
      location: answer.location,
      'cache-control': answer.cacheControl,
    })
    return reply.send()
  }
  return sendText(reply, answer.status, answer.body, answer.cacheControl)
}
