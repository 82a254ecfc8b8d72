import type { Extension } from '../catalog/catalog.js'
import type { DirectoryLayout } from '../table/layers.js'
import type { SnapshotFile } from '../manifests/snapshot-file.js'
import type { Captures } from '../table/matcher.js'
import type { CheckOutcome } from '../upstream/head.js'

/**
 * What the service answers to one request, decided once (decide.ts) and only
 * rendered by the transports: the Fastify route, the redirect lane, the
 * request log, the metrics and `explain`.
 */
export interface Answer {
  readonly status: number
  /** The redirect target, for a 302. */
  readonly location: string | undefined
  readonly cacheControl: string
  /** Seconds, for a 503 the client should retry. */
  readonly retryAfter: string | undefined
  /** The one-line text body, without its newline; '' for a redirect or a page. */
  readonly body: string
  /** The layer that answered. */
  readonly layer: Layer
  /** What logs and metrics name: a table rule, 'fallback', 'newest', 'directory'; null for a refused path. */
  readonly rule: string | null
  /** The table's source (repository) the answer is about; null when none (the fallback, a refused path). */
  readonly source: string | null
  /** The answering rule's or form's captures. */
  readonly captures: Captures
  /** The image a redirect leads to, named as the bakery names it; null for any other file. */
  readonly image: ImageLabels | null
  /** What GitHub said of the target; 'unchecked' when nobody asked; null when there is no target. */
  readonly upstream: CheckOutcome | 'unchecked' | null
  /**
   * Where a redirect to a release asset leads: `github`, or the base URL of
   * the mirror that has it; null for any other answer.
   */
  readonly origin: string | null
  /** A directory page, rendered as HTML or JSON by what the client accepts. */
  readonly page: DirectoryPage | undefined
  /** A snapshot file served with its bytes (a 200, or a 304 to a client that has it). */
  readonly file: SnapshotFile | undefined
  /** The type of a served file's bytes (by its name); undefined for any other answer. */
  readonly contentType: string | undefined
  /** Logged once when the answer is sent (a redirect GitHub could not confirm). */
  readonly warning: Warning | undefined
}

export type Layer = 'path' | 'table' | 'newest' | 'directory' | 'fallback'

/** An extension image: `<ext>-<version>-<arch>.raw` in release `<ext>-<version>`. */
export interface ImageLabels {
  readonly extension: string
  readonly version: string
  readonly arch: string
}

export type DirectoryPage = (
  | { readonly kind: 'listing'; readonly extensions: readonly Extension[] }
  | { readonly kind: 'extension'; readonly extension: Extension }
  | { readonly kind: 'unknown'; readonly name: string; readonly choices: readonly string[] }
) & {
  /** The source whose extensions the page shows, when the table has several; else null. */
  readonly source: string | null
  /** Where the page links below: its directory form's path (`/extensions/`). */
  readonly base: string
  /** How the page's extensions are published and set up (flat, or in name folders). */
  readonly layout: DirectoryLayout
}

export interface Warning {
  readonly details: object
  readonly message: string
}

type Meta = Pick<Answer, 'layer' | 'rule' | 'upstream'> &
  Partial<Pick<Answer, 'source' | 'captures' | 'image' | 'warning' | 'origin'>>

/** The origin of a redirect GitHub's downloads serve. */
export const GITHUB_ORIGIN = 'github'

const NONE: Captures = Object.freeze({})

export function redirect(location: string, cacheControl: string, meta: Meta): Answer {
  return answer(302, '', cacheControl, meta, { location })
}

/** A one-line text answer; `line` is what the client reads. */
export function text(
  status: number,
  line: string,
  cacheControl: string,
  meta: Meta,
  retryAfter?: string,
): Answer {
  return answer(status, line, cacheControl, meta, { retryAfter })
}

/** A snapshot file from the adopted snapshot: its bytes, not a redirect. */
export function served(
  file: SnapshotFile,
  asset: string,
  cacheControl: string,
  meta: Meta,
): Answer {
  return answer(200, '', cacheControl, meta, { file, contentType: fileType(asset) })
}

/** What a snapshot file is, by its name: signatures as OpenPGP says, the rest plain text. */
export function fileType(asset: string): string {
  if (asset.endsWith('.asc')) return 'application/pgp-signature'
  if (asset.endsWith('.gpg')) return 'application/octet-stream'
  return 'text/plain; charset=utf-8'
}

export function page(
  status: number,
  directory: DirectoryPage,
  cacheControl: string,
  source: string,
): Answer {
  const meta: Meta = { layer: 'directory', rule: 'directory', source, upstream: null }
  return answer(status, '', cacheControl, meta, { page: directory })
}

function answer(
  status: number,
  body: string,
  cacheControl: string,
  meta: Meta,
  extra: {
    location?: string
    retryAfter?: string | undefined
    page?: DirectoryPage
    file?: SnapshotFile
    contentType?: string
  },
): Answer {
  return {
    status,
    location: extra.location,
    cacheControl,
    retryAfter: extra.retryAfter,
    body,
    layer: meta.layer,
    rule: meta.rule,
    source: meta.source ?? null,
    captures: meta.captures ?? NONE,
    image: meta.image ?? null,
    upstream: meta.upstream,
    origin: meta.origin ?? null,
    page: extra.page,
    file: extra.file,
    contentType: extra.contentType,
    warning: meta.warning,
  }
}

// A version starts with a digit, or `v` and a digit: `kubernetes-v1.32.2`,
// `docker-compose-2.34.0`, `crio-v1.30.0-rc1`, `k3s-v1.32.2+k3s1`.
const VERSION_START = /-(?=v?\d)/

/**
 * The image a release asset is, as the bakery names images: asset
 * `<release>-<arch>.raw` in release `<ext>-<version>`; null for any other
 * asset (an index, a transfer file). Worked out once per route, not per request.
 */
export function imageLabels(release: string, asset: string): ImageLabels | null {
  if (!asset.startsWith(`${release}-`) || !asset.endsWith('.raw')) return null
  const arch = asset.slice(release.length + 1, -'.raw'.length)
  const split = VERSION_START.exec(release)
  if (arch === '' || split === null || split.index === 0) return null
  return {
    extension: release.slice(0, split.index),
    version: release.slice(split.index + 1),
    arch,
  }
}
