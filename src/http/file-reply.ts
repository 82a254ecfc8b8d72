import type { FastifyReply, FastifyRequest } from 'fastify'
import { clientHasIt, omittedHeader, type SnapshotFile } from '../index/snapshot-file.js'

/**
 * Sends a snapshot file: its bytes with their validators, or a 304 to a
 * client that sent a validator matching them (systemd-sysupdate sends none,
 * so it always gets the bytes: a 304 would read to it as "already there").
 */
export function sendFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: SnapshotFile,
  contentType: string,
  cacheControl: string,
): FastifyReply {
  reply.headers({
    etag: file.etag,
    'last-modified': file.lastModified,
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
  })
  // Said to every client, so nobody mistakes a manifest left short for the origin's own.
  const omitted = omittedHeader(file)
  if (omitted !== undefined) reply.header('x-snapshot-omitted', omitted)
  const { 'if-none-match': ifNoneMatch, 'if-modified-since': ifModifiedSince } = request.headers
  if (clientHasIt(file, ifNoneMatch, ifModifiedSince)) return reply.code(304).send()
  return reply
    .code(200)
    .header('content-type', contentType)
    .send(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength))
}
