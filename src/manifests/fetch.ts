import { request, type Dispatcher } from 'undici'
import { encodePath } from '../path/normalise.js'
import type { UpstreamGate } from '../upstream/gate.js'
import { isWithin } from '../upstream/head.js'

/**
 * Fetches one release's SHA256SUMS the way a client would: GET the github.com
 * download URL, take its 302 to the storage host by hand (one hop, never
 * followed further, never cached or shown: the link is signed and short-lived),
 * GET the bytes there, revalidating with the validators of the copy we hold.
 */
export interface Validators {
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
  /** The mirror the copy came from (its base URL); undefined: GitHub. Validators go back only there. */
  readonly mirror?: string | undefined
}

/**
 * `freshForMs`: how long the answer stays fresh when the fleet's shared
 * store says (src/manifests/shared-fetch.ts); unset: the index's own lifetime.
 */
export type FetchOutcome = (
  | { readonly kind: 'body'; readonly bytes: Uint8Array; readonly validators: Validators }
  | { readonly kind: 'not-modified' }
  /** GitHub answered 404: no such release or no SHA256SUMS in it. */
  | { readonly kind: 'missing' }
  /** `held`: not sent, GitHub asked this instance to wait. */
  | { readonly kind: 'failed'; readonly reason: string; readonly held?: true }
) & { readonly freshForMs?: number }

export interface FetchOptions {
  readonly dispatcher: Dispatcher
  /** `<GITHUB_URL>/<owner>/<repo>/releases/download`. */
  readonly releases: string
  readonly timeoutMs: number
  readonly maxBytes: number
  /** The manifest's asset name in a release; default SHA256SUMS. */
  readonly assetOf?: (release: string) => string
  /** GitHub's pauses, shared with the existence checks (src/upstream/gate.ts). */
  readonly gate?: Pick<UpstreamGate, 'admitFetch' | 'admitCheck' | 'observe'>
  /**
   * Whether each fetch draws on the checks' per-second budget too: files a
   * client names (transfer files) could otherwise be invented without limit.
   */
  readonly budgeted?: boolean
  /**
   * The source's mirrors (base URLs laid out as the release downloads),
   * asked in order for a file of which no copy is held when GitHub fails or
   * says missing (src/upstream/checks.ts asks them for the images).
   */
  readonly mirrors?: readonly string[] | undefined
}

export const MANIFEST_NAME = 'SHA256SUMS'

/**
 * Why an outcome gave no copy to keep, said in a log line: a failure's own
 * reason, a 404 (when a copy is still held, a re-upload under way), or a 304
 * for a copy this instance does not hold.
 */
export function failureOf(outcome: FetchOutcome): string {
  if (outcome.kind === 'failed') return outcome.reason
  if (outcome.kind === 'missing') return 'GitHub answered 404'
  return '304 for a copy we do not hold'
}
const USER_AGENT = 'sysext-redirector (manifest index)'

export type ManifestFetcher = (release: string, validators?: Validators) => Promise<FetchOutcome>

/** Fetches any asset of a release, as the manifests are (snapshot files: signatures, transfer files). */
export type AssetFetcher = (
  release: string,
  asset: string,
  validators?: Validators,
) => Promise<FetchOutcome>

export function manifestFetcher(options: FetchOptions): ManifestFetcher {
  const fetchAsset = assetFetcher(options)
  return (release, validators) =>
    fetchAsset(release, options.assetOf?.(release) ?? MANIFEST_NAME, validators)
}

export function assetFetcher(options: Omit<FetchOptions, 'assetOf'>): AssetFetcher {
  return async (release, asset, validators) => {
    const held = options.budgeted === true ? options.gate?.admitCheck() : options.gate?.admitFetch()
    // Names a client invents must not reach the mirrors either: the budget holds them back there too.
    if (held === 'budget') {
      const reason = 'the per-second budget of requests to GitHub is spent'
      return { kind: 'failed', reason, held: true }
    }
    const path = `${encodePath(release)}/${encodePath(asset)}`
    const ours = validators?.mirror === undefined ? validators : undefined
    const github: FetchOutcome =
      held === 'paused'
        ? { kind: 'failed', reason: 'GitHub asked us to wait (rate limited)', held: true }
        : await bounded(options, (signal) =>
            fetchManifest(`${options.releases}/${path}`, ours ?? {}, options, signal),
          )
    // A copy of GitHub's own is as new as any mirror's (a mirror lags GitHub): it stays, as without mirrors.
    if (github.kind === 'body' || github.kind === 'not-modified' || ours !== undefined)
      return github
    return (await fromMirrors(options, path, validators)) ?? github
  }
}

/** One deadline for every hop and the body; a failure said as a reason. */
async function bounded(
  options: Pick<FetchOptions, 'timeoutMs'>,
  fetchWith: (signal: AbortSignal) => Promise<FetchOutcome>,
): Promise<FetchOutcome> {
  const signal = AbortSignal.timeout(options.timeoutMs)
  try {
    return await fetchWith(signal)
  } catch (err) {
    const reason = signal.aborted ? `timed out after ${options.timeoutMs} ms` : describeFailure(err)
    return { kind: 'failed', reason }
  }
}

/**
 * The file from the first mirror that serves it (or says the copy held
 * from it is current); else `missing` when a mirror says it has none (a
 * signature the bakery does not publish); null when no mirror can say.
 */
