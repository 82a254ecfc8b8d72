import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import type { AnsweredRequest } from '../http/request-log.js'
import { imageOf, type ImageLabels } from './downloads.js'
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
 * request. `releases` is the release download base, where downloads lead.
 * Returns the counter for requests answered where no Fastify hook sees
 * them (the redirect lane, src/lane/).
 */
export function registerMetrics(
  app: FastifyInstance,
  metrics: Metrics,
  releases: string,
): (answered: AnsweredRequest) => void {
  app.decorate('metrics', metrics)
  const images = imagesOf(releases)
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    countRequest(metrics, request, reply)
    const location = reply.getHeader('location')
    countDownload(metrics, images, request.method, request.upstream, reply.statusCode, location)
    done()
  })
  app.addHook('onClose', async (instance) => closeMetrics(instance))
  return (answered) => {
    metrics.countRequest(answered.rule ?? 'none', answered.status, answered.durationMs / 1000)
    countDownload(
      metrics,
      images,
      answered.method,
      answered.upstream,
      answered.status,
      answered.location,
    )
  }
}

/** Counts and times one answered request (also called for those no hook sees). */
export function countRequest(metrics: Metrics, request: FastifyRequest, reply: FastifyReply): void {
  metrics.countRequest(request.rule ?? 'none', reply.statusCode, reply.elapsedTime / 1000)
}

/**
 * A download is a GET redirected to an image GitHub confirmed exists, by
 * the table or by a newest-version name. Unchecked, missing or unknown
 * assets are not counted: their names come from the client, and counting
 * them would let anyone mint label values.
 */
function countDownload(
  metrics: Metrics,
  images: (location: string) => ImageLabels | null,
  method: string,
  upstream: AnsweredRequest['upstream'],
  status: number,
  location: unknown,
): void {
  if (method !== 'GET' || upstream !== 'exists' || status !== 302) return
  const image = images(String(location))
  if (image !== null) metrics.countDownload(image)
}

/** Locations remembered by imagesOf: more than the images a release set holds. */
const IMAGES_REMEMBERED = 1_024

/**
 * imageOf, remembered (bounded): the same few images are downloaded over
 * and over, and reading the labels out of a Location each time showed in
 * the profile.
 */
function imagesOf(releases: string): (location: string) => ImageLabels | null {
  const known = new LRUCache<string, { readonly image: ImageLabels | null }>({
    max: IMAGES_REMEMBERED,
  })
  return (location) => {
    let entry = known.get(location)
    if (entry === undefined) {
      entry = { image: imageOf(releases, location) }
      known.set(location, entry)
    }
    return entry.image
  }
}
