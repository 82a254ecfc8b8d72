import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import type { Dispatcher } from 'undici'
import { originsOf, type Config } from './config.js'
import { frameworkErrors, installErrorHandling } from './http/errors.js'
import { registerHealth } from './http/health.js'
import { noSchemas } from './http/no-schemas.js'
import { registerRedirects } from './http/redirect.js'
import { requestIds } from './http/request-ids.js'
import { registerRequestLog, requestLineWriter } from './http/request-log.js'
import { registerIndex } from './index/register.js'
import { registerLane } from './lane/register.js'
import { createMetrics } from './metrics/metrics.js'
import { registerMetrics } from './metrics/register.js'
import { registerProtection } from './protection/register.js'
import { serverOptions } from './protection/server-limits.js'
import type { Table } from './table/table.js'
import type { Clock } from './upstream/checks.js'
import type { UpstreamEvents } from './upstream/events.js'
import { registerUpstreamChecks } from './upstream/register.js'

export interface AppOptions {
  readonly config: Config
  /** The compiled, example-checked pattern table (see loadTable). */
  readonly table: Table
  /** Where logs go; defaults to JSON lines on stdout at config.logLevel. */
  readonly logger?: FastifyBaseLogger
  /** Where upstream checks go; default an undici Agent of the app's own. */
  readonly dispatcher?: Dispatcher
  /** Milliseconds (above zero) for cache lifetimes; default performance. */
  readonly clock?: Clock
  /** Told about every upstream check and cache lookup (metrics). */
  readonly upstreamEvents?: UpstreamEvents
}

// Requests we serve have no body; the largest we accept is a small webhook.
const BODY_LIMIT = 64 * 1024

/** Builds the service from its config and dependencies; it does not listen. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options
  const nextId = requestIds()
  const app = fastify({
    loggerInstance: options.logger ?? pino({ level: config.logLevel }),
    // request-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    genReqId: nextId,
    schemaController: noSchemas,
    ...serverOptions(),
  }) as unknown as FastifyInstance
  const metrics = createMetrics()
  const countDone = registerMetrics(app, metrics, originsOf(config).releases)
  const limiter = await registerProtection(app, config.protection, metrics.rateLimitEvents)
  installErrorHandling(app)
  registerRequestLog(app)
  registerHealth(app)
  const guard = registerUpstreamChecks(app, config.upstream, {
    dispatcher: options.dispatcher,
    clock: options.clock,
    events: options.upstreamEvents ?? metrics.upstreamEvents,
  })
  const newest = registerIndex(app, config, {
    dispatcher: options.dispatcher,
    clock: options.clock,
  })
  registerRedirects(app, {
    table: options.table,
    origins: originsOf(config),
    maxAge: config.redirectMaxAge,
    guard,
    newest,
  })
  const logLine = requestLineWriter(app.log)
  registerLane(app, config, {
    table: options.table,
    limiter,
    nextId,
    answered: (request) => {
      logLine(request)
      countDone(request)
    },
  })
  await app.ready()
  return app
}
