import fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify'
import { pino } from 'pino'
import type { Dispatcher } from 'undici'
import { keyFilesOf, originsOf, type Config } from './config/service.js'
import { createDecider, type Decider } from './decision/decider.js'
import { policyOf } from './decision/policy.js'
import { registerAnswerRoute } from './http/answer-route.js'
import { publicOrigin } from './directory/snippets.js'
import { addressMatcher } from './core/address.js'
import { registerConnectionCap } from './protection/connection-cap.js'
import { frameworkErrors, installErrorHandling } from './http/errors.js'
import { registerHealth } from './http/health.js'
import { noSchemas } from './http/fastify-options.js'
import { requestIds } from './http/fastify-options.js'
import { registerIndex } from './manifests/register.js'
import { registerLane } from './lane/register.js'
import { createMetrics } from './metrics/metrics.js'
import { registerMetrics } from './metrics/server.js'
import { recorder, registerRecord } from './response/record.js'
import { registerProtection } from './protection/register.js'
import { serverOptions } from './protection/server-limits.js'
import type { RedisPlan } from './config/redis.js'
import type { RedisConnection } from './fleet/redis.js'
import { registerSharedStore } from './fleet/register.js'
import { sharedRelease, splitSharedRelease, type SourceTag } from './table/sources.js'
import type { Origins } from './table/resolve.js'
import type { Table } from './table/table.js'
import type { Clock } from './upstream/checks.js'
import type { UpstreamEvents } from './upstream/head.js'
import { UpstreamGate } from './upstream/gate.js'
import { registerUpstreamChecks } from './upstream/register.js'
import { admission } from './manifests/admission.js'
import { readVerifiers } from './manifests/signing-keys.js'
import { registerGithubHook, registerHookOff } from './webhooks/github.js'
import { sourceOfDelivery } from './webhooks/event.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The one decision every transport renders (src/decision/). */
    decider: Decider
  }
}

