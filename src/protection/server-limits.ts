import { STATUS_CODES, type Server, type ServerOptions } from 'node:http'
import type { Socket } from 'node:net'

/**
 * The HTTP server's own limits, enforced by Node's parser before Fastify sees
 * a request. Set here rather than left to Node's defaults so that
 * `--max-http-header-size` or NODE_OPTIONS cannot loosen them unnoticed.
 */

/** Request line and headers together. Real clients send well under 1 KiB. */
export const MAX_HEADER_BYTES = 16_384
/** Time to receive the request line and headers (slow-loris clients). */
export const HEADERS_TIMEOUT_MS = 10_000
/** Time to receive the whole request; ours have no body worth waiting for. */
export const REQUEST_TIMEOUT_MS = 30_000
/** How often Node sweeps connections for the two timeouts above. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000

export function httpLimits(
  headersTimeoutMs = HEADERS_TIMEOUT_MS,
  requestTimeoutMs = REQUEST_TIMEOUT_MS,
): ServerOptions {
  return {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  }
}

/** The fastify() options that apply these limits and answer what breaks them. */
export function serverOptions(): {
  http: ServerOptions
  requestTimeout: number
  clientErrorHandler: typeof clientErrorHandler
} {
  // Fastify sets server.requestTimeout from its own option (0, never, by default).
  return { http: httpLimits(), requestTimeout: REQUEST_TIMEOUT_MS, clientErrorHandler }
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'the request is not well-formed HTTP',
  408: 'the request took too long to arrive',
  431: `the request line and headers are longer than ${MAX_HEADER_BYTES} bytes`,
}

/**
 * Answers a request Node's parser refused (malformed, too large, too slow)
 * the way we answer everything: one line of text, nosniff, no banner; then
 * closes the connection, whose state is unknown. Replaces Fastify's default,
 * which answers JSON.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset or destroyed socket has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : 400
  const reason = STATUS_CODES[status] as string
  const body = `${reason}: ${REASONS[status]}\n`
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'X-Content-Type-Options: nosniff\r\n' +
        'Cache-Control: no-store\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    )
  }
  socket.destroy()
}

/**
 * Every response written through the server says nosniff, including those
 * Fastify writes itself without running any hook (its 503 while shutting
 * down). Response headers set before writeHead are merged into it.
 */
export function sayNoSniff(server: Server): void {
  server.prependListener('request', (_request, response) => {
    response.setHeader('x-content-type-options', 'nosniff')
  })
}
