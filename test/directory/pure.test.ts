import { createHash } from 'node:crypto'
import t from 'tap'
import {
  CONTENT_SECURITY_POLICY,
  escapeHtml,
  extensionHtml,
  listingHtml,
  notFoundHtml,
  STYLE_HASH,
} from '../../src/directory/html.js'
import { listingOf, newestUrl, pageOf } from '../../src/directory/model.js'
import { chooseFormat, quality } from '../../src/directory/negotiate.js'
import { imagesOf, type Extension } from '../../src/index/catalog.js'

const extension = (name: string, ...files: string[]): Extension => ({
  name,
  images: imagesOf(
    name,
    files.map((file, i) => ({ sha256: String(i).repeat(64).slice(0, 64), name: file })),
  ),
})

const kubernetes = extension(
  'kubernetes',
  'kubernetes-v1.32.2-x86-64.raw',
  'kubernetes-v1.32.2-arm64.raw',
  'kubernetes-v1.32.10-x86-64.raw',
  'kubernetes-v1.31.4-x86-64.raw',
)
const wasm = extension('wasmtime', 'wasmtime-24.0.0-arm64.raw')

t.test('negotiation: ?format= decides, else Accept', async (t) => {
  const cases: [unknown, string | undefined, string | null][] = [
    [undefined, undefined, 'html'],
    ['json', 'text/html', 'json'],
    ['html', 'application/json', 'html'],
    ['xml', undefined, null],
    [['json', 'html'], undefined, null],
    [undefined, 'application/json', 'json'],
    [undefined, 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'html'],
    [undefined, '*/*', 'html'],
    [undefined, 'application/json, text/html;q=0.5', 'json'],
    [undefined, 'text/html;q=0.5, application/json;q=0.9', 'json'],
    [undefined, 'application/*', 'json'],
    [undefined, 'application/json;q=0', 'html'],
    [undefined, 'application/json;q=abc', 'html'],
    [undefined, 'text/plain', 'html'],
  ]
  for (const [format, accept, expected] of cases) {
    t.equal(chooseFormat(format, accept), expected, `${JSON.stringify(format)} / ${accept}`)
  }
  t.equal(
    quality('text/*;q=0.3, text/html;q=0.7, */*;q=0.1', 'text/html'),
    0.7,
    'the most specific range wins',
  )
  t.equal(quality('text/html;level=1;q=0.4', 'text/html'), 0.4)
  t.equal(quality('TEXT/HTML', 'text/html'), 1, 'case-insensitive')
  t.equal(quality('image/png', 'text/html'), 0)
  t.equal(quality('text/html;q=2', 'text/html'), 0, 'an out-of-range q counts as none')
})

