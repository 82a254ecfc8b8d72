import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
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
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, releases: string): void {
  app.decorate('metrics', metrics)
  const images = imagesOf(releases)
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    countRequest(metrics, request, reply)
    countDownload(metrics, request, reply, images)
    done()
  })
  app.addHook('onClose', async (instance) => closeMetrics(instance))
}

/** Counts and times one answered request (also called for those no hook sees). */
export function countRequest(metrics: Metrics, request: FastifyRequest, reply: FastifyReply): void {
  const rule = request.rule ?? 'none'
  metrics.countRequest(rule, reply.statusCode)
  metrics.requestDuration.observe({ rule }, reply.elapsedTime / 1000)
}

/**
 * A download is a GET redirected to an image GitHub confirmed exists, by
 * the table or by a newest-version name. Unchecked, missing or unknown
 * assets are not counted: their names come from the client, and counting
 * them would let anyone mint label values.
 */
function countDownload(
  metrics: Metrics,
  request: FastifyRequest,
  reply: FastifyReply,
  images: (location: string) => ImageLabels | null,
): void {
  if (request.method !== 'GET' || request.upstream !== 'exists' || reply.statusCode !== 302) return
  const image = images(String(reply.getHeader('location')))
  if (image !== null) metrics.downloads.inc({ ...image })
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
