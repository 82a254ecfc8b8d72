import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { normaliseTarget } from '../path/normalise.js'
import { resolve, type Origins, type Resolution } from '../table/resolve.js'
import type { Table } from '../table/table.js'

export interface RedirectOptions {
  readonly table: Table
  readonly origins: Origins
  readonly maxAge: Config['redirectMaxAge']
}

/** GET and HEAD of any path not served otherwise: the flat directory. */
export function registerRedirects(app: FastifyInstance, options: RedirectOptions): void {
  const cacheControl = cacheControlFor(options.maxAge)
  app.get('*', async (request, reply) => {
    const resolution = resolve(
      options.table,
      normaliseTarget(request.raw.url ?? '/'),
      options.origins,
    )
    request.rule = resolution.kind === 'release' ? resolution.rule.name : 'fallback'
    return reply
      .code(302)
      .header('location', resolution.location)
      .header('cache-control', cacheControl(resolution))
      .send()
  })
}

function cacheControlFor(maxAge: Config['redirectMaxAge']): (resolution: Resolution) => string {
  const header = (seconds: number): string => `public, max-age=${seconds}`
  const versioned = header(maxAge.versioned)
  const mutable = header(maxAge.mutable)
  const fallback = header(maxAge.fallback)
  return (resolution) => {
    if (resolution.kind === 'fallback') return fallback
    return resolution.rule.cache === 'versioned' ? versioned : mutable
  }
}