async function fromMirrors(
  options: Omit<FetchOptions, 'assetOf'>,
  path: string,
  validators: Validators | undefined,
): Promise<FetchOutcome | null> {
  let missing: FetchOutcome | null = null
  for (const base of options.mirrors ?? []) {
    const held = validators?.mirror === base ? validators : {}
    const got = await bounded(options, (signal) => fetchMirrored(base, path, held, options, signal))
    if (got.kind === 'body' || got.kind === 'not-modified') return got
    missing ??= got.kind === 'missing' ? got : null
  }
  return missing
}

/**
 * A mirror's copy: the bytes at `<base>/<path>`, after at most one redirect
 * that stays on the mirror's host (never anywhere else: what a mirror
 * serves must come from the mirror).
 */
async function fetchMirrored(
  base: string,
  path: string,
  validators: Validators,
  options: Omit<FetchOptions, 'assetOf'>,
  signal: AbortSignal,
): Promise<FetchOutcome> {
  let url = `${base}/${path}`
  let response = await get(url, conditionalOn(validators), options, signal)
  const location = response.headers.location
  if (isRedirect(response.statusCode) && typeof location === 'string') {
    await response.body.dump()
    if (!isWithin(location, base)) {
      return { kind: 'failed', reason: `mirror ${base} redirected outside itself` }
    }
    url = new URL(location, `${base}/`).href
    response = await get(url, conditionalOn(validators), options, signal)
  }
  if (response.statusCode === 200) {
    const read = await readBody(response, options.maxBytes)
    return read.kind === 'body'
      ? { ...read, validators: { ...read.validators, mirror: base } }
      : read
  }
  await response.body.dump()
  if (response.statusCode === 304) return { kind: 'not-modified' }
  if (response.statusCode === 404) return { kind: 'missing' }
  return { kind: 'failed', reason: `mirror ${base} answered ${response.statusCode}` }
}

async function fetchManifest(
  url: string,
  validators: Validators,
  options: Omit<FetchOptions, 'assetOf'>,
  signal: AbortSignal,
): Promise<FetchOutcome> {
  const first = await get(url, {}, options, signal)
  options.gate?.observe(first.statusCode, first.headers)
  if (first.statusCode === 404) {
    await first.body.dump()
    return { kind: 'missing' }
  }
  const location = first.headers.location
  await first.body.dump()
  if (!isRedirect(first.statusCode) || typeof location !== 'string') {
    return { kind: 'failed', reason: `GitHub answered ${first.statusCode}` }
  }
  const storage = storageUrl(location, url)
  if (storage === null) return { kind: 'failed', reason: 'GitHub redirected to a non-http(s) URL' }
  const second = await get(storage, conditionalOn(validators), options, signal)
  if (second.statusCode === 304) {
    await second.body.dump()
    return { kind: 'not-modified' }
  }
  if (second.statusCode === 200) return readBody(second, options.maxBytes)
  await second.body.dump()
  // The storage host's own URL is signed: name only its host.
  return {
    kind: 'failed',
    reason: `storage host ${new URL(storage).host} answered ${second.statusCode}`,
  }
}

/** The headers that revalidate a copy held, by its validators. */
function conditionalOn(validators: Validators): Record<string, string> {
  const conditional: Record<string, string> = {}
  if (validators.etag !== undefined) conditional['if-none-match'] = validators.etag
  if (validators.lastModified !== undefined) {
    conditional['if-modified-since'] = validators.lastModified
  }
  return conditional
}

type Response = Dispatcher.ResponseData

function get(
  url: string,
  headers: Record<string, string>,
  options: Omit<FetchOptions, 'assetOf'>,
  signal: AbortSignal,
): Promise<Response> {
  return request(url, {
    method: 'GET',
    dispatcher: options.dispatcher,
    headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...headers },
    signal,
  })
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308
}

function storageUrl(location: string, base: string): string | null {
  let url: URL
  try {
    url = new URL(location, base)
  } catch {
    return null
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null
}

/** The body, unless it is larger than we accept: then the transfer is cut off. */
async function readBody(response: Response, maxBytes: number): Promise<FetchOutcome> {
  const declared = Number(response.headers['content-length'])
  const tooLarge: FetchOutcome = {
    kind: 'failed',
    reason: `manifest is larger than ${maxBytes} bytes`,
  }
  if (declared > maxBytes) {
    // Destroying an unread body reports "aborted" to its listeners: expected.
    response.body.on('error', () => undefined).destroy()
    return tooLarge
  }
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of response.body) {
    length += (chunk as Buffer).length
    // Leaving the loop destroys the body, so the rest is never read.
    if (length > maxBytes) return tooLarge
    chunks.push(chunk as Buffer)
  }
  return {
    kind: 'body',
    bytes: Buffer.concat(chunks, length),
    validators: {
      etag: header(response, 'etag'),
      lastModified: header(response, 'last-modified'),
    },
  }
}

function header(response: Response, name: string): string | undefined {
  const value = response.headers[name]
  return typeof value === 'string' ? value : undefined
}

/** A failed request, said briefly: its error code (ECONNRESET, UND_ERR_...), else its message. */
export function describeFailure(err: unknown): string {
  const error = err as NodeJS.ErrnoException
  return error.code ?? error.message
}
