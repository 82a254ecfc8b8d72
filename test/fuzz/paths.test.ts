import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import inject from 'light-my-request'
import t from 'tap'
import { isRedirectorError } from '../../src/core/errors.js'
import { normaliseTarget } from '../../src/path/normalise.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { resolve, singleSource } from '../../src/table/resolve.js'
import { isFileName } from '../../src/table/template.js'
import { testApp } from '../helpers/app.js'
import { fuzzSettings } from '../helpers/fuzz.js'
import { startBakery } from '../helpers/bakery.js'
import { openSocket, readResponse } from '../helpers/raw-http.js'
import { target, utf8Escape } from '../helpers/targets.js'

/**
 * Property-based fuzzing of the running app with hostile request targets.
 * Whatever the target: no 5xx, no stack trace or internals in a body, every
 * request answered (no hang), and a Location only ever inside
 * GITHUB_URL/<repo>/releases/download/<tag>/<asset> (both plain file names)
 * or FALLBACK_URL, as a client resolves it.
 *
 * Targets reach the router exactly as generated: Fastify's inject would
 * first normalise them through WHATWG URL parsing (resolving `..` and
 * `%2e%2e`, encoding spaces and non-ASCII), hiding what a raw client can
 * send. So the fuzz dispatches through light-my-request (the engine of
 * Fastify's inject) with the raw target put back on the request, and then
 * sends a sample over a real socket, through Node's own parser.
 */

/** Through the pure pipeline the redirect route runs: normaliseTarget, then resolve. */
const { runs: RUNS, seed: SEED } = fuzzSettings()
/** Through the running app (inject with the raw target), checks and index off. */
const APP_RUNS = Math.ceil(RUNS / 10)
/** With upstream checks and the manifest index on: matched paths ask the fake GitHub. */
const FULL_RUNS = Math.ceil(RUNS / 50)
/** Over a real socket, through Node's HTTP parser. */
const SOCKET_RUNS = Math.ceil(RUNS / 50)
t.comment(`seed ${SEED} (FUZZ_SEED), ${RUNS} runs (FUZZ_RUNS)`)

// Well under a minute on two idle cores; the margin is for a machine busy with other suites.
t.setTimeout(180_000)

// The fallback sits below a sub-path: the place `..` would climb out of.
const BASE = {
  FALLBACK_URL: 'https://docs.example/bakery',
  RATE_LIMIT_MAX: '0',
  LOG_LEVEL: 'silent',
}
// Pure rewriting: nothing is asked upstream, so GITHUB_URL is never contacted.
const ENV = {
  ...BASE,
  GITHUB_URL: 'https://github.example',
  BAKERY_REPO: 'acme/bakery',
  UPSTREAM_CHECKS: 'false',
  MANIFEST_INDEX: 'false',
}
const FALLBACK = 'https://docs.example/bakery'

// ---- generators -----------------------------------------------------------

const method = fc.constantFrom('GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'OPTIONS')

// ---- properties -----------------------------------------------------------

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | number | undefined>>
  readonly body: string
}

/** A line of our own: what was wrong, at most echoing the client's path. Never internals. */
const ONE_LINE = /^[^\n]+\n$/
const INTERNALS = /\n\s+at |^\w*Error\b|internal error/

/** Returns why the answer breaks a property, or null. */
const SNAPSHOT_TYPES = [
  'text/plain; charset=utf-8',
  'application/octet-stream',
  'application/pgp-signature',
]

export function violation(releases: string, verb: string, answer: Answer): string | null {
  const { status, headers, body } = answer
  if (status === 503 && headers['retry-after'] !== undefined) return null // deliberate: try later
  if (status >= 500) return `status ${status}`
  const read = verb === 'GET' || verb === 'HEAD'
  const allowed = read ? [200, 302, 400, 404, 414, 431] : [405, 400, 414, 431]
  if (!allowed.includes(status)) return `status ${status} for ${verb}`
  if (status === 302) {
    if (body !== '') return 'a redirect with a body'
    return locationViolation(releases, String(headers.location))
  }
  if (headers.location !== undefined) return 'a Location on an answer that is no redirect'
  if (headers['x-content-type-options'] !== 'nosniff') return 'a body without nosniff'
  const type = String(headers['content-type'])
  if (status === 200 && headers.etag !== undefined) {
    // A snapshot file (a manifest, a signature, a transfer file): bytes of the origin's.
    return SNAPSHOT_TYPES.includes(type) ? null : `a snapshot file as ${type}`
  }
  if (status === 200 || type.startsWith('text/html')) {
    // A directory page: HTML under a strict policy, or JSON.
    if (type.startsWith('text/html') && headers['content-security-policy'] === undefined)
      return 'HTML without a CSP'
    return /^(text\/html|application\/json); charset=utf-8$/.test(type) ? null : `a page as ${type}`
  }
  if (type !== 'text/plain; charset=utf-8') return `an error as ${type}`
  if (verb !== 'HEAD' && !ONE_LINE.test(body)) return `body ${JSON.stringify(body.slice(0, 300))}`
  if (INTERNALS.test(body)) return `internals in ${JSON.stringify(body.slice(0, 300))}`
  return null
}

