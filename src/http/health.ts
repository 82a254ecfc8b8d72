import type { FastifyInstance } from 'fastify'
import { sendText } from './text-reply.js'

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
  app.get('/healthz', async (_request, reply) => sendText(reply, 200, 'ok'))
  app.get('/readyz', async (_request, reply) =>
    listening ? sendText(reply, 200, 'ready') : sendText(reply, 503, 'not ready'),
  )
}
