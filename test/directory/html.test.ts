import { createHash } from 'node:crypto'
import t from 'tap'
import {
  CONTENT_SECURITY_POLICY,
  escapeHtml,
  extensionHtml,
  listingHtml,
  notFoundHtml,
  SCRIPT_HASH,
  STYLE_HASH,
} from '../../src/directory/html.js'
import { listingOf, pageOf } from '../../src/directory/model.js'
import { extension, kubernetes, useFor, wasm } from '../helpers/directory.js'

t.test('HTML: self-contained, escaped, with the CSP that fits it', async (t) => {
  t.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
  )
  // What the CSP allows is the page's own inline style and script, by their hashes.
  const listing = listingHtml(listingOf([kubernetes]), null)
  for (const [tag, hash] of [
    ['style', STYLE_HASH],
    ['script', SCRIPT_HASH],
  ] as const) {
    const inline = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(listing)?.[1] as string
    const digest = createHash('sha256').update(inline).digest('base64')
    t.equal(`sha256-${digest}`, hash, `the hash is of the inline ${tag}`)
  }
  t.equal(
    CONTENT_SECURITY_POLICY,
    `default-src 'none'; style-src '${STYLE_HASH}'; script-src '${SCRIPT_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  )
  // A name with every character HTML cares about that a file name may hold.
  const odd = extension("a&b'c", "a&b'c-1-x86-64.raw")
  const pages = [
    listingHtml(listingOf([odd, kubernetes]), null),
    extensionHtml(pageOf(odd), null, '/extensions/', useFor(odd)),
    extensionHtml(pageOf(kubernetes), null, '/extensions/', useFor(kubernetes)),
    notFoundHtml('<script>', ["a&b'c"], null),
  ]
  for (const html of pages) {
    t.match(html, /^<!doctype html>\n<html lang="en">/)
    // The snippets name URLs as text; outside them, nothing is fetched or run but the page's own.
    const outside = html.replace(/<pre><code[^>]*>[^<]*<\/code><\/pre>/g, '')
    t.notMatch(outside, /src=|@import|url\(|https?:\/\//i, 'no external resource')
    t.equal(html.match(/<script/g)?.length, 1, 'one script, the hashed one')
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
  t.match(listingHtml(listingOf([kubernetes]), null), /1 extension\./)
  t.match(listingHtml(listingOf([odd, kubernetes]), null), /2 extensions\./)
  t.match(
    listingHtml(listingOf([wasm]), null),
    '<td class="none">—<span class="vh">not published</span></td><td><a href="/extensions/wasmtime-arm64.raw" aria-label="newest wasmtime for arm64: 24.0.0">24.0.0</a></td>',
    'an arm64-only extension: no x86-64 link, its newest arm64',
  )
})

const at = (base: string) => ({ base, layout: { kind: 'flatcar' } }) as const

t.test('pages name their directory by its path, the root too', async (t) => {
  t.match(
    listingHtml(listingOf([kubernetes], at('/extra/')), null, '/extra/'),
    '<span aria-current="page">extra</span>',
  )
  const atRoot = extensionHtml(
    pageOf(kubernetes, at('/')),
    'main',
    '/',
    useFor(kubernetes, {}, at('/')),
  )
  t.match(atRoot, '<li><a href="/">/</a></li>', 'a directory at / is called /')
  t.match(atRoot, 'From source <code>main</code>.')
  t.match(notFoundHtml('x', ['kubernetes'], null, '/'), '<a href="/kubernetes/">kubernetes</a>')
})
