import { RedirectorError } from '../core/errors.js'
import { compileMatcher, matchPath, type Matcher } from './matcher.js'
import { sourceName, type Source } from './sources.js'
import {
  checkOutputTemplate,
  checkPathTemplate,
  isFileName,
  parseTemplate,
  type TemplateError,
  type Token,
} from './template.js'

/**
 * The table's layers besides its rules: the path forms the manifest index
 * answers (newest-version names, directory pages) and where the bakery's
 * manifests live. Data, so that a bakery with another layout says its own
 * forms in its table and `check-table` proves them with examples.
 */
export interface PathForm {
  readonly name: string
  readonly pathTemplate: string
  readonly matcher: Matcher
}

/** A newest-version example: the path, and what it asks the index for. */
export interface NewestExample {
  readonly path: string
  readonly extension: string
  readonly arch: string
  /** The version prefix; undefined for the newest of all. */
  readonly stream: string | undefined
}

export interface NewestLayer {
  /** Each form captures `{name}`: the image name without `.raw`. */
  readonly forms: readonly PathForm[]
  /** The release of an image, from `{ext}` and `{version}`. */
  readonly release: readonly Token[]
  readonly examples: readonly NewestExample[]
}

/** A directory page: the listing, or (capturing `{ext}`) one extension's page. */
export interface DirectoryForm extends PathForm {
  /** The source whose extensions it shows; null: the table's default. */
  readonly source: string | null
  /** Where its pages link below: the path template up to its first placeholder (`/extensions/`). */
  readonly base: string
  readonly layout: DirectoryLayout
  readonly examples: readonly string[]
}

/**
 * How a directory's extensions are published and set up on a machine:
 * Flatcar's flat directory (every image at the directory's top, newest-version
 * names, sysupdate reading the extension page's folder, images in
 * /opt/extensions), or the Fedora sysexts' (each name's images, SHA256SUMS and
 * transfer file in its own folder, the OS version in the image name, images in
 * /var/lib/extensions.d). `folder` is that name folder, `{ext}` in it.
 */
export type DirectoryLayout =
  { readonly kind: 'flatcar' } | { readonly kind: 'fedora'; readonly folder: string }

export const LAYOUTS = ['flatcar', 'fedora'] as const

/** Where a manifest lives: a release and an asset in it. */
export interface ManifestPlace {
  readonly release: readonly Token[]
  readonly asset: string
}

export interface Manifests {
  /** The manifest naming every image (the candidates). */
  readonly global: { readonly release: string; readonly asset: string }
  /** One extension's manifest; its release from `{ext}`. */
  readonly extension: ManifestPlace
  /**
   * The suffixes of a manifest's detached signatures, read with each
   * revision of it (`SHA256SUMS.gpg`); [] where the bakery signs none.
   */
  readonly signatures: readonly string[]
  /**
   * A path that asks for a file a manifest lists, `{file}` its name: the
   * table's rules say where it lives, so a revision is adopted only once
   * every new file it lists is there.
   */
  readonly images: readonly Token[]
}

/** The asset name of a release's manifest: the global one's, or an extension's. */
export function manifestAssetOf(manifests: Manifests, release: string): string {
  const { global, extension } = manifests
  return release === global.release ? global.asset : extension.asset
}

/** The names systemd-sysupdate (v258 and later) probes, in its order. */
export const SIGNATURE_SUFFIXES = ['.sha256.asc', '.sha256.gpg', '.gpg', '.asc'] as const

/** The Flatcar bakery's layout, for a table that does not say its own. */
export const DEFAULT_MANIFESTS: Manifests = {
  global: { release: 'SHA256SUMS', asset: 'SHA256SUMS' },
  extension: { release: [{ kind: 'capture', name: 'ext' }], asset: 'SHA256SUMS' },
  signatures: SIGNATURE_SUFFIXES,
  images: [
    { kind: 'literal', text: '/extensions/' },
    { kind: 'capture', name: 'file' },
  ],
}

/** A newest-version name a path asks for: the form it fits and the image file. */
export interface NewestName {
  readonly form: PathForm
  /** The image file asked for: `<name>.raw`. */
  readonly file: string
}

/** The first newest-version form the path fits, with the image name it asks for. */
export function newestName(forms: readonly PathForm[], path: string): NewestName | null {
  for (const form of forms) {
    const captures = matchPath(form.matcher, path)
    if (captures !== null) return { form, file: `${captures.name as string}.raw` }
  }
  return null
}

