import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Answer } from '../decision/answer.js'
import type { AnsweredRequest } from '../http/request-log.js'
import type { Metrics } from './metrics.js'
import { closeMetrics } from './server.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's metrics and their registry (served by listenMetrics). */
    metrics: Metrics
  }
}

/**
 * Makes the metrics reachable as `app.metrics` and counts every answered
 * request. Returns the counter for requests answered where no Fastify hook
 * sees them (the redirect lane, src/lane/).
 */
export function registerMetrics(
  app: FastifyInstance,
  metrics: Metrics,
): (answered: AnsweredRequest) => void {
  app.decorate('metrics', metrics)
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    countRequest(metrics, request, reply)
    const { answer } = request
    if (answer !== null) countDownload(metrics, request.method, reply.statusCode, answer)
    done()
  })
  app.addHook('onClose', async (instance) => closeMetrics(instance))
  return (answered) => {
    metrics.countRequest(answered.rule ?? 'none', answered.status, answered.durationMs / 1000)
    countDownload(metrics, answered.method, answered.status, answered.answer)
  }
}

/** Counts and times one answered request (also called for those no hook sees). */
export function countRequest(metrics: Metrics, request: FastifyRequest, reply: FastifyReply): void {
  metrics.countRequest(request.rule ?? 'none', reply.statusCode, reply.elapsedTime / 1000)
}

/**
 * A download is a GET redirected to an image GitHub confirmed exists, by
 * the table or by a newest-version name: the decision names the image.
 * Unchecked, missing or unknown assets are not counted: their names come
 * from the client, and counting them would let anyone mint label values.
 */
function countDownload(
  metrics: Metrics,
  method: string,
  status: number,
  answer: Pick<Answer, 'upstream' | 'image' | 'source'>,
): void {
  if (method !== 'GET' || answer.upstream !== 'exists' || status !== 302) return
  // A checked image is always a source's (a table rule's, or the index's).
  if (answer.image !== null) metrics.countDownload(answer.image, answer.source as string)
}
