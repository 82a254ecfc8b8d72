import type { FastifyReply } from 'fastify'
import { NO_LABELS, textResponse, type Labels, type Response } from './response.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The response written for this request, once written; null until then (and for what Fastify answers itself). */
    response: Response | null
  }
}

/**
 * Writes a Response through Fastify, as it is: its status, its headers in
 * their order, its body (none for a HEAD: Node leaves it out). The request
 * keeps the response, for the one record made of it (record.ts).
 */
export function writeReply(reply: FastifyReply, response: Response): FastifyReply {
  reply.request.response = response
  if (response.warning !== undefined)
    reply.log.warn(response.warning.details, response.warning.message)
  reply.code(response.status)
  for (const [name, value] of response.headers) reply.header(name, value)
  // No payload at all for an empty body: Fastify would give '' a content-type.
  return response.body === '' ? reply.send() : reply.send(response.body)
}

/** A one-line text response (see textResponse), written. */
export function sendText(
  reply: FastifyReply,
  status: number,
  line: string,
  cacheControl?: string,
  labels: Labels = NO_LABELS,
): FastifyReply {
  return writeReply(reply, textResponse(status, line, cacheControl, labels))
}
