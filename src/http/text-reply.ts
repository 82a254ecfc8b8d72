import type { FastifyReply } from 'fastify'

/**
 * Every body this service writes is one short line of plain text: clients
 * read the status, people read the line, nobody parses it. Never sniffed,
 * never cached unless the caller says so.
 */
export function sendText(
  reply: FastifyReply,
  status: number,
  line: string,
  // A definite answer (a missing asset) may be cached briefly; errors never.
  cacheControl = 'no-store',
): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', cacheControl)
    .send(`${line}\n`)
}
