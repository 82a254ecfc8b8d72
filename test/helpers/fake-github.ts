import { createHash, randomBytes } from 'node:crypto'
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A fake github.com for tests: a real HTTP server on 127.0.0.1 that answers
 * release downloads the way GitHub does (see /work/shared/reference/clients.md):
 * a 302 to a signed storage link on itself when the asset exists, a 404
 * "Not Found" otherwise, and storage that serves the bytes with validators.
 * It can be told to fail in the ways a real upstream fails.
 */

/** How download requests (and storage fetches, with `storage: true`) misbehave. */
export type Fault =
  /** With `headers`, as GitHub sends Retry-After or x-ratelimit-reset with a 429 or 403. */
  (
    | { kind: 'status'; status: number; headers?: Record<string, string> }
    | { kind: 'delay'; ms: number }
    | { kind: 'hang' }
    | { kind: 'reset' }
    /** The answer's headers and its first `after` bytes, then a reset: a download cut off. */
    | { kind: 'cut'; after: number }
  ) & {
    /** Apply to GET /storage/... as well; 'only': to storage alone; default false (downloads only). */
    storage?: boolean | 'only'
  }

export interface FakeGitHubOptions {
  /** 'owner/name'; default 'flatcar/sysext-bakery'. */
  repo?: string
  /** More repositories, each with its assets (tag -> asset name -> bytes), served beside it. */
  more?: Record<string, Record<string, Record<string, Buffer | string>>>
  /** Default 0: a free port. */
  port?: number
  /** tag -> asset name -> bytes. */
  assets?: Record<string, Record<string, Buffer | string>>
}

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
}

export interface FakeGitHub {
  /** 'http://127.0.0.1:PORT': use as GITHUB_URL. */
  readonly url: string
  readonly repo: string
  /**
   * Publishes an asset, or replaces it (new bytes give a new ETag and
   * Last-Modified), in `repo` (default: the first repository).
   */
  addAsset(tag: string, name: string, body: Buffer | string, repo?: string): void
  removeAsset(tag: string, name: string, repo?: string): void
  /**
   * Fault for download requests whose decoded `<tag>/<name>` (and `owner/name`
   * repository) passes `match` (default: all); null clears. Storage fetches are affected too when the
   * fault has `storage: true`.
   */
  fault(fault: Fault | null, match?: (tagAndName: string, repo: string) => boolean): void
  /** One more fault beside the one fault() set, for the downloads `match` picks; fault(null) clears all. */
  alsoFault(fault: Fault, match: (tagAndName: string, repo: string) => boolean): void
  /** Stops listening and drops every open connection (connect gets ECONNREFUSED) until resume(). */
  refuse(): Promise<void>
  /** Listens again on the same port. */
  resume(): Promise<void>
  /** Every request received, in order, storage included. */
  readonly requests: readonly RecordedRequest[]
  /** Download requests (not storage) by method and, optionally, decoded tag, name and repository. */
  count(method: string, tag?: string, name?: string, repo?: string): number
  clearRequests(): void
  close(): Promise<void>
}

interface Asset {
  readonly body: Buffer
  readonly etag: string
  /** Whole seconds, as HTTP dates carry. */
  readonly modified: Date
}

interface Download {
  readonly kind: 'download' | 'storage'
  readonly repo: string
  readonly tag: string
  readonly name: string
}

