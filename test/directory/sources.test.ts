import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { testApp } from '../helpers/app.js'
import { bakeryAssets } from '../helpers/bakery.js'
import { startFakeGitHub } from '../helpers/fake-github.js'

/**
 * A table of two sources, each with its own directory: every page reads
 * its own source's manifests and says which source it shows.
 */
const TABLE = `
sources:
  main: flatcar/sysext-bakery
  extra: acme/extra
rules:
  - name: raw
    path: /extensions/{ext}-{version}-{arch:x86-64|arm64}.raw
    release: '{ext}-{version}'
    asset: '{ext}-{version}-{arch}.raw'
  - name: extra-raw
    path: /extra/{ext}-{version}-{arch:x86-64|arm64}.raw
    source: extra
    release: '{ext}-{version}'
    asset: '{ext}-{version}-{arch}.raw'
  - name: extra-index
    path: /extra/{ext}/SHA256SUMS
    source: extra
    release: '{ext}'
    asset: SHA256SUMS
directories:
  - { name: listing, path: /extensions/ }
  - { name: page, path: '/extensions/{ext}/' }
  - { name: extra-listing, path: /extra/, source: extra }
  - { name: extra-page, path: '/extra/{ext}/', source: extra }
`

t.test('each directory lists its own source, and says which', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sources-'))
  t.teardown(() => rm(dir, { recursive: true }))
  await writeFile(join(dir, 'table.yaml'), TABLE)
  const github = await startFakeGitHub({
    assets: bakeryAssets({ kubernetes: { 'v1.32.2': ['x86-64'] } }),
    more: { 'acme/extra': bakeryAssets({ tailscale: { '1.82.5': ['x86-64', 'arm64'] } }) },
  })
  t.teardown(() => github.close())
  const { app, logs } = await testApp({
    PATTERN_TABLE: join(dir, 'table.yaml'),
    GITHUB_URL: github.url,
    MANIFEST_INDEX: 'true',
  })
  t.teardown(() => app.close())
  const json = async (url: string) => {
    const reply = await app.inject({ url, headers: { accept: 'application/json' } })
    return { status: reply.statusCode, body: JSON.parse(reply.body) }
  }
  t.match(await json('/extensions/'), {
    status: 200,
    body: { source: 'main', extensions: [{ name: 'kubernetes' }] },
  })
  const extra = await json('/extra/')
  t.match(extra, { status: 200, body: { source: 'extra', extensions: [{ name: 'tailscale' }] } })
  t.equal(extra.body.extensions.length, 1, 'the other source’s names are not listed')
  t.match(await json('/extra/tailscale/'), {
    status: 200,
    body: { source: 'extra', name: 'tailscale' },
  })
  t.match(await json('/extra/kubernetes/'), {
    status: 404,
    body: { source: 'extra', error: 'no extension named kubernetes', extensions: ['tailscale'] },
  })
  const html = await app.inject({ url: '/extra/tailscale/', headers: { accept: 'text/html' } })
  t.match(html.body, 'From source <code>extra</code>.')
  t.match(html.body, '<a href="/extra/">extra</a>', 'the crumbs lead back to its own listing')
  t.notMatch(html.body, /href="\/extensions\//, 'no link into the other directory')
  const missing = await app.inject({ url: '/extra/nosuch/', headers: { accept: 'text/html' } })
  t.equal(missing.statusCode, 404)
  t.match(missing.body, '<li><a href="/extra/tailscale/">tailscale</a></li>')
  const listed = await app.inject({ url: '/extra/', headers: { accept: 'text/html' } })
  t.match(listed.body, '<a href="/extra/tailscale/">tailscale</a>')
  t.match(listed.body, '<span aria-current="page">extra</span>')
  const listing = await app.inject({ url: '/extensions/', headers: { accept: 'text/html' } })
  t.match(listing.body, 'From source <code>main</code>.')
  t.match(
    logs.filter((line) => line.msg === 'request' && line.path === '/extra/'),
    [{ rule: 'directory', source: 'extra', status: 200 }],
  )
  t.ok(
    github.count('GET', 'SHA256SUMS', 'SHA256SUMS', 'acme/extra') > 0,
    'extra’s own manifest read',
  )
})
