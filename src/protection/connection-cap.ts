import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'

/**
 * Every connection is closed after this many requests, whoever answered
 * them (the redirect lane or Node): the last answer says `Connection: close`
 * and requests pipelined behind it are not read, as Node does after any
 * `Connection: close`, so a client sends them again on a new connection.
 *
 * Why: the lane hands a connection to Node at the first request it cannot
 * answer, for the rest of that connection's life, and a proxy that pools
 * connections (Fly's) would in time send everything the slow way. Closing
 * after a bound makes the client's next connection meet the lane again.
 * Both paths count the same, so the answers are the same with the lane on
 * or off. 1,000 keeps the reconnecting cost negligible (bench/README.md).
 */
export const MAX_REQUESTS_PER_CONNECTION = 1_000

const served = new WeakMap<Socket, number>()

/** Requests answered on this connection so far. */
export function servedOn(socket: Socket): number {
  return served.get(socket) ?? 0
}

/** Counts one more; true when it is the connection's last. */
export function countOn(socket: Socket): boolean {
  const count = servedOn(socket) + 1
  served.set(socket, count)
  return count >= MAX_REQUESTS_PER_CONNECTION
}

/** The cap for the requests Node reads: Node then says `Connection: close` itself. */
export function registerConnectionCap(app: FastifyInstance): void {
  // A callback hook, not an async one: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    if (countOn(request.raw.socket)) reply.raw.shouldKeepAlive = false
    done()
  })
}
