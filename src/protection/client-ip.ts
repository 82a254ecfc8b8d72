import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { plainAddress } from '../core/address.js'
import type { ProtectionConfig } from '../config/protection.js'

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
 * The client's address per TRUST_PROXY, as both transports (the route and
 * the redirect lane) read it: Fly's header or the socket's peer, an
 * IPv4-mapped address as IPv4 (a client of a dual-stack listener).
 */
export function clientAddress(
  trustProxy: ProtectionConfig['trustProxy'],
  header: string | string[] | undefined,
  peer: string | undefined,
): string | undefined {
  return plainAddress(trustProxy === 'fly' ? flyClientAddress(header, peer) : peer)
}

/**
 * Makes `request.ip` the client's address (clientAddress), before any other
 * hook, so the rate limiter, the allowlist and the request log all agree.
 * Fastify's own trustProxy reads X-Forwarded-For, which Fly's proxy appends
 * to rather than replaces.
 */
export function installClientIp(
  app: FastifyInstance,
  trustProxy: ProtectionConfig['trustProxy'],
): void {
  app.addHook('onRequest', async (request) => {
    const peer = request.raw.socket.remoteAddress
    const address = clientAddress(trustProxy, request.headers[FLY_CLIENT_IP], peer)
    if (address !== peer) Object.defineProperty(request, 'ip', { value: address })
  })
}