export function locationViolation(releases: string, location: string): string | null {
  if (!/^[\x21-\x7e]+$/.test(location))
    return `Location not plain printable ASCII: ${JSON.stringify(location)}`
  let url: URL
  try {
    url = new URL(location)
  } catch {
    return `Location does not parse: ${location}`
  }
  if (url.hash !== '') return `Location has a fragment: ${location}`
  if (location.startsWith(`${releases}/`)) {
    const parts = location.slice(releases.length + 1).split('/')
    if (parts.length !== 2) return `release Location has ${parts.length} parts: ${location}`
    for (const part of parts) {
      if (!isFileName(part) || part === '.' || part === '..')
        return `release part "${part}" is not a plain file name`
    }
    // As a client resolves it: still exactly there.
    if (url.href !== location) return `resolves elsewhere: ${location} -> ${url.href}`
    return null
  }
  if (location.startsWith(`${FALLBACK}/`)) {
    if (url.origin !== 'https://docs.example' || !url.pathname.startsWith('/bakery/')) {
      return `fallback Location climbs out: ${location} -> ${url.href}`
    }
    return null
  }
  return `Location outside both origins: ${location}`
}

type App = Awaited<ReturnType<typeof testApp>>['app']

/**
 * Runs `runs` generated requests through the app, the raw target put back
 * where Node's HTTP parser would have left it; returns how many redirected,
 * and how many of those to a release.
 */
async function fuzzApp(
  app: App,
  releases: string,
  runs: number,
): Promise<{ redirects: number; releases: number }> {
  const dispatch = (request: IncomingMessage, response: ServerResponse): void => {
    request.url = request.headers['x-raw-target'] as string
    delete request.headers['x-raw-target']
    app.routing(request, response)
  }
  const seen = { redirects: 0, releases: 0 }
  await fc.assert(
    fc.asyncProperty(target, method, async (raw, verb) => {
      const res = await inject(dispatch, {
        method: verb as 'GET',
        url: '/',
        headers: { 'x-raw-target': raw },
        ...(verb === 'POST' ? { payload: 'x' } : {}),
      })
      const problem = violation(releases, verb, {
        status: res.statusCode,
        headers: res.headers,
        body: res.body,
      })
      if (problem !== null)
        throw new Error(`${verb} ${JSON.stringify(raw.slice(0, 500))}: ${problem}`)
      if (res.statusCode === 302) seen.redirects++
      if (String(res.headers.location).startsWith(releases)) seen.releases++
    }),
    { numRuns: runs, seed: SEED, endOnFailure: true },
  )
  return seen
}

// ---- the runs -------------------------------------------------------------

