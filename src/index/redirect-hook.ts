import type { FastifyReply, FastifyRequest } from 'fastify'
import { publicMaxAge } from '../http/cache-control.js'
import { sendText } from '../http/text-reply.js'
import type { Resolution } from '../table/resolve.js'
import type { UpstreamChecks } from '../upstream/checks.js'
import { missingAsset, type RedirectGuard } from '../upstream/guard.js'
import {
  answerFor,
  interpret,
  isPublishedVersion,
  newestFileOf,
  resolveNewest,
  type CatalogSource,
  type Interpretation,
  type NewestAnswer,
} from './newest.js'
import { sendUnavailable } from './unavailable.js'

export interface NewestHookOptions {
  readonly index: CatalogSource
  /** `<GITHUB_URL>/<owner>/<repo>/releases/download`. */
  readonly releases: string
  /** Seconds a newest-version redirect may be kept: short, it moves on publish. */
  readonly maxAge: number
  /** Seconds a "no such extension or stream" may be kept. */
  readonly notFoundMaxAge: number
  /** Seconds a client should wait when the index is not available yet. */
  readonly retryAfter: number
  /** The upstream checks, or null when they are off (read per request). */
  readonly checks: () => UpstreamChecks | null
}

/**
 * Runs in the redirect route before the upstream guard, for
 * `/extensions/<name>.raw` only:
 *
 * - a path no table rule takes (`kubernetes.raw`, `kubernetes-arm64.raw`) is
 *   ours: the newest image, or a 404 naming the choices;
 * - a path a rule takes (`kubernetes-v1.32-x86-64.raw` reads as release
 *   `kubernetes-v1.32`) stays the table's, unless GitHub says the exact
 *   asset is missing, the index knows the extension and the version part is
 *   no version it publishes: then it is a stream, or a 404 naming the
 *   choices. An exact version therefore always gets exactly what it got
 *   before, and an index that cannot answer changes nothing for it.
 *
 * Returns undefined to let the route go on as before.
 */
export function newestHook(options: NewestHookOptions): RedirectGuard {
  // Synchronous for every other path: no promise where there is nothing to do.
  return (request, reply, resolution, path) => {
    const file = newestFileOf(path)
    if (file === null) return undefined
    if (resolution.kind === 'release') return rescue(request, reply, resolution, file, options)
    return newest(request, reply, file, options)
  }
}

/** A path no table rule takes: the newest image, or a 404 naming the choices. */
async function newest(
  request: FastifyRequest,
  reply: FastifyReply,
  file: string,
  options: NewestHookOptions,
): Promise<FastifyReply> {
  let answer: NewestAnswer
  try {
    answer = await resolveNewest(file, options.index)
  } catch (err) {
    request.rule = 'newest'
    return sendUnavailable(
      request,
      reply,
      err,
      options.retryAfter,
      'the list of published versions',
    )
  }
  return send(request, reply, answer, options)
}

async function rescue(
  request: FastifyRequest,
  reply: FastifyReply,
  resolution: Extract<Resolution, { kind: 'release' }>,
  file: string,
  options: NewestHookOptions,
): Promise<FastifyReply | undefined> {
  const { release, asset, location } = resolution
  const checks = options.checks()
  if (checks !== null) {
    // GitHub first: an image it has is the table's answer whatever the
    // index says, so such a path never waits on the index (at start, or
    // when the index is due for a refresh). The guard that runs next takes
    // this answer from request.upstream instead of looking up again.
    const outcome = await checks.lookup({ release, asset, location, cache: resolution.rule.cache })
    request.upstream = outcome
    if (outcome !== 'missing') return undefined
  }
  let found: Interpretation | undefined
  try {
    found = await interpret(file, options.index)
  } catch {
    return undefined // an index that cannot answer changes nothing
  }
  if (found === undefined || isPublishedVersion(found)) return undefined
  const answer = answerFor(found)
  // No stream either: say first what the table's answer said, then the choices.
  const said = missingAsset(release, asset)
  return send(
    request,
    reply,
    answer.kind === 'image' ? answer : { kind: 'not-found', message: `${said}; ${answer.message}` },
    options,
  )
}

async function send(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: NewestAnswer,
  options: NewestHookOptions,
): Promise<FastifyReply> {
  request.rule = 'newest'
  if (answer.kind === 'not-found') {
    request.upstream = 'unchecked'
    return sendText(
      reply,
      404,
      `Not Found: ${answer.message}`,
      publicMaxAge(options.notFoundMaxAge),
    )
  }
  const { release, image } = answer
  const location = `${options.releases}/${release}/${image.file}`
  const checks = options.checks()
  // The index says it is published; GitHub has the last word on whether it still is.
  const outcome =
    checks === null
      ? 'unchecked'
      : await checks.lookup({ release, asset: image.file, location, cache: 'versioned' })
  request.upstream = outcome
  if (outcome === 'missing') {
    return sendText(
      reply,
      404,
      `Not Found: the index lists ${image.file}, but release ${release} does not have it`,
      publicMaxAge(options.notFoundMaxAge),
    )
  }
  return reply
    .code(302)
    .header('location', location)
    .header('cache-control', publicMaxAge(options.maxAge))
    .send()
}
