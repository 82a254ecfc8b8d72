import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendText } from '../response/reply.js'
import { NO_LABELS, type Labels } from '../response/response.js'
import { clientKey } from '../core/address.js'
import { readSigned, type Body } from './body.js'
import { MergedInvalidations, SeenDeliveries } from './deliveries.js'
import type { SourceTag } from '../table/sources.js'
import { readReleaseEvent } from './event.js'
import { signatureIsValid, verifierFor, type Verifier } from './signature.js'
import { DeliverySlots, type Release } from './slots.js'

export const HOOK_PATH = '/hooks/github'

export interface Dropped {
  /** Manifests whose next read waits for GitHub. */
  readonly manifests: readonly string[]
  /** Upstream check answers forgotten. */
  readonly checks: number
}

export interface GithubHookOptions {
  readonly secret: string
  /** The largest body accepted, in bytes; larger gets 413. */
  readonly maxBytes: number
  /** The source a delivery's repository is (src/webhooks/event.ts); null: not one of ours. */
  readonly sourceOf: (repository: string | undefined) => string | null
  /** Forgets what the service knows about one release tag of one source. */
  readonly invalidate: (release: SourceTag) => Dropped
  /** For the merge and replay windows; default Date. */
  readonly clock?: { now(): number }
  /** Default BODY_TIMEOUT_MS. */
  readonly bodyTimeoutMs?: number
  /** Whether a client address may deliver (GITHUB_WEBHOOK_ALLOW); default any. */
  readonly allow?: (address: string) => boolean
}

// Bodies read at once, one per client address at most (src/webhooks/slots.ts).
// With the body limit, this bounds what unsigned bodies can hold: MAX_IN_FLIGHT × maxBytes.
export const MAX_IN_FLIGHT = 4
// Deliveries that may wait for a slot: from one address, and from all.
export const WAITING_PER_ADDRESS = 4
export const WAITING = 32
// A delivery's whole body must arrive within this; GitHub sends it at once,
// so a slot is held at most this long by a sender that sends nothing.
export const BODY_TIMEOUT_MS = 2_000
// Invalidations of one release at most once in this window (the rest merged).
export const MERGE_WINDOW_MS = 2_000
// Bodies remembered, to ignore replays, and for how long (see SeenDeliveries).
const DELIVERIES_REMEMBERED = 10_000
export const REPLAY_WINDOW_MS = 10 * 60_000

declare module 'fastify' {
  interface FastifyRequest {
    /** The webhook's body as read and checked (src/webhooks/body.ts). */
    webhookBody?: Body
    /** Its signature, checked as the body streams. */
    webhookVerifier?: Verifier
  }
}

/**
 * POST /hooks/github: GitHub's `release` webhooks, so a new version is served
 * as soon as it is published instead of when caches expire. Every delivery
 * must carry a valid X-Hub-Signature-256 (401 otherwise), checked as the body
 * streams, before anything in it is read; `ping` and every other event are
 * acknowledged and ignored. Bounded against hostile senders: a delivery
 * without a signature header is refused before its body is read, and one
 * that declares more than `maxBytes` too (413); at most MAX_IN_FLIGHT
 * bodies are read at once, one per client address, the others wait their
 * turn in bounds (503 beyond); each body within BODY_TIMEOUT_MS and
 * `maxBytes`; a body handled before is ignored, whatever its delivery id;
 * invalidations of one release are merged within MERGE_WINDOW_MS.
 */
export function registerGithubHook(app: FastifyInstance, options: GithubHookOptions): void {
  const clock = options.clock ?? Date
  const seen = new SeenDeliveries(DELIVERIES_REMEMBERED, REPLAY_WINDOW_MS, clock)
  const merged = new MergedInvalidations(MERGE_WINDOW_MS, clock)
  app.addHook('onClose', async () => merged.close())
  const slots = new DeliverySlots({
    slots: MAX_IN_FLIGHT,
    waitingPerAddress: WAITING_PER_ADDRESS,
    waiting: WAITING,
  })
  const timeoutMs = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS
  void app.register(async (scope) => {
    // The signature covers the bytes as sent: read them as a stream, parse nothing first.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (request, payload, done) => {
      // Set by onRequest, which refused the delivery when its header cannot be a signature.
      const verifier = request.webhookVerifier as Verifier
      const limits = { maxBytes: options.maxBytes, timeoutMs }
      void readSigned(payload, verifier, limits).then((body) => {
        request.webhookBody = body
        done(null, undefined)
      })
    })
    scope.post(HOOK_PATH, {
      bodyLimit: options.maxBytes,
      onRequest: (request, reply, next) => {
        if (options.allow?.(request.ip) === false) {
          return void refuse(reply, 403, 'Forbidden: this address may not deliver webhooks')
        }
        const verifier = verifierFor(options.secret, request.headers['x-hub-signature-256'])
        if (verifier === null) {
          return void refuse(reply, 401, 'Unauthorized: missing or wrong X-Hub-Signature-256')
        }
        request.webhookVerifier = verifier
        if (declaredLength(request) > options.maxBytes) return void tooLarge(reply, options)
        takeSlot(slots, request, reply, timeoutMs, next)
      },
      handler: async (request, reply) => handle(request, reply, options, seen, merged),
    })
  })
}

/**
 * Without GITHUB_WEBHOOK_SECRET there is no webhook: POST /hooks/github
 * answers 404 saying so (a sender setting it up learns why its deliveries
 * fail, rather than "method POST is not allowed"), before its body is read.
 */
export function registerHookOff(app: FastifyInstance): void {
  app.post(HOOK_PATH, {
    onRequest: (request, reply) => {
      refuse(reply, 404, NOT_CONFIGURED)
    },
    // Never reached: onRequest answers every request.
    /* c8 ignore next */
    handler: async () => {},
  })
}

