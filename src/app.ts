import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { originsOf, type Config } from './config.js'
import { frameworkErrors, installErrorHandling } from './http/errors.js'
import { registerHealth } from './http/health.js'
import { registerRedirects } from './http/redirect.js'
import { registerRequestLog } from './http/request-log.js'
import type { Table } from './table/table.js'

export interface AppOptions {
  readonly config: Config
  /** The compiled, example-checked pattern table (see loadTable). */
  readonly table: Table
  /** Where logs go; defaults to JSON lines on stdout at config.logLevel. */
  readonly logger?: FastifyBaseLogger
}

// Requests we serve have no body; the largest we accept is a small webhook.
const BODY_LIMIT = 64 * 1024

/** Builds the service from its config and dependencies; it does not listen. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options
  const app = fastify({
    loggerInstance: options.logger ?? pino({ level: config.logLevel }),
    // request-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
  }) as unknown as FastifyInstance
  installErrorHandling(app)
  registerRequestLog(app)
  registerHealth(app)
  registerRedirects(app, {
    table: options.table,
    origins: originsOf(config),
    maxAge: config.redirectMaxAge,
  })
  await app.ready()
  return app
}
