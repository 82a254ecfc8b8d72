import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { ProtectionConfig } from './config.js'

/**
 * The address Fly's proxy saw the client connect from. Fly sets it on every
 * request it forwards and overwrites any the client sent, so it is only
 * trustworthy when the service is reachable through Fly's proxy alone.
 */
export const FLY_CLIENT_IP = 'fly-client-ip'

/**
 * The client's address behind Fly's proxy: the header's value (as sent),
 * else the socket's peer.
 */
export function flyClientAddress(
  header: string | string[] | undefined,
  peer: string | undefined,
): string | undefined {
  // Sent twice, the header arrives joined by a comma and is no address.
  return typeof header === 'string' && isIP(header) !== 0 ? header : peer
}

/**
 * Makes `request.ip` the client's address per TRUST_PROXY, before any other
 * hook, so the rate limiter, the allowlist and the request log all agree.
 * Fastify's own trustProxy reads X-Forwarded-For, which Fly's proxy appends
 * to rather than replaces.
 */
export function installClientIp(
  app: FastifyInstance,
  trustProxy: ProtectionConfig['trustProxy'],
): void {
  if (trustProxy === 'false') return
  app.addHook('onRequest', async (request) => {
    const address = flyClientAddress(
      request.headers[FLY_CLIENT_IP],
      request.raw.socket.remoteAddress,
    )
    Object.defineProperty(request, 'ip', { value: address })
  })
}