t.test(`${RUNS} hostile targets through normaliseTarget and resolve`, async (t) => {
  const releases = 'https://github.example/acme/bakery/releases/download'
  const origins = singleSource(releases, FALLBACK)
  const table = await loadTable(DEFAULT_TABLE_FILE, origins)
  // Bad client input: the codes the error handler answers with a 4xx.
  const clientCodes = [
    'SR_PATH_TOO_LONG',
    'SR_PATH_ENCODING',
    'SR_PATH_CONTROL_CHAR',
    'SR_PATH_INVALID',
  ]
  const seen = { refused: 0, releases: 0, fallback: 0 }
  const started = performance.now()
  fc.assert(
    fc.property(target, (raw) => {
      let location: string
      try {
        location = resolve(table, normaliseTarget(raw), origins).location
      } catch (err) {
        if (isRedirectorError(err) && clientCodes.includes(err.code)) {
          seen.refused++
          return
        }
        throw err
      }
      const problem = locationViolation(releases, location)
      if (problem !== null) throw new Error(`${JSON.stringify(raw.slice(0, 500))}: ${problem}`)
      if (location.startsWith(releases)) seen.releases++
      else seen.fallback++
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  )
  const seconds = (performance.now() - started) / 1000
  t.comment(
    `${RUNS} targets (seed ${SEED}) in ${seconds.toFixed(1)} s: ${seen.releases} to releases, ${seen.fallback} to the fallback, ${seen.refused} refused`,
  )
  t.ok(seen.releases > RUNS / 20, 'the generator reaches the release rules...')
  t.ok(seen.fallback > RUNS / 20, '...the fallback...')
  t.ok(seen.refused > RUNS / 20, '...and the refusals')
})

t.test(`${APP_RUNS} of them through the running app`, async (t) => {
  const { app } = await testApp(ENV)
  t.teardown(() => app.close())
  const releases = 'https://github.example/acme/bakery/releases/download'
  const started = performance.now()
  const seen = await fuzzApp(app, releases, APP_RUNS)
  const seconds = (performance.now() - started) / 1000
  t.comment(
    `${APP_RUNS} requests in ${seconds.toFixed(1)} s: ${seen.redirects} redirects, ${seen.releases} to releases`,
  )
  t.ok(
    seen.releases > APP_RUNS / 20,
    'the generator reaches the release rules, not just errors and the fallback',
  )
  t.ok(seen.redirects - seen.releases > APP_RUNS / 20, 'and the fallback')
})

t.test(
  `${FULL_RUNS} more with upstream checks, the manifest index and the directory on`,
  async (t) => {
    // GITHUB_URL: the fake GitHub that startBakery starts; nothing leaves 127.0.0.1.
    const { app, github } = await startBakery(t, {
      ...BASE,
      UPSTREAM_CHECKS: 'true',
      MANIFEST_INDEX: 'true',
      BAKERY_REPO: 'flatcar/sysext-bakery',
    })
    const releases = `${github.url}/flatcar/sysext-bakery/releases/download`
    const started = performance.now()
    const seen = await fuzzApp(app, releases, FULL_RUNS)
    const seconds = (performance.now() - started) / 1000
    t.comment(
      `${FULL_RUNS} requests in ${seconds.toFixed(1)} s: ${seen.redirects} redirects, ${seen.releases} to releases; ${github.count('HEAD')} checks upstream`,
    )
    t.ok(github.count('HEAD') > 0, 'targets were checked with the fake GitHub')
    t.ok(seen.releases > 0, 'and some exist')
  },
)

t.test('the checker itself catches what it must', async (t) => {
  const rel = 'https://github.example/o/r/releases/download'
  t.equal(locationViolation(rel, `${rel}/a/b.raw`), null)
  t.equal(locationViolation(rel, `${FALLBACK}/x/y?q=1`), null)
  t.match(locationViolation(rel, `${rel}/../b.raw`), /not a plain file name/)
  t.match(locationViolation(rel, `${rel}/a/b/c`), /3 parts/)
  t.match(locationViolation(rel, `${rel}/a%2f/b`), /not a plain file name/)
  t.match(locationViolation(rel, `${FALLBACK}/%2e%2e/x`), /climbs out/)
  t.match(locationViolation(rel, `${FALLBACK}/a?b#c`), /fragment/)
  t.match(locationViolation(rel, 'https://evil.example/'), /outside both origins/)
  t.match(locationViolation(rel, `${FALLBACK}/a b`), /printable ASCII/)
  const text = { 'x-content-type-options': 'nosniff', 'content-type': 'text/plain; charset=utf-8' }
  t.match(
    violation(rel, 'GET', { status: 500, headers: text, body: 'internal error\n' }),
    /status 500/,
  )
  t.match(
    violation(rel, 'GET', { status: 503, headers: text, body: 'x\n' }),
    /status 503/,
    'a 503 must say when to retry',
  )
  t.match(
    violation(rel, 'GET', {
      status: 400,
      headers: text,
      body: 'TypeError: x\n    at f (/src/a.ts:1:1)\n',
    }),
    /body/,
  )
  t.match(
    violation(rel, 'GET', { status: 400, headers: text, body: 'TypeError: x\n' }),
    /internals/,
  )
  t.match(
    violation(rel, 'GET', {
      status: 400,
      headers: { ...text, 'x-content-type-options': undefined },
      body: 'no\n',
    }),
    /nosniff/,
  )
  t.match(
    violation(rel, 'GET', {
      status: 400,
      headers: { ...text, 'content-type': 'application/json' },
      body: '{}',
    }),
    /an error as/,
  )
  t.match(
    violation(rel, 'GET', {
      status: 200,
      headers: { ...text, 'content-type': 'text/html; charset=utf-8' },
      body: '<p>',
    }),
    /CSP/,
  )
  t.match(
    violation(rel, 'GET', {
      status: 302,
      headers: { ...text, location: `${FALLBACK}/x` },
      body: 'x',
    }),
    /with a body/,
  )
  t.match(violation(rel, 'POST', { status: 302, headers: text, body: '' }), /status 302 for POST/)
})

t.test(`${SOCKET_RUNS} of them over a real socket, through Node's parser`, async (t) => {
  const { app } = await testApp(ENV)
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  let socket = await openSocket(port)
  t.teardown(() => socket.destroy())
  // What can travel on the wire: the request line is bytes, sent as latin1.
  // CR and LF are encoded, or they would end our own request line early.
  let answered = 0
  const wire = target.map((raw) => raw.replace(/[\r\n\u{100}-\u{10ffff}]/gu, utf8Escape))
  socket.on('error', () => undefined)
  await fc.assert(
    fc.asyncProperty(wire, fc.constantFrom('GET', 'HEAD'), async (raw, verb) => {
      if (socket.destroyed || socket.readyState !== 'open') {
        socket = await openSocket(port)
        socket.on('error', () => undefined)
      }
      socket.write(
        Buffer.from(`${verb} ${raw} HTTP/1.1\r\nHost: redirector.test\r\n\r\n`, 'latin1'),
      )
      const res = await readResponse(socket, verb === 'HEAD')
      const problem = violation('https://github.example/acme/bakery/releases/download', verb, res)
      if (problem !== null)
        throw new Error(`${verb} ${JSON.stringify(raw.slice(0, 500))}: ${problem}`)
      if (res.headers.connection === 'close') socket.destroy()
      answered++
    }),
    { numRuns: SOCKET_RUNS, seed: SEED, endOnFailure: true },
  )
  t.equal(answered, SOCKET_RUNS, 'every request answered')
})
