import type { FastifyReply, FastifyRequest } from 'fastify'
import { publicMaxAge } from '../http/cache-control.js'
import { sendText } from '../http/text-reply.js'
import type { ReleaseTarget, Resolution } from '../table/resolve.js'
import type { UpstreamChecks } from './checks.js'
import type { UpstreamConfig } from './config.js'
import type { CheckOutcome } from './events.js'

/**
 * Runs before a redirect is sent: answers the request itself (and returns
 * the reply) when the redirect must not happen, or returns undefined to let
 * the redirect go. Sets request.upstream either way. Answers without a
 * promise when it can (from memory): most requests then need none.
 */
export type RedirectGuard = (
  request: FastifyRequest,
  reply: FastifyReply,
  resolution: Resolution,
  /** The normalised request path the resolution was made from. */
  path: string,
) => GuardResult

export type GuardResult = FastifyReply | undefined | Promise<FastifyReply | undefined>

/** UPSTREAM_CHECKS=false: every redirect goes unchecked, as Caddy did. */
export const uncheckedGuard: RedirectGuard = (request) => {
  request.upstream = 'unchecked'
  return undefined
}

/**
 * Release targets are checked; the fallback (docs site) never is. Missing:
 * a 404 that may be cached as long as the negative answer. Unknown: the
 * redirect goes anyway (fail open, logged) or, failing closed, a 503 with
 * Retry-After, never a 4xx, which Ignition would take as final.
 */
/** What a 404 for a missing release asset says; the newest-version hook repeats it. */
export function missingAsset(release: string, asset: string): string {
  return `release ${release} has no asset ${asset}`
}

export function checkingGuard(
  checks: UpstreamChecks,
  config: Pick<UpstreamConfig, 'failMode' | 'ttlMs'>,
): RedirectGuard {
  const missingCacheControl = publicMaxAge(Math.floor(config.ttlMs.missing / 1000))
  const retryAfter = String(Math.max(1, Math.ceil(config.ttlMs.unknown / 1000)))
  const decide = (
    request: FastifyRequest,
    reply: FastifyReply,
    { release, asset, location }: ReleaseTarget,
    outcome: CheckOutcome,
  ): FastifyReply | undefined => {
    request.upstream = outcome
    if (outcome === 'missing') {
      return sendText(reply, 404, `Not Found: ${missingAsset(release, asset)}`, missingCacheControl)
    }
    if (outcome === 'unknown') {
      if (config.failMode === 'closed') {
        return sendText(
          reply.header('retry-after', retryAfter),
          503,
          `Service Unavailable: cannot confirm with GitHub that release ${release} has asset ${asset}; try again shortly`,
        )
      }
      request.log.warn({ location }, 'upstream check failed; redirecting unconfirmed')
    }
    return undefined
  }
  return (request, reply, resolution, path) => {
    if (resolution.kind === 'fallback') return uncheckedGuard(request, reply, resolution, path)
    // The newest-version hook asked already for this request (it sets only a
    // check's answer before the guard runs): one lookup, counted once.
    const asked = request.upstream as CheckOutcome | null
    if (asked !== null) return decide(request, reply, resolution, asked)
    const { release, asset, location } = resolution
    const outcome = checks.lookupNow({ release, asset, location, cache: resolution.rule.cache })
    if (typeof outcome === 'string') return decide(request, reply, resolution, outcome)
    return outcome.then((answer) => decide(request, reply, resolution, answer))
  }
}
