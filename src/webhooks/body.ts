import type { Readable } from 'node:stream'
import type { Verifier } from './signature.js'

/** What reading a delivery's body found. */
export type Body =
  | { readonly kind: 'signed'; readonly bytes: Buffer }
  /** Complete, but its signature does not match: the bytes are dropped at once. */
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'too-slow' }

export interface BodyLimits {
  readonly maxBytes: number
  /** The whole body must arrive within this time. */
  readonly timeoutMs: number
}

/**
 * Reads a webhook body while checking its signature, chunk by chunk: no more
 * than `maxBytes` is ever held, a body that takes longer than `timeoutMs` is
 * given up, and one whose signature does not match is not kept beyond its
 * last chunk. The stream is left paused when reading stops early; the caller
 * closes the connection.
 */
export function readSigned(
  stream: Readable,
  verifier: Verifier,
  limits: BodyLimits,
): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let length = 0
    const finish = (body: Body): void => {
      clearTimeout(timer)
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
      stream.pause()
      chunks.length = 0
      resolve(body)
    }
    const onData = (chunk: Buffer): void => {
      length += chunk.length
      if (length > limits.maxBytes) return finish({ kind: 'too-large' })
      verifier.update(chunk)
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      if (!verifier.valid()) return finish({ kind: 'unsigned' })
      const bytes = Buffer.concat(chunks, length)
      finish({ kind: 'signed', bytes })
    }
    // A client that goes away mid-body is as good as one too slow to finish.
    const onError = (): void => finish({ kind: 'too-slow' })
    const timer = setTimeout(() => finish({ kind: 'too-slow' }), limits.timeoutMs)
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onError)
  })
}
