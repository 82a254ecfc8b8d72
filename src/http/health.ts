import type { FastifyInstance } from 'fastify'
import { sendText } from '../response/reply.js'

/**
 * /healthz: the process answers. /readyz: the table is loaded (it is, or the
 * app would not exist) and the server is listening. Once a shutdown starts,
 * Fastify answers every request with 503 itself (return503OnClosing).
 */
export function registerHealth(app: FastifyInstance): void {
  let listening = false
  app.addHook('onListen', async () => {
    listening = true
  })
  const { healthz, readyz } = HEALTH_CHECKS
  app.get(healthz.path, async (_request, reply) => sendText(reply, 200, healthz.body))
  app.get(readyz.path, async (_request, reply) =>
    listening ? sendText(reply, 200, readyz.body) : sendText(reply, 503, 'not ready'),
  )
}

/** The paths the service answers itself, before the table; `explain` shows them too. */
export const HEALTH_CHECKS = {
  healthz: { path: '/healthz', what: 'the liveness check', body: 'ok' },
  readyz: { path: '/readyz', what: 'the readiness check', body: 'ready' },
} as const

/** The health check a request path (query and all) asks for, if any. */
export function healthCheckOf(
  rawPath: string,
): (typeof HEALTH_CHECKS)[keyof typeof HEALTH_CHECKS] | undefined {
  const path = rawPath.split('?')[0]
  return Object.values(HEALTH_CHECKS).find((check) => check.path === path)
}
