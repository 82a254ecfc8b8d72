import type { FastifyServerOptions } from 'fastify'

// What fastify() is built with besides the server's limits
// (src/protection/server-limits.ts): the request ids and no schema compilers.

/**
 * Request ids for log lines, `req-1`, `req-2`, … in base 36, as Fastify makes
 * them by default. One sequence per app, shared by Fastify (its genReqId) and
 * the redirect lane, so ids stay unique whichever path answered.
 */
export function requestIds(): () => string {
  // Kept a small integer (V8's fast case), as Fastify does: it wraps after 2^31.
  const MAX = 0x7fffffff
  let last = 0
  return () => {
    last = (last + 1) & MAX
    return `req-${last.toString(36)}`
  }
}

/**
 * No route of ours has a JSON schema, so Fastify need not load its schema
 * compilers (ajv and fast-json-stringify): they were about a tenth of the
 * start-up time and several MB of memory. A route given a schema later
 * stops the start with a message saying why, rather than going unchecked.
 */
export const noSchemas = {
  compilersFactory: {
    buildValidator: () => refuse,
    buildSerializer: () => refuse,
  },
  // Fastify types these factories in ajv's terms; at run time the compiler
  // each returns is called with the route's { schema, method, url, ... }.
} as unknown as NonNullable<FastifyServerOptions['schemaController']>

function refuse({ method, url }: { method: string; url: string }): never {
  throw new Error(
    `route ${method} ${url} has a schema, but the app is built without schema compilers (src/http/fastify-options.ts)`,
  )
}
