import type { DirectoryPage } from '../decision/answer.js'
import type { Extension } from '../catalog/catalog.js'
import { extensionHtml, listingHtml, notFoundHtml } from './html.js'
import { listingOf, pageOf, type Place } from './model.js'
import { chooseFormat, type Format } from './negotiate.js'
import { choiceOf, useSectionOf, type ChoiceResult, type UseQuery } from './snippets.js'

/** What of a request a directory page depends on. */
export interface PageRequest {
  /** The query as parsed: `format`, and an extension page's choice. */
  readonly query: { format?: unknown } & UseQuery
  readonly accept: string | undefined
  /** The origin the snippets name; null when the request's Host names none. */
  readonly origin: () => string | null
}

/** A page made (its status may be a 400: a choice that names nothing), or why none can be (a 400 line). */
export type RenderedPage =
  | { readonly ok: true; readonly status: number; readonly format: Format; readonly body: string }
  | { readonly ok: false; readonly reason: string }

/**
 * Renders a directory page the decision made (`/extensions/` lists the
 * extensions, `/extensions/<ext>/` shows one) as HTML or JSON, by the
 * `format` query parameter or the Accept header (see negotiate.ts). The
 * response around it is src/response/'s to make.
 */
export function renderPage(
  page: DirectoryPage,
  status: number,
  request: PageRequest,
): RenderedPage {
  const { query } = request
  const format = chooseFormat(query.format, request.accept)
  if (format === null) return { ok: false, reason: 'Bad Request: format must be html or json' }
  let use: UseChoice | undefined
  if (page.kind === 'extension') {
    const origin = request.origin()
    if (origin === null) {
      return { ok: false, reason: 'Bad Request: the Host header names no host the page can use' }
    }
    use = { chosen: choiceOf(page.extension, query, page.layout), origin }
    // A choice that names nothing published: the page says so, and offers no snippet.
    if (!use.chosen.ok) status = 400
  }
  const body = format === 'json' ? pageJson(page, use) : pageHtml(page, use)
  return { ok: true, status, format, body }
}

/** The choice an extension page's query made, and the origin its snippets name. */
interface UseChoice {
  readonly chosen: ChoiceResult
  readonly origin: string
}

function pageJson(page: DirectoryPage, use: UseChoice | undefined): string {
  const source = sourceField(page.source)
  if (page.kind === 'listing') {
    return JSON.stringify({ ...source, ...listingOf(page.extensions, placeOf(page)) })
  }
  if (page.kind === 'extension') return rendered(page, 'json', use as UseChoice)
  const error = `no extension named ${page.name}`
  return JSON.stringify({ ...source, error, extensions: page.choices })
}

function pageHtml(page: DirectoryPage, use: UseChoice | undefined): string {
  const { source, base } = page
  if (page.kind === 'listing') {
    return listingHtml(listingOf(page.extensions, placeOf(page)), source, base)
  }
  if (page.kind === 'extension') return rendered(page, 'html', use as UseChoice)
  return notFoundHtml(page.name, page.choices, source, base)
}

function placeOf({ base, layout }: DirectoryPage): Place {
  return { base, layout }
}

/** `{source}` first in a page's JSON, for a table of several sources; nothing otherwise. */
function sourceField(source: string | null): { source?: string } {
  return source === null ? {} : { source }
}

/**
 * An extension's page depends on its manifest (and on the path it links
 * below, and the choice and origin of its snippets), and the index makes one
 * Extension per manifest revision, of one source: each page is rendered once
 * per revision, directory, format and choice, not per request. The choices
 * come from clients: only the last few are kept per revision.
 */
const pages = new WeakMap<Extension, Map<string, string>>()
const CHOICES_KEPT = 32

function rendered(
  page: Extract<DirectoryPage, { kind: 'extension' }>,
  format: 'json' | 'html',
  { chosen, origin }: UseChoice,
): string {
  const { extension, source, base } = page
  let made = pages.get(extension)
  if (made === undefined) {
    made = new Map()
    pages.set(extension, made)
  }
  // The choice as checked (a named stream may differ from the version's own), or its refusal.
  const choice = chosen.ok ? JSON.stringify([chosen.choice, chosen.stream]) : chosen.reason
  const folder = page.layout.kind === 'fedora' ? page.layout.folder : ''
  return remembered(made, `${format} ${base} ${folder} ${origin} ${choice}`, CHOICES_KEPT, () => {
    // The snippets are made only for a page not kept already.
    const place = placeOf(page)
    const use = useSectionOf(extension, chosen, origin, place)
    const model = pageOf(extension, place)
    return format === 'json'
      ? JSON.stringify({ ...sourceField(source), ...model, use })
      : extensionHtml(model, source, base, use)
  })
}

/** `made`'s value for `key`, made once; beyond `max` keys the oldest is forgotten. */
export function remembered(
  made: Map<string, string>,
  key: string,
  max: number,
  make: () => string,
): string {
  let text = made.get(key)
  if (text === undefined) {
    text = make()
    if (made.size >= max) made.delete(made.keys().next().value as string)
    made.set(key, text)
  }
  return text
}