// How long a storage link "lives", as GitHub's signed links do (about 5 minutes).
const LINK_LIFETIME_S = 300

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const repo = options.repo ?? 'flatcar/sysext-bakery'
  const assets = new Map<string, Asset>()
  const requests: RecordedRequest[] = []
  const downloads: { method: string; repo: string; tag: string; name: string }[] = []
  const repos = [repo, ...Object.keys(options.more ?? {})]
  const timers = new Set<NodeJS.Timeout>()
  type Match = (tagAndName: string, repo: string) => boolean
  let current: { fault: Fault; match: Match } | null = null
  const more: { fault: Fault; match: Match }[] = []

  const key = (tag: string, name: string): string => `${tag}/${name}`
  // Assets by repository, then `tag/name`.
  const stored = (inRepo: string, tag: string, name: string): string =>
    `${inRepo}\0${key(tag, name)}`
  const put = (tag: string, name: string, body: Buffer | string, inRepo = repo): void => {
    const bytes = Buffer.from(body)
    const etag = `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"`
    // A replacement always gets a later Last-Modified, even within one second.
    const previous = assets.get(stored(inRepo, tag, name))?.modified.getTime() ?? 0
    const modified = new Date(Math.max(Math.floor(Date.now() / 1000) * 1000, previous + 1000))
    assets.set(stored(inRepo, tag, name), { body: bytes, etag, modified })
  }
  const publishAll = (inRepo: string, all: Record<string, Record<string, Buffer | string>>) => {
    for (const [tag, names] of Object.entries(all)) {
      for (const [name, body] of Object.entries(names)) put(tag, name, body, inRepo)
    }
  }
  publishAll(repo, options.assets ?? {})
  for (const [inRepo, all] of Object.entries(options.more ?? {})) publishAll(inRepo, all)

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET'
    const path = req.url ?? '/'
    requests.push({ method, path, headers: req.headers })
    const target = parseTarget(path, repos)
    if (target?.kind === 'download') {
      downloads.push({ method, repo: target.repo, tag: target.tag, name: target.name })
    }
    const fault = target === null ? null : faultFor(target)
    const answer = (): void => serve(req, res, target)
    if (fault === null) return answer()
    switch (fault.kind) {
      case 'status':
        return text(res, fault.status, `fault ${fault.status}`, fault.headers)
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer)
          answer()
        }, fault.ms)
        timers.add(timer)
        return
      }
      case 'hang':
        return
      case 'reset':
        // An RST, so the client sees ECONNRESET rather than a clean close.
        ;(req.socket as Socket).resetAndDestroy()
        return
      case 'cut': {
        const asset =
          target === null ? undefined : assets.get(stored(target.repo, target.tag, target.name))
        if (asset === undefined) return answer()
        res.writeHead(200, { 'content-length': asset.body.length })
        // The reset a moment after the bytes: an RST that overtook them would drop them unread.
        res.write(asset.body.subarray(0, fault.after), () => {
          const timer = setTimeout(() => {
            timers.delete(timer)
            ;(req.socket as Socket).resetAndDestroy()
          }, 50)
          timers.add(timer)
        })
        return
      }
    }
  })
  server.keepAliveTimeout = 30_000

  function faultFor(target: Download): Fault | null {
    for (const one of current === null ? more : [current, ...more]) {
      if (target.kind === 'storage' && one.fault.storage === undefined) continue
      if (target.kind === 'storage' && one.fault.storage === false) continue
      if (target.kind === 'download' && one.fault.storage === 'only') continue
      if (one.match(key(target.tag, target.name), target.repo)) return one.fault
    }
    return null
  }

  function serve(req: IncomingMessage, res: ServerResponse, target: Download | null): void {
    const method = req.method ?? 'GET'
    const asset =
      target === null ? undefined : assets.get(stored(target.repo, target.tag, target.name))
    if (target === null || (method !== 'GET' && method !== 'HEAD')) {
      return text(res, 404, 'Not Found')
    }
    if (target.kind === 'download') {
      if (asset === undefined) return text(res, 404, 'Not Found')
      res.writeHead(302, { location: storageLink(target), 'content-length': 0 })
      return void res.end()
    }
    // Storage links are signed for GET only, like GitHub's storage host.
    if (method === 'HEAD') return text(res, 403, 'Forbidden')
    if (asset === undefined) return text(res, 404, 'Not Found')
    return sendAsset(req, res, asset)
  }

  function storageLink(target: Download): string {
    // The first repository's links look like GitHub's; another's token carries its index.
    const index = repos.indexOf(target.repo)
    const token = randomBytes(12).toString('hex') + (index === 0 ? '' : `-${index}`)
    const expires = Math.floor(Date.now() / 1000) + LINK_LIFETIME_S
    const sig = randomBytes(16).toString('hex')
    const tag = encodeURIComponent(target.tag)
    const name = encodeURIComponent(target.name)
    return `http://127.0.0.1:${port}/storage/${token}/${tag}/${name}?sig=${sig}&expires=${expires}`
  }

  let port = options.port ?? 0
  let listening = false
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        port = (server.address() as AddressInfo).port
        listening = true
        resolve()
      })
    })
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!listening) return resolve()
      listening = false
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.close(() => resolve())
      server.closeAllConnections()
    })

  await listen()

  return {
    url: `http://127.0.0.1:${port}`,
    repo,
    addAsset: put,
    removeAsset: (tag, name, inRepo = repo) => void assets.delete(stored(inRepo, tag, name)),
    fault: (fault, match = () => true) => {
      current = fault === null ? null : { fault, match }
      if (fault === null) more.length = 0
    },
    alsoFault: (fault, match) => void more.push({ fault, match }),
    refuse: stop,
    resume: async () => {
      if (!listening) await listen()
    },
    requests,
    count: (method, tag, name, inRepo) =>
      downloads.filter(
        (d) =>
          d.method === method.toUpperCase() &&
          (tag === undefined || d.tag === tag) &&
          (name === undefined || d.name === name) &&
          (inRepo === undefined || d.repo === inRepo),
      ).length,
    clearRequests: () => {
      requests.length = 0
      downloads.length = 0
    },
    close: stop,
  }
}