export const NOT_CONFIGURED =
  'Not Found: the GitHub webhook is not configured on this service (GITHUB_WEBHOOK_SECRET is unset)'

/**
 * The Content-Length a delivery declares (Node's parser lets only digits
 * through); 0 without one: a chunked body is counted as it streams.
 */
function declaredLength(request: FastifyRequest): number {
  return Number(request.headers['content-length'] ?? 0)
}

/**
 * A body slot for the delivery, by its client's address (an IPv6 /64 as
 * one), then `next`: at once, or after waiting its turn, at most twice the
 * body timeout (a slot frees within one). Refused with 503 at once when it
 * may not wait, or when its wait runs out.
 */
function takeSlot(
  slots: DeliverySlots,
  request: FastifyRequest,
  reply: FastifyReply,
  timeoutMs: number,
  next: () => void,
): void {
  const busy = (line: string): void => {
    reply.header('retry-after', '1')
    refuse(reply, 503, `Service Unavailable: ${line}`)
  }
  const hold = (release: Release): void => {
    reply.raw.once('close', release)
    next()
  }
  const slot = slots.take(clientKey(request.ip))
  if (slot === 'address') return busy('too many deliveries at once from this address')
  if (slot === 'busy') return busy('too many deliveries at once')
  if (typeof slot === 'function') return hold(slot)
  const onClose = (): void => {
    clearTimeout(timer)
    slot.cancel()
  }
  const timer = setTimeout(() => {
    request.raw.off('close', onClose)
    slot.cancel()
    busy('too many deliveries at once')
  }, 2 * timeoutMs)
  request.raw.once('close', onClose)
  void slot.wait.then((release) => {
    clearTimeout(timer)
    request.raw.off('close', onClose)
    hold(release)
  })
}

/** What the log and the metrics name a delivery's answer by. */
const WEBHOOK: Labels = { ...NO_LABELS, rule: 'webhook' }

/** A delivery's answer: one line, recorded under the webhook's name. */
function answer(reply: FastifyReply, status: number, line: string): FastifyReply {
  return sendText(reply, status, line, 'no-store', WEBHOOK)
}

/** Declared or met while it streams, alike. */
function tooLarge(reply: FastifyReply, options: GithubHookOptions): FastifyReply {
  return refuse(reply, 413, `Payload Too Large: at most ${options.maxBytes} bytes`)
}

/** Answers before the body is read: the connection closes, so its rest is never read. */
function refuse(reply: FastifyReply, status: number, line: string): FastifyReply {
  return answer(reply.header('connection', 'close'), status, line)
}

function handle(
  request: FastifyRequest,
  reply: FastifyReply,
  options: GithubHookOptions,
  seen: SeenDeliveries,
  merged: MergedInvalidations,
): FastifyReply {
  const body = request.webhookBody ?? emptyBody(options.secret, request)
  if (body.kind === 'too-large') return tooLarge(reply, options)
  if (body.kind === 'too-slow') return refuse(reply, 408, 'Request Timeout: the body took too long')
  if (body.kind === 'unsigned') {
    return answer(reply, 401, 'Unauthorized: missing or wrong X-Hub-Signature-256')
  }
  if (seen.repeat(body.bytes)) {
    return answer(reply, 200, 'OK: this delivery was handled before; ignored')
  }
  const event = request.headers['x-github-event']
  if (event === 'ping') return answer(reply, 200, 'pong')
  if (event !== 'release') {
    const name = typeof event === 'string' && /^[a-z_]{1,64}$/.test(event) ? event : 'unnamed'
    return answer(reply, 202, `Accepted: ${name} events are ignored`)
  }
  const release = readReleaseEvent(payloadOf(body.bytes, request.headers['content-type']))
  if (!release.ok) return answer(reply, 400, `Bad Request: ${release.reason}`)
  const source = options.sourceOf(release.repository)
  if (source === null) {
    const named = release.repository === undefined ? 'no repository' : 'another repository'
    return answer(
      reply,
      202,
      `Accepted: the release is in ${named}, not one this service serves; ignored`,
    )
  }
  const results = release.tags.map((tag) =>
    // Source names hold no NUL: one key per source and tag.
    merged.request(`${source}\0${tag}`, () => options.invalidate({ source, tag })),
  )
  const dropped = results.filter((result) => result !== null)
  const manifests = [...new Set(dropped.flatMap((d) => d.manifests))]
  const checks = dropped.reduce((sum, d) => sum + d.checks, 0)
  const later = results.length - dropped.length
  request.log.info(
    { action: release.action, source, tags: release.tags, manifests, checks, merged: later },
    'release webhook: caches dropped',
  )
  const merging = later === 0 ? '' : `; ${later} merged with a change just before, dropped shortly`
  return answer(
    reply,
    200,
    `OK: release ${release.tags.join(', ')} ${release.action}; dropped ${manifests.length} manifest(s) and ${checks} check(s)${merging}`,
  )
}

/** No body at all (Fastify parses none): signed only if its signature is that of no bytes. */
function emptyBody(secret: string, request: FastifyRequest): Body {
  const bytes = Buffer.alloc(0)
  const signed = signatureIsValid(secret, bytes, request.headers['x-hub-signature-256'])
  return signed ? { kind: 'signed', bytes } : { kind: 'unsigned' }
}

/** GitHub sends JSON, or the JSON in a `payload` form field (content type "form"). */
function payloadOf(body: Buffer, contentType: string | undefined): unknown {
  let text = body.toString('utf8')
  if (contentType?.startsWith('application/x-www-form-urlencoded') === true) {
    text = new URLSearchParams(text).get('payload') ?? ''
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
