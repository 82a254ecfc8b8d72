import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Answer } from '../decision/answer.js'
import type { Decider } from '../decision/decider.js'
import { responseOf, type RequestFacts } from '../response/of-answer.js'
import { writeReply } from '../response/reply.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The origin the directory's snippets name, for a request; null when its Host names none. */
    publicOrigin: (request: FastifyRequest) => string | null
  }
}

/**
 * GET and HEAD of every path not served otherwise: the flat directory. The
 * decision (src/decision/) says what to answer, src/response/ what that
 * answer's response is; this route only writes it. Not an async handler:
 * an answer decided from memory (the common case) is sent without a promise.
 */
export function registerAnswerRoute(app: FastifyInstance, decider: Decider): void {
  app.get('*', (request, reply) => {
    const answer = decider.decide(request.url, request.ip)
    if (answer instanceof Promise) return answer.then((late) => writeAnswer(request, reply, late))
    writeAnswer(request, reply, answer)
    return undefined
  })
}

/** Writes the response to an Answer: the one way a decision reaches a Fastify reply. */
export function writeAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: Answer,
): FastifyReply {
  return writeReply(reply, responseOf(answer, factsOf(request)))
}

/** What of the request its response may depend on: validators, the query, Accept, Host. */
function factsOf(request: FastifyRequest): RequestFacts {
  const { headers } = request
  return {
    ifNoneMatch: headers['if-none-match'],
    ifModifiedSince: headers['if-modified-since'],
    query: request.query as RequestFacts['query'],
    accept: headers.accept,
    origin: () => request.server.publicOrigin(request),
  }
}
