import t from 'tap'
import type { ExtensionPage, Listing } from '../../src/directory/model.js'
import { remembered } from '../../src/directory/render.js'
import { BAKERY, imageBytes, startBakery } from '../helpers/bakery.js'
import { requestLine } from '../helpers/upstream.js'

const NAMES = ['crio', 'docker', 'docker-compose', 'k3s', 'kubernetes', 'wasmtime']

t.test('/extensions/ as HTML for browsers', async (t) => {
  const { app, logs } = await startBakery(t)
  const res = await app.inject({ url: '/extensions/', headers: { accept: 'text/html,*/*;q=0.8' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.match(res.headers['content-security-policy'], /^default-src 'none'; style-src 'sha256-/)
  t.equal(res.headers['cache-control'], 'public, max-age=60')
  t.equal(res.headers.vary, 'accept')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  for (const name of NAMES) t.match(res.body, `<a href="/extensions/${name}/">${name}</a>`)
  t.match(
    res.body,
    '<a href="/extensions/kubernetes-arm64.raw" aria-label="newest kubernetes for arm64: v1.33.0">v1.33.0</a>',
  )
  t.match(requestLine(logs, '/extensions/'), { rule: 'directory', status: 200 })
  const head = await app.inject({ method: 'HEAD', url: '/extensions/' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  t.equal(head.headers['content-type'], 'text/html; charset=utf-8')
})

t.test('/extensions/ as JSON, by Accept or ?format=json', async (t) => {
  const { app } = await startBakery(t)
  for (const options of [
    { url: '/extensions/', headers: { accept: 'application/json' } },
    { url: '/extensions/?format=json' },
  ]) {
    const res = await app.inject(options)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(res.headers['content-security-policy'], undefined)
    const listing = res.json<Listing>()
    t.same(
      listing.extensions.map((e) => e.name),
      NAMES,
    )
    t.same(
      listing.extensions.find((e) => e.name === 'docker-compose'),
      {
        name: 'docker-compose',
        url: '/extensions/docker-compose/',
        newestVersion: '2.34.0',
        architectures: ['x86-64', 'arm64'],
        versions: 2,
        newest: {
          'x86-64': {
            version: '2.34.0',
            url: '/extensions/docker-compose.raw',
            file: '/extensions/docker-compose-2.34.0-x86-64.raw',
          },
          arm64: {
            version: '2.34.0',
            url: '/extensions/docker-compose-arm64.raw',
            file: '/extensions/docker-compose-2.34.0-arm64.raw',
          },
        },
      },
    )
  }
  const bad = await app.inject('/extensions/?format=xml')
  t.equal(bad.statusCode, 400)
  t.equal(bad.body, 'Bad Request: format must be html or json\n')
})

t.test('/extensions/<ext>/: versions and architectures; every link works', async (t) => {
  const { github, app } = await startBakery(t)
  const html = await app.inject('/extensions/kubernetes/')
  t.equal(html.statusCode, 200)
  t.match(html.body, /<h1>kubernetes<\/h1>/)
  t.match(
    html.body,
    '<a href="/extensions/kubernetes-v1.32.10-x86-64.raw">kubernetes-v1.32.10-x86-64.raw</a>',
  )
  const page = (await app.inject('/extensions/kubernetes/?format=json')).json<ExtensionPage>()
  t.same(
    page.versions.map((v) => v.version),
    ['v1.33.0', 'v1.32.10', 'v1.32.2', 'v1.31.4'],
  )
  t.same(
    page.streams.map((s) => s.stream),
    ['v1.33', 'v1.32', 'v1.31'],
  )
  const links = [
    page.sha256sums,
    ...Object.values(page.newest).flatMap((n) => [n.url, n.file]),
    ...page.streams.flatMap((s) => Object.values(s.newest).flatMap((n) => [n.url, n.file])),
    ...page.versions.flatMap((v) => Object.values(v.images).map((i) => i.url)),
  ]
  t.equal(links.length, 1 + 4 + 12 + 7)
  for (const link of links) {
    // Through the service, to the fake GitHub, to the bytes.
    const res = await app.inject(link)
    if (link === page.sha256sums) {
      // The manifest is served from the adopted snapshot, not redirected.
      t.equal(res.statusCode, 200, link)
      t.match(res.body, /^[0-9a-f]{64} {2}kubernetes-v1\.31\.4-x86-64\.raw\n/)
      continue
    }
    t.equal(res.statusCode, 302, link)
    const location = res.headers.location as string
    t.ok(location.startsWith(`${github.url}/flatcar/sysext-bakery/releases/download/`), link)
    const followed = await fetch(location) // follows GitHub's redirect to its storage
    const file = location.split('/').at(-1) as string
    t.equal(followed.status, 200, `${link} → ${file}`)
    const body = await followed.text()
    t.equal(body, imageBytes(file), `${link}: the image's own bytes`)
  }
})

t.test('an unknown extension: 404 with the choices, in the format asked for', async (t) => {
  const { app } = await startBakery(t)
  const html = await app.inject('/extensions/nosuch/')
  t.equal(html.statusCode, 404)
  t.equal(html.headers['content-type'], 'text/html; charset=utf-8')
  t.match(html.body, /No extension “nosuch”/)
  for (const name of NAMES)
    t.match(html.body, `<li><a href="/extensions/${name}/">${name}</a></li>`)
  const json = await app.inject({
    url: '/extensions/nosuch/',
    headers: { accept: 'application/json' },
  })
  t.equal(json.statusCode, 404)
  t.same(json.json(), { error: 'no extension named nosuch', extensions: NAMES })
  const versioned = await app.inject('/extensions/crio-v1.30.0/?format=json')
  t.equal(versioned.statusCode, 404, 'a versioned release is no extension')
})

t.test('an index that cannot be read: 503, with Retry-After', async (t) => {
  const { github, app } = await startBakery(t)
  github.fault({ kind: 'status', status: 502 }, (path) => path.endsWith('/SHA256SUMS'))
  for (const url of ['/extensions/', '/extensions/kubernetes/?format=json']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 503, url)
    t.equal(res.headers['retry-after'], '15')
    t.equal(
      res.body,
      'Service Unavailable: the list of extensions cannot be read from GitHub yet; try again shortly\n',
    )
  }
})

t.test('only the two directory forms of the table changed', async (t) => {
  const { app } = await startBakery(t)
  const fallback = 'https://flatcar.github.io/sysext-bakery'
  const doubled = await app.inject('/extensions//?format=json')
  t.same(
    doubled.json<Listing>().extensions.map((e) => e.name),
    NAMES,
    '/extensions// is /extensions/',
  )
  const cleaned = await app.inject('/extensions//kubernetes/?format=json')
  t.equal(cleaned.statusCode, 200, '/extensions//kubernetes/ is cleaned like every path')
  for (const url of [
    '/extensions',
    '/extensions/kubernetes',
    '/extensions/kubernetes/v1.32/',
    '/docs/extensions/',
  ]) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 302, url)
    t.ok((res.headers.location as string).startsWith(fallback), `${url}: the docs site, as before`)
  }
  t.equal((await app.inject({ method: 'POST', url: '/extensions/' })).statusCode, 405)
  t.ok(Object.keys(BAKERY).length === NAMES.length)
})

t.test('"Use it": snippets for the query’s choice, in HTML and JSON (issue 30)', async (t) => {
  const { app } = await startBakery(t)
  const html = await app.inject({ url: '/extensions/kubernetes/', headers: { host: 'ext.test' } })
  t.equal(html.statusCode, 200)
  t.match(html.body, '<h2 id="use">Use it</h2>')
  t.match(html.body, 'source: http://ext.test/extensions/kubernetes-v1.33.0-x86-64.raw')
  t.match(html.body, /hash: sha256-[0-9a-f]{64}/)
  t.match(html.body, '<button type="button" data-copy="butane" hidden')
  t.match(
    html.body,
    '<a href="?version=v1.32.2&amp;arch=arm64#use" aria-label="use v1.32.2 for arm64">use</a>',
    'each version and architecture is a choice away',
  )
  const json = await app.inject({
    url: '/extensions/kubernetes/?format=json&version=v1.32.2&arch=arm64&use=stream&systemd=254',
    headers: { host: 'ext.test' },
  })
  t.equal(json.statusCode, 200)
  const { use, versions } = json.json<{
    use: { choice: object; stream: string; sha256: string; transfer: { path: string } }
    versions: { version: string; images: Record<string, { sha256: string }> }[]
  }>()
  t.match(use, {
    choice: { version: 'v1.32.2', arch: 'arm64', follow: 'stream', systemd: '254' },
    stream: 'v1.32',
    transfer: { path: '/etc/sysupdate.kubernetes.d/kubernetes.conf' },
  })
  t.equal(use.sha256, versions.find((v) => v.version === 'v1.32.2')?.images.arm64?.sha256)
  const stream = await app.inject({
    url: '/extensions/kubernetes/?use=stream',
    headers: { host: 'ext.test' },
  })
  t.match(stream.body, 'Transfer file: /etc/sysupdate.kubernetes.d/kubernetes.transfer')
  t.match(stream.body, 'Path=http://ext.test/extensions/kubernetes/')
  t.match(
    stream.body,
    '<a href="?version=v1.33.0&amp;arch=x86-64&amp;stream=v1.33&amp;systemd=254#use">',
  )
})

t.test('PUBLIC_URL names the origin; a Host that names none gets 400', async (t) => {
  const { app } = await startBakery(t, { PUBLIC_URL: 'https://extensions.example.org' })
  const res = await app.inject({ url: '/extensions/kubernetes/', headers: { host: 'other.test' } })
  t.match(
    res.body,
    'source: https://extensions.example.org/extensions/kubernetes-v1.33.0-x86-64.raw',
  )
  t.notMatch(res.body, 'other.test')
  const plain = await startBakery(t)
  const bad = await plain.app.inject({ url: '/extensions/kubernetes/', headers: { host: 'a b' } })
  t.equal(bad.statusCode, 400)
  t.equal(bad.body, 'Bad Request: the Host header names no host the page can use\n')
})

t.test('a choice naming nothing published: the page says so, with a 400', async (t) => {
  const { app } = await startBakery(t)
  const html = await app.inject('/extensions/kubernetes/?version=v9.9.9')
  t.equal(html.statusCode, 400)
  t.equal(html.headers['content-type'], 'text/html; charset=utf-8')
  t.match(
    html.body,
    '<p class="error" role="alert">version: kubernetes has no version &quot;v9.9.9&quot;.',
  )
  t.notMatch(html.body, '<pre>', 'and no snippet')
  t.match(html.body, '<h2 id="versions">', 'the rest of the page is there to choose from')
  const json = await app.inject('/extensions/kubernetes/?format=json&arch=s390x')
  t.equal(json.statusCode, 400)
  t.same(json.json<{ use: unknown }>().use, {
    error: 'arch: v1.33.0 has no architecture "s390x"; it is for x86-64 and arm64',
  })
  const stream = await app.inject('/extensions/kubernetes/?format=json&stream=v1.29')
  t.equal(stream.statusCode, 400)
  t.same(stream.json<{ use: unknown }>().use, { error: 'stream: kubernetes has no stream "v1.29"' })
  const noStream = await app.inject('/extensions/wasmtime/?use=stream')
  t.equal(noStream.statusCode, 200, 'wasmtime 24.0.0 is in stream 24')
})

t.test('the listing offers a filter, shown by its script', async (t) => {
  const { app } = await startBakery(t)
  const res = await app.inject('/extensions/')
  t.match(res.body, '<p hidden><label for="filter">Filter by name</label>')
  t.match(res.body, '<tr data-name="docker-compose">')
})

t.test('pages are kept for the last few choices only', async (t) => {
  const made = new Map<string, string>()
  let calls = 0
  const make = (text: string) => () => {
    calls++
    return text
  }
  t.equal(remembered(made, 'a', 2, make('A')), 'A')
  t.equal(remembered(made, 'a', 2, make('other')), 'A', 'made once')
  remembered(made, 'b', 2, make('B'))
  remembered(made, 'c', 2, make('C'))
  t.same([...made.keys()], ['b', 'c'], 'the oldest forgotten')
  t.equal(calls, 3)
})
