import type { FastifyServerOptions } from 'fastify'

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
    `route ${method} ${url} has a schema, but the app is built without schema compilers (src/http/no-schemas.ts)`,
  )
}
