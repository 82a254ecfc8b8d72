import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendText } from '../http/text-reply.js'
import { readReleaseEvent } from './event.js'
import { signatureIsValid } from './signature.js'

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
  /** Forgets what the service knows about one release tag. */
  readonly invalidate: (tag: string) => Dropped
}

/**
 * POST /hooks/github: GitHub's `release` webhooks, so a new version is served
 * as soon as it is published instead of when caches expire. Every delivery
 * must carry a valid X-Hub-Signature-256 (401 otherwise) before anything in
 * it is read; `ping` and every other event are acknowledged and ignored.
 */
export function registerGithubHook(app: FastifyInstance, options: GithubHookOptions): void {
  void app.register(async (scope) => {
    // The signature covers the bytes as sent: keep them, parse nothing first.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: options.maxBytes },
      (_request, body, done) => done(null, body),
    )
    scope.post(HOOK_PATH, { bodyLimit: options.maxBytes }, async (request, reply) =>
      handle(request, reply, options),
    )
  })
}

function handle(
  request: FastifyRequest,
  reply: FastifyReply,
  options: GithubHookOptions,
): FastifyReply {
  request.rule = 'webhook'
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
  if (!signatureIsValid(options.secret, body, request.headers['x-hub-signature-256'])) {
    return sendText(reply, 401, 'Unauthorized: missing or wrong X-Hub-Signature-256')
  }
  const event = request.headers['x-github-event']
  if (event === 'ping') return sendText(reply, 200, 'pong')
  if (event !== 'release') {
    const name = typeof event === 'string' && /^[a-z_]{1,64}$/.test(event) ? event : 'unnamed'
    return sendText(reply, 202, `Accepted: ${name} events are ignored`)
  }
  const release = readReleaseEvent(payloadOf(body, request.headers['content-type']))
  if (!release.ok) return sendText(reply, 400, `Bad Request: ${release.reason}`)
  const dropped = release.tags.map((tag) => options.invalidate(tag))
  const manifests = [...new Set(dropped.flatMap((d) => d.manifests))]
  const checks = dropped.reduce((sum, d) => sum + d.checks, 0)
  request.log.info(
    { action: release.action, tags: release.tags, manifests, checks },
    'release webhook: caches dropped',
  )
  return sendText(
    reply,
    200,
    `OK: release ${release.tags.join(', ')} ${release.action}; dropped ${manifests.length} manifest(s) and ${checks} check(s)`,
  )
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
