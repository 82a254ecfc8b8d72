import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { testApp } from '../helpers/app.js'
import { openSocket, readResponse } from '../helpers/raw-http.js'
import { request, served } from '../helpers/lane.js'

/**
 * The redirect lane inside the real app: it must answer exactly what the
 * Fastify route answers (status, headers, log line, metrics), take only what
 * it may, and share the rate limit with Fastify. Whether the lane or Fastify
 * answered is told by app.redirectLane.size: a connection the lane answered
 * stays the lane's; one it handed over is Node's.
 */

t.test('closing the app closes the lane’s idle connections', async (t) => {
  const { app, port } = await served(t)
  const socket: Socket = await openSocket(port)
  socket.write(request('/extensions/kubernetes.conf'))
  await readResponse(socket)
  t.equal((app as FastifyInstance).redirectLane?.size, 1)
  const closed = new Promise((resolve) => socket.on('close', resolve))
  await app.close()
  await closed
  t.pass('app.close() finished with a keep-alive connection open, and closed it')
})

t.test('with rate-limit counts in Redis the lane stays off', async (t) => {
  const { app } = await testApp({ REDIS_URL: 'redis://127.0.0.1:9', LOG_LEVEL: 'silent' })
  t.teardown(() => app.close())
  t.equal(app.redirectLane, null, 'counts in Redis cannot be read synchronously')
})
