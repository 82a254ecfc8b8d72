import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { publicMaxAge } from './cache-control.js'
import { memoResolver } from '../table/memo.js'
import type { Origins, Resolution } from '../table/resolve.js'
import type { Table } from '../table/table.js'
import type { GuardResult, RedirectGuard } from '../upstream/guard.js'

export interface RedirectOptions {
  readonly table: Table
  readonly origins: Origins
  readonly maxAge: Config['redirectMaxAge']
  /** Runs first: may answer instead of the redirect (src/upstream/guard.ts). */
  readonly guard: RedirectGuard
  /** Runs before the guard: newest-version names (src/index/redirect-hook.ts). */
  readonly newest?: RedirectGuard | undefined
}

/** GET and HEAD of any path not served otherwise: the flat directory. */
export function registerRedirects(app: FastifyInstance, options: RedirectOptions): void {
  const cacheControl = cacheControlFor(options.maxAge)
  const resolveTarget = memoResolver(options.table, options.origins)
  // Not an async handler: a redirect answered from memory (the common case)
  // is sent without a promise; only a hook that must wait returns one.
  app.get('*', (request, reply) => {
    const { target, resolution } = resolveTarget(request.url)
    request.rule = ruleOf(resolution)
    const redirect = (): undefined => {
      reply.code(302).headers({
        location: resolution.location,
        'cache-control': cacheControl(resolution),
      })
      reply.send()
      return undefined
    }
    // Whether a hook answered is told by reply.sent (a reply is thenable, so
    // a promise of one settles to undefined).
    const guard = (): GuardResult =>
      reply.sent
        ? undefined
        : then(options.guard(request, reply, resolution, target.path), () =>
            reply.sent ? undefined : redirect(),
          )
    return then(options.newest?.(request, reply, resolution, target.path), guard)
  })
}

/** Runs next after a hook's result: at once if it answered synchronously. */
function then(result: GuardResult, next: () => GuardResult): GuardResult {
  return result instanceof Promise ? result.then(next) : next()
}

/** The rule named in logs and metrics for a resolution. */
export function ruleOf(resolution: Resolution): string {
  return resolution.kind === 'release' ? resolution.rule.name : 'fallback'
}

/** The Cache-Control of a redirect, by the class of its rule. */
export function cacheControlFor(
  maxAge: Config['redirectMaxAge'],
): (resolution: Resolution) => string {
  const versioned = publicMaxAge(maxAge.versioned)
  const mutable = publicMaxAge(maxAge.mutable)
  const fallback = publicMaxAge(maxAge.fallback)
  return (resolution) => {
    if (resolution.kind === 'fallback') return fallback
    return resolution.rule.cache === 'versioned' ? versioned : mutable
  }
}
