import t from 'tap'
import {
  page,
  redirect,
  served,
  text,
  type Answer,
  type DirectoryPage,
} from '../../src/decision/answer.js'
import { snapshotFile } from '../../src/manifests/snapshot-file.js'
import { NO_FACTS, responseOf, type RequestFacts } from '../../src/response/of-answer.js'
import { startBakery } from '../helpers/bakery.js'
import { kubernetes } from '../helpers/directory.js'

const meta = { layer: 'table', rule: 'raw', source: 'bakery', upstream: 'exists' } as const
const names = (headers: readonly (readonly [string, string])[]) => headers.map(([name]) => name)

t.test('a redirect: nosniff, its location and caching, no body; labelled as decided', async (t) => {
  const mirrored = { ...meta, origin: 'https://mirror.example/releases' }
  const answer = redirect('https://example.org/a.raw', 'public, max-age=60', mirrored)
  const response = responseOf(answer, NO_FACTS)
  t.equal(response.status, 302)
  t.same(response.headers, [
    ['x-content-type-options', 'nosniff'],
    ['location', 'https://example.org/a.raw'],
    ['cache-control', 'public, max-age=60'],
  ])
  t.equal(response.body, '')
  t.same(response.labels, {
    rule: 'raw',
    source: 'bakery',
    upstream: 'exists',
    origin: 'https://mirror.example/releases',
    image: null,
    location: 'https://example.org/a.raw',
  })
  const warning = { details: { location: 'x' }, message: 'unconfirmed' }
  t.equal(responseOf({ ...answer, warning }, NO_FACTS).warning, warning, 'its warning kept')
})

t.test('a text answer: its line; Retry-After before the body’s headers; its warning', async (t) => {
  const answer = text(503, 'Service Unavailable: later', 'no-store', meta, '7')
  const response = responseOf(answer, NO_FACTS)
  t.equal(response.body, 'Service Unavailable: later\n')
  t.same(names(response.headers), [
    'x-content-type-options',
    'retry-after',
    'content-type',
    'cache-control',
  ])
  const warning = { details: {}, message: 'w' }
  t.equal(responseOf({ ...answer, warning }, NO_FACTS).warning, warning)
  t.equal(responseOf(answer, NO_FACTS).warning, undefined)
})

t.test(
  'a snapshot file: its bytes with validators, or a 304 to a client that has them',
  async (t) => {
    const file = {
      ...snapshotFile(Buffer.from('abc\n'), 'Sun, 06 Dec 2026 10:00:00 GMT'),
      omitted: ['a b'],
    }
    const answer = served(file, 'SHA256SUMS', 'no-cache', meta)
    const full = responseOf(answer, NO_FACTS)
    t.equal(full.status, 200)
    t.same(names(full.headers), [
      'x-content-type-options',
      'etag',
      'last-modified',
      'cache-control',
      'x-snapshot-omitted',
      'content-type',
    ])
    t.same(full.headers[4], ['x-snapshot-omitted', 'a%20b'], 'names percent-encoded')
    t.same([...(full.body as Buffer)], [...Buffer.from('abc\n')])
    const has = (facts: Partial<RequestFacts>) => responseOf(answer, { ...NO_FACTS, ...facts })
    const matched = has({ ifNoneMatch: file.etag })
    t.equal(matched.status, 304)
    t.equal(matched.body, '')
    t.notOk(names(matched.headers).includes('content-type'), 'a 304 has no body, so no type')
    t.equal(has({ ifModifiedSince: 'Mon, 07 Dec 2026 10:00:00 GMT' }).status, 304)
    t.equal(has({ ifNoneMatch: '"other"' }).status, 200)
  },
)

/** A page of the Flatcar bakery's directory, `/extensions/`, as the decision makes it. */
function flatcarPage(kind: Pick<DirectoryPage, 'kind'> & Partial<DirectoryPage>): Answer {
  const where = { source: null, base: '/extensions/', layout: { kind: 'flatcar' } } as const
  return page(200, { ...where, ...kind } as DirectoryPage, 'no-cache', 'bakery')
}

t.test('a page: HTML with its policy, or JSON; a 400 line when none can be made', async (t) => {
  const listing = flatcarPage({ kind: 'listing', extensions: [] })
  const html = responseOf(listing, NO_FACTS)
  t.same(names(html.headers), [
    'x-content-type-options',
    'cache-control',
    'vary',
    'content-type',
    'content-security-policy',
    'referrer-policy',
  ])
  t.match(html.body, /^<!doctype html>/i)
  const json = responseOf(listing, { ...NO_FACTS, accept: 'application/json' })
  t.same(json.headers.at(-1), ['content-type', 'application/json; charset=utf-8'])
  t.same(JSON.parse(json.body as string), { layout: 'flatcar', extensions: [] })
  const bad = responseOf(listing, { ...NO_FACTS, query: { format: 'xml' } })
  t.same([bad.status, bad.body], [400, 'Bad Request: format must be html or json\n'])
  t.equal(bad.labels.rule, 'directory', 'still the directory’s, in the log')
  const one = flatcarPage({ kind: 'extension', extension: kubernetes })
  const hostless = responseOf(one, NO_FACTS)
  t.same(
    [hostless.status, hostless.body],
    [400, 'Bad Request: the Host header names no host the page can use\n'],
    'facts that name no origin (the lane’s) make no snippet',
  )
  const named = responseOf(one, { ...NO_FACTS, origin: () => 'https://ext.example.org' })
  t.equal(named.status, 200)
  t.match(named.body, 'https://ext.example.org/extensions/kubernetes-v1.32.10-x86-64.raw')
})

/** How a snapshot file is written: its type by its name, whatever the query. */
t.test('signatures as OpenPGP says, the rest plain text; the query changes nothing', async (t) => {
  const { app, github } = await startBakery(t)
  github.addAsset('SHA256SUMS', 'SHA256SUMS.asc', '-----BEGIN PGP SIGNATURE-----\n')
  github.addAsset('SHA256SUMS', 'SHA256SUMS.gpg', Buffer.from([0x89, 0x02]))
  const types: [string, string][] = [
    ['/extensions/SHA256SUMS.asc', 'application/pgp-signature'],
    ['/extensions/SHA256SUMS.asc?x=.txt', 'application/pgp-signature'],
    ['/extensions/SHA256SUMS.gpg', 'application/octet-stream'],
    ['/extensions/SHA256SUMS?x=.asc', 'text/plain; charset=utf-8'],
    ['/extensions/docker.conf', 'text/plain; charset=utf-8'],
  ]
  for (const [path, type] of types) {
    const res = await app.inject(path)
    t.equal(res.statusCode, 200, path)
    t.equal(res.headers['content-type'], type, path)
  }
  const binary = await app.inject('/extensions/SHA256SUMS.gpg')
  t.same([...binary.rawPayload], [0x89, 0x02], 'binary bytes as they are')
})
