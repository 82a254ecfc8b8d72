import type { FastifyReply, FastifyRequest } from 'fastify'
import type { DirectoryPage } from '../decision/answer.js'
import type { Extension } from '../index/catalog.js'
import { sendText } from '../http/text-reply.js'
import { CONTENT_SECURITY_POLICY, extensionHtml, listingHtml, notFoundHtml } from './html.js'
import { listingOf, pageOf } from './model.js'
import { chooseFormat } from './negotiate.js'

/**
 * Renders a directory page the decision made (`/extensions/` lists the
 * extensions, `/extensions/<ext>/` shows one) as HTML or JSON, by the
 * `format` query parameter or the Accept header (see negotiate.ts).
 */
export function renderPage(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  page: DirectoryPage,
  cacheControl: string,
): FastifyReply {
  const query = request.query as { format?: unknown }
  const format = chooseFormat(query.format, request.headers.accept)
  if (format === null) return sendText(reply, 400, 'Bad Request: format must be html or json')
  reply
    .code(status)
    .header('cache-control', cacheControl)
    .header('vary', 'accept')
    .header('x-content-type-options', 'nosniff')
  if (format === 'json') {
    return reply.header('content-type', 'application/json; charset=utf-8').send(pageJson(page))
  }
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('referrer-policy', 'no-referrer')
    .send(pageHtml(page))
}

function pageJson(page: DirectoryPage): string {
  const source = sourceField(page.source)
  if (page.kind === 'listing') {
    return JSON.stringify({ ...source, ...listingOf(page.extensions, page.base) })
  }
  if (page.kind === 'extension') return rendered(page, 'json')
  const error = `no extension named ${page.name}`
  return JSON.stringify({ ...source, error, extensions: page.choices })
}

function pageHtml(page: DirectoryPage): string {
  const { source, base } = page
  if (page.kind === 'listing') return listingHtml(listingOf(page.extensions, base), source, base)
  if (page.kind === 'extension') return rendered(page, 'html')
  return notFoundHtml(page.name, page.choices, source, base)
}

/** `{source}` first in a page's JSON, for a table of several sources; nothing otherwise. */
function sourceField(source: string | null): { source?: string } {
  return source === null ? {} : { source }
}

/**
 * An extension's page depends on its manifest alone (and on the path it
 * links below), and the index makes one Extension per manifest revision, of
 * one source: each page is rendered once per revision, directory and
 * format, not per request.
 */
const pages = new WeakMap<Extension, Record<string, string>>()

function rendered(page: Extract<DirectoryPage, { kind: 'extension' }>, format: 'json' | 'html') {
  const { extension, source, base } = page
  let made = pages.get(extension)
  if (made === undefined) {
    made = {}
    pages.set(extension, made)
  }
  const model = () => pageOf(extension, base)
  return (made[`${format} ${base}`] ??=
    format === 'json'
      ? JSON.stringify({ ...sourceField(source), ...model() })
      : extensionHtml(model(), source, base))
}
