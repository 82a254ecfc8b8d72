import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, type Registry } from 'prom-client'
import { httpLimits } from '../protection/server-limits.js'
import type { MetricsConfig } from '../config/metrics.js'
import type { Metrics } from './metrics.js'

const servers = new WeakMap<FastifyInstance, Server>()

/**
 * Serves `GET /metrics` for Prometheus on a listener of its own, so the
 * numbers stay off the public port. Called by main.ts once the app listens;
 * the app's onClose (see registerMetrics) closes it. Also starts the default
 * process metrics, here rather than in buildApp, so that apps built by tests
 * do not each start their own collectors.
 */
export async function listenMetrics(
  app: FastifyInstance,
  config: MetricsConfig,
): Promise<AddressInfo> {
  if (servers.has(app)) throw new Error('the metrics listener is already started')
  const { registry } = app.metrics
  collectDefaultMetrics({ register: registry })
  const server = createServer(httpLimits(), (request, response) => {
    void answer(registry, request, response).catch((err: unknown) => {
      app.log.error({ err }, 'metrics collection failed')
      reply(response, 500, 'internal error')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  servers.set(app, server)
  const address = server.address() as AddressInfo
  app.log.info({ address: address.address, port: address.port }, 'metrics listening')
  return address
}

/** Stops the metrics listener of this app, if it has one. */
export async function closeMetrics(app: FastifyInstance): Promise<void> {
  const server = servers.get(app)
  if (server === undefined) return
  servers.delete(app)
  // Scrapes are short; nothing is lost by cutting an idle keep-alive.
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

async function answer(
  registry: Registry,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  // A server's request always has a url: the target as sent.
  const path = (request.url as string).split('?')[0]
  if (path !== '/metrics') return reply(response, 404, 'not found: metrics are at /metrics')
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD')
    return reply(response, 405, `method ${request.method} is not allowed`)
  }
  const body = await registry.metrics()
  response.writeHead(200, {
    'content-type': registry.contentType,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  response.end(request.method === 'HEAD' ? undefined : body)
}

function reply(response: ServerResponse, status: number, line: string): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  response.end(`${line}\n`)
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's metrics and their registry (served by listenMetrics). */
    metrics: Metrics
  }
}

/**
 * Makes the metrics reachable as `app.metrics`, and their listener closed
 * with the app. Requests are counted where they are recorded
 * (src/response/record.ts).
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.decorate('metrics', metrics)
  app.addHook('onClose', async (instance) => closeMetrics(instance))
}