/**
 * `/<owner>/<repo>/releases/download/<tag>/<name>` or
 * `/storage/<token>/<tag>/<name>`, tag and name percent-decoded (`+` stays a
 * plus); null for any other path.
 */
function parseTarget(url: string, repos: readonly string[]): Download | null {
  const path = url.split('?')[0] as string
  let kind: Download['kind']
  let rest: string
  let repo = repos.find((name) => path.startsWith(`/${name}/releases/download/`))
  if (repo !== undefined) {
    kind = 'download'
    rest = path.slice(`/${repo}/releases/download/`.length)
  } else if (path.startsWith('/storage/')) {
    kind = 'storage'
    const token = /^\/storage\/[^/]*?(?:-(\d+))?\//.exec(path)
    if (token === null) return null
    repo = repos[Number(token[1] ?? 0)]
    if (repo === undefined) return null
    rest = path.slice(token[0].length)
  } else {
    return null
  }
  const parts = rest.split('/')
  if (parts.length !== 2) return null
  try {
    const [tag, name] = parts.map((part) => decodeURIComponent(part)) as [string, string]
    return tag === '' || name === '' ? null : { kind, repo, tag, name }
  } catch {
    return null
  }
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const validators = {
    etag: asset.etag,
    'last-modified': asset.modified.toUTCString(),
  }
  if (notModified(req.headers, asset)) {
    res.writeHead(304, validators)
    return void res.end()
  }
  // Storage serves byte ranges, as GitHub's does: how a cut-off download resumes.
  const from = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1]
  if (from !== undefined) {
    const start = Number(from)
    if (start >= asset.body.length) {
      res.writeHead(416, { 'content-range': `bytes */${asset.body.length}` })
      return void res.end()
    }
    res.writeHead(206, {
      ...validators,
      'content-range': `bytes ${start}-${asset.body.length - 1}/${asset.body.length}`,
      'content-length': asset.body.length - start,
    })
    return void res.end(asset.body.subarray(start))
  }
  res.writeHead(200, {
    ...validators,
    'content-type': 'application/octet-stream',
    'content-length': asset.body.length,
  })
  res.end(asset.body)
}

// If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
function notModified(headers: IncomingHttpHeaders, asset: Asset): boolean {
  const inm = headers['if-none-match']
  if (inm !== undefined) {
    return (
      inm === '*' || inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)
    )
  }
  const ims = headers['if-modified-since']
  if (ims === undefined) return false
  const since = Date.parse(ims)
  return !Number.isNaN(since) && asset.modified.getTime() <= since
}

function text(
  res: ServerResponse,
  status: number,
  line: string,
  headers: Record<string, string> = {},
): void {
  const body = `${line}\n`
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  })
  res.end(body)
}

/** A fixture file's asset: UTF-8 text, or N deterministic pseudo-random bytes. */
export type FixtureAsset = string | { randomBytes: number; seed: string | number }

/** Turns a fixture (`{ tag: { name: asset } }`) into the `assets` option. */
export function assetsFromFixture(
  fixture: Record<string, Record<string, FixtureAsset>>,
): Record<string, Record<string, Buffer>> {
  const assets: Record<string, Record<string, Buffer>> = {}
  for (const [tag, names] of Object.entries(fixture)) {
    assets[tag] = {}
    for (const [name, asset] of Object.entries(names)) {
      assets[tag][name] =
        typeof asset === 'string' ? Buffer.from(asset) : seededBytes(asset.randomBytes, asset.seed)
    }
  }
  return assets
}

/** The same seed always gives the same bytes: SHA-256 in counter mode. */
export function seededBytes(length: number, seed: string | number): Buffer {
  const blocks: Buffer[] = []
  for (let i = 0, size = 0; size < length; i++, size += 32) {
    blocks.push(createHash('sha256').update(`${seed}:${i}`).digest())
  }
  return Buffer.concat(blocks).subarray(0, length)
}
