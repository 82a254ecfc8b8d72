import type { AddressInfo, Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { testApp, type TestApp } from '../helpers/app.js'
import { openSocket, readResponse, type RawResponse } from '../helpers/raw-http.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * The redirect lane inside the real app: it must answer exactly what the
 * Fastify route answers (status, headers, log line, metrics), take only what
 * it may, and share the rate limit with Fastify. Whether the lane or Fastify
 * answered is told by app.redirectLane.size: a connection the lane answered
 * stays the lane's; one it handed over is Node's.
 */

interface Served extends TestApp {
  readonly port: number
  /** Sends one request on a new connection; says whether the lane kept it. */
  ask(request: string): Promise<{ response: RawResponse; lane: boolean }>
}

async function served(t: Test, env: Record<string, string> = {}): Promise<Served> {
  const { app, logs } = await testApp(env)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as AddressInfo
  const ask = async (request: string): Promise<{ response: RawResponse; lane: boolean }> => {
    const socket = await openSocket(port)
    socket.on('error', () => undefined)
    socket.write(request)
    const response = await readResponse(socket, request.startsWith('HEAD '))
    const lane = app.redirectLane !== null && app.redirectLane.size > 0
    socket.destroy()
    await waitUntil(() => app.redirectLane === null || app.redirectLane.size === 0)
    return { response, lane }
  }
  return { app, logs, port, ask }
}

const request = (target: string, method = 'GET', extra = ''): string =>
  `${method} ${target} HTTP/1.1\r\nHost: redirector.test\r\nUser-Agent: lane-test/1\r\n${extra}\r\n`

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
