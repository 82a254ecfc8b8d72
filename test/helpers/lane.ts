import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { AppOptions } from '../../src/app.js'
import { testApp, type TestApp } from './app.js'
import { openSocket, readResponse, type RawResponse } from './raw-http.js'
import { waitUntil } from './wait.js'

/**
 * The real app listening on a port, for the redirect lane's tests. Whether
 * the lane or Fastify answered is told by app.redirectLane.size: a
 * connection the lane answered stays the lane's; one it handed over is Node's.
 */
export interface Served extends TestApp {
  readonly port: number
  /** Sends one request on a new connection; says whether the lane kept it. */
  ask(request: string): Promise<{ response: RawResponse; lane: boolean }>
}

export async function served(
  t: Test,
  env: Record<string, string> = {},
  extra: Partial<AppOptions> = {},
): Promise<Served> {
  const { app, logs } = await testApp(env, extra)
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

export const request = (target: string, method = 'GET', extra = ''): string =>
  `${method} ${target} HTTP/1.1\r\nHost: redirector.test\r\nUser-Agent: lane-test/1\r\n${extra}\r\n`