/** The first directory form the path fits, with its extension (null: the listing). */
export function directoryPage(
  forms: readonly DirectoryForm[],
  path: string,
): { readonly form: DirectoryForm; readonly extension: string | null } | null {
  for (const form of forms) {
    const captures = matchPath(form.matcher, path)
    if (captures !== null) return { form, extension: captures.ext ?? null }
  }
  return null
}

type Doc = Record<string, unknown>

export function compileNewest(value: unknown): NewestLayer | null {
  if (value === undefined) return null
  const where = 'newest'
  const doc = mapping(value, where, ['description', 'paths', 'release', 'examples'])
  const paths = doc.paths
  if (!Array.isArray(paths) || paths.length === 0) {
    throw invalid(`${where}: "paths" must be a non-empty list of path templates`)
  }
  const forms = paths.map((path: unknown, i: number) =>
    compileForm(path, `${where}: paths #${i + 1}`, ['name'], []),
  )
  const release = compileOutputText(doc.release, `${where}: "release"`, ['ext', 'version'])
  const examples = list(doc.examples, `${where}: examples`).map((example, i) => {
    const at = `${where}: examples #${i + 1}`
    const entry = mapping(example, at, ['path', 'extension', 'arch', 'stream'])
    const stream = entry.stream
    if (stream !== undefined && typeof stream !== 'string') {
      throw invalid(`${at}: "stream" must be text`)
    }
    return {
      path: text(entry, 'path', at),
      extension: text(entry, 'extension', at),
      arch: text(entry, 'arch', at),
      stream,
    }
  })
  return { forms, release, examples }
}

export function compileDirectories(value: unknown, sources: readonly Source[]): DirectoryForm[] {
  return list(value, 'directories').map((entry, i) => {
    const doc = mapping(entry, `directories #${i + 1}`, [
      'name',
      'path',
      'source',
      'layout',
      'folder',
      'examples',
    ])
    const where = `directory "${text(doc, 'name', `directories #${i + 1}`)}"`
    const form = compileForm(doc.path, where, [], ['ext'])
    const examples = list(doc.examples, `${where}: examples`).map((example, j) => {
      if (typeof example !== 'string') throw invalid(`${where}: examples #${j + 1} must be a path`)
      return example
    })
    const source = sourceName(doc.source, sources, `${where}: "source"`)
    const base = form.pathTemplate.split('{')[0] as string
    const layout = layoutOf(doc, where)
    return { ...form, name: doc.name as string, source, base, layout, examples }
  })
}

/** A form's `layout` (flatcar by default) and, for fedora, its name `folder`. */
function layoutOf(doc: Doc, where: string): DirectoryLayout {
  const kind = doc.layout ?? 'flatcar'
  if (!(LAYOUTS as readonly unknown[]).includes(kind)) {
    throw invalid(`${where}: "layout" must be ${LAYOUTS.join(' or ')}`)
  }
  if (kind === 'flatcar') {
    if (doc.folder !== undefined) throw invalid(`${where}: "folder" is for layout fedora only`)
    return { kind: 'flatcar' }
  }
  const folder = doc.folder
  const at = `${where}: "folder"`
  if (typeof folder !== 'string' || !folder.startsWith('/') || !folder.endsWith('/')) {
    throw invalid(`${at} must be a path such as /fedora/{ext}/, starting and ending with "/"`)
  }
  const tokens = withContext(at, () => parseTemplate(folder))
  const captures = tokens.filter((token) => token.kind !== 'literal')
  const segments = folder.split('/').slice(1, -1)
  const ext = captures.length === 1 && captures[0]?.kind === 'capture' && segments.includes('{ext}')
  const plain = segments.every(
    (segment) => segment === '{ext}' || (isFileName(segment) && !/^\.\.?$/.test(segment)),
  )
  if (!ext || !plain) {
    throw invalid(`${at} must hold {ext} as one whole segment, and file names besides`)
  }
  return { kind: 'fedora', folder }
}

