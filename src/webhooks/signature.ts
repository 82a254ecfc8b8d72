import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * GitHub signs each webhook delivery: `X-Hub-Signature-256: sha256=<hex>`,
 * the HMAC-SHA256 of the raw body under the webhook's secret. The comparison
 * takes the same time wherever the first wrong byte is.
 */
const PREFIX = 'sha256='
const HEX_DIGEST = /^[0-9a-f]{64}$/i

export function signatureIsValid(secret: string, body: Buffer, header: unknown): boolean {
  const verifier = verifierFor(secret, header)
  if (verifier === null) return false
  verifier.update(body)
  return verifier.valid()
}

/** What GitHub would send for this body: for tests and for tools that replay deliveries. */
export function sign(secret: string, body: Buffer | string): string {
  return `${PREFIX}${createHmac('sha256', secret).update(body).digest('hex')}`
}

/**
 * The signature checked as the body streams: feed it every chunk, then ask.
 * null when the header cannot be a signature at all (refused before reading).
 */
export interface Verifier {
  update(chunk: Buffer): void
  valid(): boolean
}

export function verifierFor(secret: string, header: unknown): Verifier | null {
  if (typeof header !== 'string' || !header.startsWith(PREFIX)) return null
  const hex = header.slice(PREFIX.length)
  if (!HEX_DIGEST.test(hex)) return null
  const hmac = createHmac('sha256', secret)
  return {
    update: (chunk) => void hmac.update(chunk),
    valid: () => timingSafeEqual(hmac.digest(), Buffer.from(hex, 'hex')),
  }
}
