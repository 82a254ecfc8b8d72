import type { FastifyReply } from 'fastify'

/**
 * Every body this service writes is one short line of plain text: clients
 * read the status, people read the line, nobody parses it. Never cached,
 * never sniffed.
 */
export function sendText(reply: FastifyReply, status: number, line: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(`${line}\n`)
}