export function compileManifests(value: unknown): Manifests {
  if (value === undefined) return DEFAULT_MANIFESTS
  const doc = mapping(value, 'manifests', ['global', 'extension', 'signatures', 'images'])
  const global = mapping(doc.global, 'manifests: global', ['release', 'asset'])
  const extension = mapping(doc.extension, 'manifests: extension', ['release', 'asset'])
  return {
    global: {
      release: fileName(global, 'release', 'manifests: global'),
      asset: fileName(global, 'asset', 'manifests: global'),
    },
    extension: {
      release: compileOutputText(extension.release, 'manifests: extension: "release"', ['ext']),
      asset: fileName(extension, 'asset', 'manifests: extension'),
    },
    signatures: signatureSuffixes(doc.signatures),
    images: doc.images === undefined ? DEFAULT_MANIFESTS.images : imagesPath(doc.images),
  }
}

/** A path with one `{file}` and nothing else captured: `/extensions/{file}`. */
function imagesPath(value: unknown): readonly Token[] {
  const where = 'manifests: "images"'
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw invalid(`${where} must be a path starting with "/"`)
  }
  const tokens = withContext(where, () => parseTemplate(value))
  const captures = tokens.filter((token) => token.kind !== 'literal')
  if (captures.length !== 1 || captures[0]?.kind !== 'capture' || captures[0].name !== 'file') {
    throw invalid(`${where} must capture {file} and nothing else`)
  }
  return tokens
}

/** `.gpg`-like suffixes, each a file-name ending; the default: what sysupdate probes. */
function signatureSuffixes(value: unknown): readonly string[] {
  if (value === undefined) return DEFAULT_MANIFESTS.signatures
  return list(value, 'manifests: signatures').map((suffix, i) => {
    if (typeof suffix !== 'string' || !/^\.[A-Za-z0-9.]+$/.test(suffix)) {
      throw invalid(`manifests: signatures #${i + 1} must be a suffix such as .gpg`)
    }
    return suffix
  })
}

/** A path template that must capture `required` and may capture only those and `optional`. */
function compileForm(
  value: unknown,
  where: string,
  required: readonly string[],
  optional: readonly string[],
): PathForm {
  if (typeof value !== 'string' || value === '') throw invalid(`${where}: must be a path template`)
  const tokens = withContext(where, () => parseTemplate(value))
  const names = withContext(where, () => checkPathTemplate(tokens))
  for (const name of required) {
    if (!names.includes(name)) throw invalid(`${where}: must capture {${name}}`)
  }
  for (const name of names) {
    if (!required.includes(name) && !optional.includes(name) && !isSubPath(tokens, name)) {
      throw invalid(`${where}: captures {${name}}, which this layer does not use`)
    }
  }
  return { name: where, pathTemplate: value, matcher: compileMatcher(tokens) }
}

/** A sub-path capture (`{sub*}`, or `{sub}` before a `/`) is ignored, as in the rules. */
function isSubPath(tokens: readonly Token[], name: string): boolean {
  const index = tokens.findIndex((token) => token.kind !== 'literal' && token.name === name)
  const token = tokens[index] as Token
  const after = tokens[index + 1]
  return (
    token.kind === 'wildcard' ||
    (token.kind === 'capture' && after?.kind === 'literal' && after.text.startsWith('/'))
  )
}

/** An output template over captures named `names` (as a rule's release is). */
function compileOutputText(value: unknown, where: string, names: readonly string[]): Token[] {
  if (typeof value !== 'string' || value === '') throw invalid(`${where} must be text`)
  const source = names.map((name) => `{${name}}`).join('/')
  const tokens = withContext(where, () => parseTemplate(value))
  withContext(where, () => checkOutputTemplate(tokens, parseTemplate(`/${source}`)))
  return tokens
}

function mapping(value: unknown, where: string, keys: readonly string[]): Doc {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${where} must be a mapping`)
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw invalid(`${where}: unknown key "${key}"`)
  }
  return value as Doc
}

function list(value: unknown, where: string): unknown[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalid(`${where} must be a list`)
  return value
}

function text(doc: Doc, key: string, where: string): string {
  const value = doc[key]
  if (typeof value !== 'string' || value === '') throw invalid(`${where}: "${key}" must be text`)
  return value
}

function fileName(doc: Doc, key: string, where: string): string {
  const value = text(doc, key, where)
  if (!isFileName(value)) throw invalid(`${where}: "${key}" must be a file name`)
  return value
}

function withContext<T>(where: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    // Only template checks run here, and they throw TemplateError alone.
    throw invalid(`${where} ${(err as TemplateError).message}`)
  }
}

function invalid(message: string): RedirectorError {
  return new RedirectorError('SR_TABLE_INVALID', message)
}
