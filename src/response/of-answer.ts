import type { Answer, DirectoryPage } from '../decision/answer.js'
import { CONTENT_SECURITY_POLICY } from '../directory/html.js'
import { renderPage, type PageRequest } from '../directory/render.js'
import { clientHasIt, omittedHeader, type SnapshotFile } from '../manifests/snapshot-file.js'
import { NOSNIFF, textResponse, type Header, type Labels, type Response } from './response.js'

/** What of a request an answer's response depends on besides the answer itself. */
export interface RequestFacts extends PageRequest {
  readonly ifNoneMatch: string | undefined
  readonly ifModifiedSince: string | undefined
}

/**
 * The facts of a request that has none of its own: no validators, no query,
 * no Accept, no usable Host. What the redirect lane has, for the answers it
 * takes (redirects, and snapshot files to a client that sent no validator).
 */
export const NO_FACTS: RequestFacts = Object.freeze({
  ifNoneMatch: undefined,
  ifModifiedSince: undefined,
  query: Object.freeze({}),
  accept: undefined,
  origin: () => null,
})

/**
 * The one place a decision's Answer becomes the response sent: its status,
 * every header, its body or page, and its labels. The Fastify route and the
 * redirect lane only write what this returns, so they cannot differ.
 */
export function responseOf(answer: Answer, request: RequestFacts): Response {
  const labels = labelsOf(answer)
  if (answer.page !== undefined) return pageResponse(answer, answer.page, labels, request)
  if (answer.file !== undefined) return fileResponse(answer, answer.file, labels, request)
  if (answer.location !== undefined) {
    return {
      status: answer.status,
      headers: [NOSNIFF, ['location', answer.location], ['cache-control', answer.cacheControl]],
      body: '',
      labels,
      warning: answer.warning,
    }
  }
  const first: Header[] =
    answer.retryAfter === undefined ? [] : [['retry-after', answer.retryAfter]]
  const response = textResponse(answer.status, answer.body, answer.cacheControl, labels, first)
  return answer.warning === undefined ? response : { ...response, warning: answer.warning }
}

function labelsOf(answer: Answer): Labels {
  const { rule, source, upstream, origin, image, location } = answer
  return { rule, source, upstream, origin, image, location }
}

/**
 * A snapshot file: its bytes with their validators, or a 304 to a client
 * that sent a validator matching them (systemd-sysupdate sends none, so it
 * always gets the bytes: a 304 would read to it as "already there").
 */
function fileResponse(
  answer: Answer,
  file: SnapshotFile,
  labels: Labels,
  request: RequestFacts,
): Response {
  const headers: Header[] = [
    NOSNIFF,
    ['etag', file.etag],
    ['last-modified', file.lastModified],
    ['cache-control', answer.cacheControl],
  ]
  // Said to every client, so nobody mistakes a manifest left short for the origin's own.
  const omitted = omittedHeader(file)
  if (omitted !== undefined) headers.push(['x-snapshot-omitted', omitted])
  const status = clientHasIt(file, request.ifNoneMatch, request.ifModifiedSince) ? 304 : 200
  if (status === 304) return { status, headers, body: '', labels, warning: undefined }
  headers.push(['content-type', answer.contentType as string])
  const body = Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength)
  return { status, headers, body, labels, warning: undefined }
}

/** A directory page, in the format the request asks for; a 400 line when it cannot be made. */
function pageResponse(
  answer: Answer,
  page: DirectoryPage,
  labels: Labels,
  request: RequestFacts,
): Response {
  const made = renderPage(page, answer.status, request)
  if (!made.ok) return textResponse(400, made.reason, 'no-store', labels)
  const headers: Header[] = [
    NOSNIFF,
    ['cache-control', answer.cacheControl],
    ['vary', 'accept'],
    ...(made.format === 'json' ? JSON_PAGE : HTML_PAGE),
  ]
  return { status: made.status, headers, body: made.body, labels, warning: undefined }
}

const JSON_PAGE: readonly Header[] = [['content-type', 'application/json; charset=utf-8']]
const HTML_PAGE: readonly Header[] = [
  ['content-type', 'text/html; charset=utf-8'],
  ['content-security-policy', CONTENT_SECURITY_POLICY],
  ['referrer-policy', 'no-referrer'],
]
