import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * GitHub signs each webhook delivery: `X-Hub-Signature-256: sha256=<hex>`,
 * the HMAC-SHA256 of the raw body under the webhook's secret. The comparison
 * takes the same time wherever the first wrong byte is.
 */
const PREFIX = 'sha256='
const HEX_DIGEST = /^[0-9a-f]{64}$/i

export function signatureIsValid(secret: string, body: Buffer, header: unknown): boolean {
  if (typeof header !== 'string' || !header.startsWith(PREFIX)) return false
  const hex = header.slice(PREFIX.length)
  if (!HEX_DIGEST.test(hex)) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'))
}

/** What GitHub would send for this body: for tests and for tools that replay deliveries. */
export function sign(secret: string, body: Buffer | string): string {
  return `${PREFIX}${createHmac('sha256', secret).update(body).digest('hex')}`
}