export interface AppOptions {
  readonly config: Config
  /** The compiled, example-checked pattern table (see loadTable). */
  readonly table: Table
  /** Where the table's redirects lead (boot/settings.ts); worked out here when not given. */
  readonly origins?: Origins
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

/**
 * The Redis plan's one connection (REDIS_URL), closed with the app, as each
 * use gets it: the rate-limit counts and the shared store, each null when
 * the plan leaves it out. ioredis is loaded only when Redis is used: it costs
 * start-up time and memory.
 */
async function connectRedisPlan(
  app: FastifyInstance,
  plan: RedisPlan | undefined,
): Promise<{ counts: RedisConnection | null; store: RedisConnection | null }> {
  if (plan === undefined) return { counts: null, store: null }
  const connection = (await import('./fleet/redis.js')).connectRedis(plan, app.log)
  app.addHook('onClose', async () => connection.close())
  return {
    counts: plan.rateLimit ? connection : null,
    store: plan.sharedState ? connection : null,
  }
}

/** Builds the service from its config and dependencies; it does not listen. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, table } = options
  // Read before anything is made: a key file that cannot be used stops the start.
  const verifiers = await readVerifiers(keyFilesOf(config, table))
  const nextId = requestIds()
  const app = fastify({
    loggerInstance: options.logger ?? pino({ level: config.logLevel }),
    // response/record.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    genReqId: nextId,
    schemaController: noSchemas,
    ...serverOptions(),
  }) as unknown as FastifyInstance
  const metrics = createMetrics()
  registerMetrics(app, metrics)
  // One sink records every request served, by Fastify or by the lane.
  const record = recorder(app.log, metrics)
  registerRecord(app, record)
  const redis = await connectRedisPlan(app, config.redis)
  const limiter = await registerProtection(
    app,
    config.protection,
    metrics.rateLimitEvents,
    redis.counts,
  )
  registerConnectionCap(app)
  installErrorHandling(app)
  registerHealth(app)
  // One gate for everything sent to GitHub: its pauses hold back checks and manifests alike.
  const gate = new UpstreamGate({
    clock: options.clock ?? performance,
    checksPerSecond: config.upstream.checksPerSecond,
    checksPerClient: config.upstream.checksPerClient,
    events: metrics.gateEvents,
    log: app.log.child({ module: 'upstream' }),
  })
  const origins = options.origins ?? originsOf(config, table)
  const shared = await registerSharedStore(app, redis.store, {
    clock: options.clock ?? performance,
    events: metrics.sharedEvents,
    releases: origins.releases,
  })
  const deps = {
    dispatcher: options.dispatcher,
    clock: options.clock,
    gate,
    shared,
    mirrors: origins.mirrors,
  }
  const checks = registerUpstreamChecks(app, config.upstream, {
    ...deps,
    events: options.upstreamEvents ?? metrics.upstreamEvents,
  })
  const known = registerIndex(app, config, {
    verifiers,
    ...deps,
    manifests: table.manifests,
    sources: origins.sources,
    source: origins.source,
    events: metrics.indexEvents,
    // A new revision is adopted once the files it adds are at the origin (with checks on).
    admitOf:
      checks === null
        ? undefined
        : (source) =>
            admission({ table, origins, source, exists: (target) => checks.lookupNow(target) }),
  })
  const indexes = app.manifestIndexes
  // When checks run short, names an adopted manifest lists come first (src/upstream/gate.ts).
  checks?.prioritiseWith(
    ({ source, release, asset }) => indexes.get(source)?.listsNow(release, asset) ?? true,
  )
  const clock = options.clock ?? performance
  metrics.watchHolds(() =>
    [...known].flatMap(([source, { snapshots }]) =>
      snapshots.holds().map(({ release, cause, since }) => {
        const seconds = (clock.now() - since) / 1000
        return { source, release, cause, seconds }
      }),
    ),
  )
  // A release event drops what the service knows of that release, in that source: the
  // checks first, so that the manifests read again at once see the release as it is now.
  const dropLocally = ({ source, tag }: SourceTag) => {
    const dropped = checks?.invalidate(tag, source) ?? 0
    known.get(source)?.snapshots.invalidate(tag)
    return { manifests: indexes.get(source)?.invalidate(tag) ?? [], checks: dropped }
  }
  // Another instance got a release event: drop the same here.
  shared?.onInvalidation((tags) => tags.map(splitSharedRelease).forEach(dropLocally))
  const { secret, maxBytes, allow } = config.webhook
  if (secret !== undefined) {
    registerGithubHook(app, {
      secret,
      maxBytes,
      ...(allow.length === 0 ? {} : { allow: addressMatcher(allow) }),
      sourceOf: (repository) => sourceOfDelivery(origins, repository),
      invalidate: (release) => {
        // Retired in the store first, on the connection later reads use, then told to the fleet.
        // The tag's own release is among the manifests an index touches: retired once.
        const { source, tag } = release
        const touched = new Set([...(indexes.get(source)?.touchedBy(tag) ?? []), tag])
        const releases = [...touched].map((name) => sharedRelease(source, name))
        shared?.invalidate(releases, [sharedRelease(source, tag)])
        return dropLocally(release)
      },
    })
  } else {
    registerHookOff(app)
  }
  const decider = createDecider({
    table,
    origins,
    policy: policyOf(config, table, origins),
    knowledge: { checks, index: app.manifestIndex, indexes, snapshots: app.snapshots },
  })
  app.decorate('decider', decider)
  // The origin the directory's snippets name (src/directory/snippets.ts).
  const behindFly = config.protection.trustProxy === 'fly'
  app.decorate('publicOrigin', (request: FastifyRequest) =>
    publicOrigin(config.publicUrl, behindFly, request.headers.host),
  )
  registerAnswerRoute(app, decider)
  registerLane(app, config, { decider, limiter, nextId, record })
  await app.ready()
  return app
}