t.test('the model: URLs through this service, newest and streams per arch', async (t) => {
  t.equal(newestUrl('k', 'x86-64'), '/extensions/k.raw')
  t.equal(newestUrl('k', 'arm64'), '/extensions/k-arm64.raw')
  t.equal(
    newestUrl('k', 'x86-64', 'v1.32'),
    '/extensions/k-v1.32-x86-64.raw',
    'a stream always names its arch',
  )
  t.same(listingOf([wasm, kubernetes]), {
    extensions: [
      {
        name: 'kubernetes',
        url: '/extensions/kubernetes/',
        newestVersion: 'v1.32.10',
        architectures: ['x86-64', 'arm64'],
        versions: 3,
        newest: {
          'x86-64': {
            version: 'v1.32.10',
            url: '/extensions/kubernetes.raw',
            file: '/extensions/kubernetes-v1.32.10-x86-64.raw',
          },
          arm64: {
            version: 'v1.32.2',
            url: '/extensions/kubernetes-arm64.raw',
            file: '/extensions/kubernetes-v1.32.2-arm64.raw',
          },
        },
      },
      {
        name: 'wasmtime',
        url: '/extensions/wasmtime/',
        newestVersion: '24.0.0',
        architectures: ['arm64'],
        versions: 1,
        newest: {
          arm64: {
            version: '24.0.0',
            url: '/extensions/wasmtime-arm64.raw',
            file: '/extensions/wasmtime-24.0.0-arm64.raw',
          },
        },
      },
    ],
  })
  const page = pageOf(kubernetes)
  t.same(page.streams, [
    {
      stream: 'v1.32',
      newest: {
        'x86-64': {
          version: 'v1.32.10',
          url: '/extensions/kubernetes-v1.32-x86-64.raw',
          file: '/extensions/kubernetes-v1.32.10-x86-64.raw',
        },
        arm64: {
          version: 'v1.32.2',
          url: '/extensions/kubernetes-v1.32-arm64.raw',
          file: '/extensions/kubernetes-v1.32.2-arm64.raw',
        },
      },
    },
    {
      stream: 'v1.31',
      newest: {
        'x86-64': {
          version: 'v1.31.4',
          url: '/extensions/kubernetes-v1.31-x86-64.raw',
          file: '/extensions/kubernetes-v1.31.4-x86-64.raw',
        },
      },
    },
  ])
  t.same(
    page.versions.map((v) => [v.version, Object.keys(v.images)]),
    [
      ['v1.32.10', ['x86-64']],
      ['v1.32.2', ['x86-64', 'arm64']],
      ['v1.31.4', ['x86-64']],
    ],
  )
  t.same(page.versions[1]?.images.arm64, {
    file: 'kubernetes-v1.32.2-arm64.raw',
    url: '/extensions/kubernetes-v1.32.2-arm64.raw',
    sha256: '1'.repeat(64),
  })
  t.equal(page.sha256sums, '/extensions/kubernetes/SHA256SUMS')
})

t.test('HTML: self-contained, escaped, with the CSP that fits it', async (t) => {
  t.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
  )
  const css = /<style>([^<]*)<\/style>/.exec(listingHtml(listingOf([kubernetes])))?.[1] as string
  t.equal(
    `sha256-${createHash('sha256').update(css).digest('base64')}`,
    STYLE_HASH,
    'the hash is of the inline style',
  )
  t.equal(
    CONTENT_SECURITY_POLICY,
    `default-src 'none'; style-src '${STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  )
  // A name with every character HTML cares about that a file name may hold.
  const odd = extension("a&b'c", "a&b'c-1-x86-64.raw")
  const pages = [
    listingHtml(listingOf([odd, kubernetes])),
    extensionHtml(pageOf(odd)),
    extensionHtml(pageOf(kubernetes)),
    notFoundHtml('<script>', ["a&b'c"]),
  ]
  for (const html of pages) {
    t.match(html, /^<!doctype html>\n<html lang="en">/)
    t.notMatch(html, /<script|src=|@import|url\(|https?:\/\//i, 'no script, no external resource')
    t.notMatch(html, /a&b'c/, 'raw text never reaches the page')
  }
  t.match(pages[0], /<a href="\/extensions\/a&amp;b&#39;c\/">a&amp;b&#39;c<\/a>/)
  t.match(pages[3], /No extension “&lt;script&gt;”/)
  t.match(pages[2], /<caption>|<th scope="col">/)
  t.match(
    pages[2],
    /<span class="vh">not published<\/span>/,
    'an empty cell says so to screen readers',
  )
  t.match(pages[2], /aria-current="page">kubernetes</)
  t.match(pages[1], /1 version for x86-64/)
  t.notMatch(pages[1], /id="streams"/, 'no streams section without streams')
  t.match(listingHtml(listingOf([kubernetes])), /1 extension\./)
  t.match(listingHtml(listingOf([odd, kubernetes])), /2 extensions\./)
  t.match(
    listingHtml(listingOf([wasm])),
    '<td class="none">—<span class="vh">not published</span></td><td><a href="/extensions/wasmtime-arm64.raw" aria-label="newest wasmtime for arm64: 24.0.0">24.0.0</a></td>',
    'an arm64-only extension: no x86-64 link, its newest arm64',
  )
})
