import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendText } from '../http/text-reply.js'
import type { Extension } from '../index/catalog.js'
import type { CatalogSource } from '../index/newest.js'
import { sendUnavailable } from '../index/unavailable.js'
import { CONTENT_SECURITY_POLICY, extensionHtml, listingHtml, notFoundHtml } from './html.js'
import { listingOf, pageOf } from './model.js'
import { chooseFormat, type Format } from './negotiate.js'
import { publicMaxAge } from '../http/cache-control.js'

export interface DirectoryOptions {
  readonly index: CatalogSource
  /** Seconds a page may be kept: short, it changes on every publish. */
  readonly maxAge: number
  /** Seconds a client should wait when the index is not available yet. */
  readonly retryAfter: number
}

interface DirectoryRoute {
  Querystring: { format?: unknown }
  Params: { ext?: string }
}

/**
 * `/extensions/` lists the extensions, `/extensions/<ext>/` one extension's
 * versions; both as HTML or JSON (see negotiate.ts). These two forms used to
 * reach the docs site; every other path under /extensions/ still goes where
 * the pattern table sends it.
 */
export function registerDirectory(app: FastifyInstance, options: DirectoryOptions): void {
  const listing: Render = async (format) => {
    const listing = listingOf(await options.index.extensions())
    return { status: 200, body: format === 'json' ? listing : listingHtml(listing) }
  }
  app.get<DirectoryRoute>('/extensions/', async (request, reply) =>
    answer(request, reply, options, listing),
  )
  app.get<DirectoryRoute>('/extensions/:ext/', async (request, reply) =>
    answer(request, reply, options, async (format) => {
      const name = request.params.ext as string
      // `/extensions//` is `/extensions/` once cleaned, as every path is.
      if (name === '') return listing(format)
      const extension = await options.index.extension(name)
      if (extension !== undefined) {
        const page = pageOf(extension)
        return { status: 200, body: format === 'json' ? page : extensionHtml(page) }
      }
      const choices = namesOf(await options.index.extensions())
      const error = `no extension named ${name}`
      return {
        status: 404,
        body: format === 'json' ? { error, extensions: choices } : notFoundHtml(name, choices),
      }
    }),
  )
}

type Render = (format: Format) => Promise<{ status: number; body: string | object }>

async function answer(
  request: FastifyRequest<DirectoryRoute>,
  reply: FastifyReply,
  options: DirectoryOptions,
  render: Render,
): Promise<FastifyReply> {
  request.rule = 'directory'
  const format = chooseFormat(request.query.format, request.headers.accept)
  if (format === null) return sendText(reply, 400, 'Bad Request: format must be html or json')
  let page: Awaited<ReturnType<Render>>
  try {
    page = await render(format)
  } catch (err) {
    return sendUnavailable(request, reply, err, options.retryAfter, 'the list of extensions')
  }
  reply
    .code(page.status)
    .header('cache-control', publicMaxAge(options.maxAge))
    .header('vary', 'accept')
    .header('x-content-type-options', 'nosniff')
  if (format === 'json') {
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify(page.body))
  }
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('referrer-policy', 'no-referrer')
    .send(page.body)
}

function namesOf(extensions: readonly Extension[]): string[] {
  return extensions.map((extension) => extension.name).sort()
}
