import t from 'tap'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { expandLocation } from '../../src/config/table-examples.js'
import { releasesBase, singleSource } from '../../src/table/resolve.js'
import { testApp } from '../helpers/app.js'
import { bakeryAssets, ONLINE, publish, startBakery } from '../helpers/bakery.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { requestLine } from '../helpers/upstream.js'

const repo = 'flatcar/sysext-bakery'

t.test('newest-version URLs: a 302 straight to the versioned GitHub URL', async (t) => {
  const { github, app } = await startBakery(t)
  const rel = releasesBase(github.url, repo)
  const cases: [string, string][] = [
    ['/extensions/kubernetes.raw', 'kubernetes-v1.33.0/kubernetes-v1.33.0-x86-64.raw'],
    ['/extensions/kubernetes-x86-64.raw', 'kubernetes-v1.33.0/kubernetes-v1.33.0-x86-64.raw'],
    ['/extensions/kubernetes-arm64.raw', 'kubernetes-v1.33.0/kubernetes-v1.33.0-arm64.raw'],
    [
      '/extensions/kubernetes-v1.32-x86-64.raw',
      'kubernetes-v1.32.10/kubernetes-v1.32.10-x86-64.raw',
    ],
    ['/extensions/kubernetes-v1.32-arm64.raw', 'kubernetes-v1.32.2/kubernetes-v1.32.2-arm64.raw'],
    ['/extensions/kubernetes-v1-arm64.raw?x=1', 'kubernetes-v1.33.0/kubernetes-v1.33.0-arm64.raw'],
    ['/extensions/docker.raw', 'docker-28.0.1/docker-28.0.1-x86-64.raw'],
    ['/extensions/docker-compose.raw', 'docker-compose-2.34.0/docker-compose-2.34.0-x86-64.raw'],
    [
      '/extensions/docker-compose-arm64.raw',
      'docker-compose-2.34.0/docker-compose-2.34.0-arm64.raw',
    ],
    [
      '/extensions/docker-compose-2.33-x86-64.raw',
      'docker-compose-2.33.1/docker-compose-2.33.1-x86-64.raw',
    ],
    ['/extensions/k3s.raw', 'k3s-v1.31.4+k3s2/k3s-v1.31.4+k3s2-x86-64.raw'],
    ['/extensions/k3s-v1.31-x86-64.raw', 'k3s-v1.31.4+k3s2/k3s-v1.31.4+k3s2-x86-64.raw'],
    ['/extensions//./docker.raw', 'docker-28.0.1/docker-28.0.1-x86-64.raw'],
    ['/extensions/wasmtime-arm64.raw', 'wasmtime-24.0.0/wasmtime-24.0.0-arm64.raw'],
  ]
  for (const [url, target] of cases) {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await app.inject({ method, url })
      t.equal(res.statusCode, 302, `${method} ${url}`)
      t.equal(res.headers.location, `${rel}/${target}`, `${method} ${url}`)
      t.equal(res.headers['cache-control'], 'public, max-age=60', 'short: it moves on publish')
      t.equal(res.body, '')
    }
  }
})

t.test('the newest target is checked with GitHub like any other', async (t) => {
  const { github, app } = await startBakery(t)
  await app.inject('/extensions/docker.raw')
  await app.inject('/extensions/docker.raw')
  t.equal(github.count('HEAD', 'docker-28.0.1', 'docker-28.0.1-x86-64.raw'), 1, 'once, then cached')
  github.removeAsset('wasmtime-24.0.0', 'wasmtime-24.0.0-arm64.raw')
  const res = await app.inject('/extensions/wasmtime-arm64.raw')
  t.equal(res.statusCode, 404)
  t.equal(
    res.body,
    'Not Found: the index lists wasmtime-24.0.0-arm64.raw, but release wasmtime-24.0.0 does not have it\n',
  )
})

t.test('unknown extensions and empty streams: a 404 naming the choices', async (t) => {
  const { github, app } = await startBakery(t)
  const cases: [string, string][] = [
    [
      '/extensions/nosuch.raw',
      'no extension matches nosuch.raw; extensions: crio, docker, docker-compose, k3s, kubernetes, wasmtime',
    ],
    [
      '/extensions/nosuch-arm64.raw',
      'no extension matches nosuch-arm64.raw; extensions: crio, docker, docker-compose, k3s, kubernetes, wasmtime',
    ],
    ['/extensions/wasmtime.raw', 'wasmtime has no x86-64 image; architectures: arm64'],
    [
      '/extensions/kubernetes-v1.99-x86-64.raw',
      'release kubernetes-v1.99 has no asset kubernetes-v1.99-x86-64.raw; kubernetes has no x86-64 image whose version starts with v1.99.; streams: v1.33, v1.32, v1.31',
    ],
    [
      '/extensions/docker-compose-2.33-arm64.raw',
      'release docker-compose-2.33 has no asset docker-compose-2.33-arm64.raw; docker-compose has no arm64 image whose version starts with 2.33.; streams: 2.34',
    ],
    [
      '/extensions/kubernetes-v1.32.2-riscv64.raw',
      'no extension matches kubernetes-v1.32.2-riscv64.raw; extensions: crio, docker, docker-compose, k3s, kubernetes, wasmtime',
    ],
  ]
  for (const [url, message] of cases) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 404, url)
    t.equal(res.body, `Not Found: ${message}\n`)
    t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
    t.equal(res.headers['cache-control'], 'public, max-age=30', 'as long as any "missing"')
  }
  const asked = github.requests.map((r) => r.path)
  t.notOk(
    asked.some((p) => p.includes('/nosuch')),
    'names outside the index are never asked for',
  )
})

t.test(
  'exact versions answer as before; snapshot files are the bytes the redirect led to',
  async (t) => {
    const on = await startBakery(t)
    const off = await startBakery(t, { MANIFEST_INDEX: 'false' })
    const origins = (url: string) =>
      singleSource(releasesBase(url, repo), 'https://flatcar.github.io/sysext-bakery')
    const table = await loadTable(DEFAULT_TABLE_FILE, origins(on.github.url))
    const paths = [
      ...table.rules.flatMap((rule) => rule.examples.map((example) => example.path)),
      ...table.unmatched
        .map((example) => example.path)
        .filter((p) => !p.endsWith('.raw') && !/^\/extensions\/[^/]*\/?$/.test(p)),
      // What sysupdate asks for with Path=https://host/extensions/kubernetes/ ...
      '/extensions/kubernetes/SHA256SUMS',
      '/extensions/kubernetes/SHA256SUMS.sha256.asc',
      '/extensions/kubernetes/kubernetes-v1.32.2-x86-64.raw',
      '/extensions/kubernetes/kubernetes-v1.32.10-arm64.raw',
      // ... and with Path=https://host/extensions/
      '/extensions/SHA256SUMS',
      '/extensions/kubernetes-v1.33.0-x86-64.raw',
      '/extensions/kubernetes-v1.32.10-arm64.raw',
      '/extensions/crio-v1.30.0-rc1-x86-64.raw',
      '/extensions/kubernetes.conf',
      '/extensions/kubernetes/kubernetes-v1.32.conf',
    ]
    t.ok(paths.length > 40)
    for (const url of paths) {
      const [a, b] = [await on.app.inject(url), await off.app.inject(url)]
      const answer = (res: typeof a, base: string): Record<string, unknown> => ({
        status: res.statusCode,
        location: res.headers.location?.toString().replace(base, 'GITHUB'),
        cacheControl: res.headers['cache-control'],
        body: res.body,
      })
      const [with_, without] = [answer(a, on.github.url), answer(b, off.github.url)]
      if (a.statusCode === 200 && b.statusCode === 302) {
        // A snapshot file: served with the bytes the redirect (no index, no snapshot) leads to.
        const origin = await fetch(b.headers.location as string)
        t.equal(a.body, await origin.text(), `${url}: the bytes at the origin`)
        t.ok(a.headers.etag, `${url}: with a validator`)
        continue
      }
      if (a.statusCode === 404 && b.statusCode === 404 && a.body !== b.body) {
        // A version the index does not know: the same 404, with the choices added.
        t.match(a.body, `${b.body.trimEnd()}; `, `${url}: the 404 it was, and the choices`)
        t.same({ ...with_, body: '' }, { ...without, body: '' }, url)
        continue
      }
      t.same(with_, without, url)
    }
    // Each table example still leads where the table says.
    for (const rule of table.rules) {
      for (const example of rule.examples) {
        const res = await on.app.inject(example.path)
        if (res.statusCode === 302) {
          t.equal(
            res.headers.location,
            expandLocation(example.location, origins(on.github.url)),
            example.path,
          )
        }
      }
    }
  },
)

t.test('a stream is tried only once GitHub says the exact release is missing', async (t) => {
  const { github, app, logs } = await startBakery(t)
  const res = await app.inject('/extensions/kubernetes-v1.32-x86-64.raw')
  t.equal(res.statusCode, 302)
  t.equal(
    github.count('HEAD', 'kubernetes-v1.32', 'kubernetes-v1.32-x86-64.raw'),
    1,
    'the exact target, asked once',
  )
  t.match(requestLine(logs, '/extensions/kubernetes-v1.32-x86-64.raw'), {
    rule: 'newest',
    upstream: 'exists',
    status: 302,
  })
  // A release named like a stream wins as soon as it exists.
  publish(github, { kubernetes: { 'v1.32': ['x86-64'] } })
  app.upstreamChecks?.invalidate()
  const exact = await app.inject('/extensions/kubernetes-v1.32-x86-64.raw')
  t.equal(
    exact.headers.location,
    `${releasesBase(github.url, repo)}/kubernetes-v1.32/kubernetes-v1.32-x86-64.raw`,
  )
  t.equal(exact.headers['cache-control'], 'public, max-age=86400', "the table's answer, as before")
})

t.test('an image GitHub has is answered without reading the index', async (t) => {
  const { github, app, logs } = await startBakery(t)
  const res = await app.inject('/extensions/kubernetes-v1.32.2-x86-64.raw')
  t.equal(res.statusCode, 302)
  t.equal(github.count('HEAD'), 1, 'the upstream check')
  t.equal(github.count('GET'), 0, 'no manifest fetched: the first request does not wait for one')
  t.match(requestLine(logs, '/extensions/kubernetes-v1.32.2-x86-64.raw'), {
    rule: 'raw',
    upstream: 'exists',
    status: 302,
  })
  const missing = await app.inject('/extensions/kubernetes-v1.32-x86-64.raw')
  t.equal(missing.statusCode, 302, 'a missing one: the index is read, and has a stream')
  t.ok(github.count('GET') > 0)
})

t.test('with upstream checks off, the index alone tells a stream from a version', async (t) => {
  const { github, app } = await startBakery(t, { UPSTREAM_CHECKS: 'false' })
  const rel = releasesBase(github.url, repo)
  const stream = await app.inject('/extensions/kubernetes-v1.32-arm64.raw')
  t.equal(stream.headers.location, `${rel}/kubernetes-v1.32.2/kubernetes-v1.32.2-arm64.raw`)
  const exact = await app.inject('/extensions/kubernetes-v1.32.10-arm64.raw')
  t.equal(
    exact.statusCode,
    302,
    'a published version is never rewritten, even for an arch it lacks',
  )
  t.equal(exact.headers.location, `${rel}/kubernetes-v1.32.10/kubernetes-v1.32.10-arm64.raw`)
  const unknown = await app.inject('/extensions/unknown-1.0-x86-64.raw')
  t.equal(
    unknown.headers.location,
    `${rel}/unknown-1.0/unknown-1.0-x86-64.raw`,
    'unknown to the index: the table, unchecked',
  )
  t.equal(github.count('HEAD'), 0, 'nothing is checked')
})

t.test('an index that cannot be read: 503 for newest names, nothing else changes', async (t) => {
  const { github, app, clock } = await startBakery(t)
  github.fault({ kind: 'status', status: 500 }, (path) => path.endsWith('/SHA256SUMS'))
  const res = await app.inject('/extensions/kubernetes.raw')
  t.equal(res.statusCode, 503, 'a 5xx: Ignition retries, it gives up on a 4xx')
  t.equal(res.headers['retry-after'], '15')
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(
    res.body,
    /^Service Unavailable: the list of published versions cannot be read from GitHub yet/,
  )
  const exact = await app.inject('/extensions/kubernetes-v1.32.2-x86-64.raw')
  t.equal(exact.statusCode, 302, 'exact versions do not depend on the index')
  const missing = await app.inject('/extensions/kubernetes-v1.32-x86-64.raw')
  t.equal(missing.statusCode, 404, 'a missing exact target is the 404 it always was')
  t.match(missing.body, /release kubernetes-v1.32 has no asset/)
  github.fault(null)
  clock.advance(15_000)
  t.equal(
    (await app.inject('/extensions/kubernetes.raw')).statusCode,
    302,
    'back after INDEX_RETRY',
  )
})

t.test('once read, the index survives GitHub failing', async (t) => {
  const { github, app, clock } = await startBakery(t)
  t.equal((await app.inject('/extensions/kubernetes.raw')).statusCode, 302)
  github.fault({ kind: 'status', status: 500 }, (path) => path.endsWith('/SHA256SUMS'))
  clock.advance(3_600_000)
  t.equal(
    (await app.inject('/extensions/kubernetes.raw')).statusCode,
    302,
    'the last good copy answers',
  )
})

t.test('MANIFEST_INDEX=false: these paths go where they went before', async (t) => {
  const { github, app } = await startBakery(t, { MANIFEST_INDEX: 'false' })
  t.equal(app.manifestIndex, null)
  for (const url of ['/extensions/kubernetes.raw', '/extensions/', '/extensions/kubernetes/']) {
    const res = await app.inject(url)
    t.equal(res.headers.location, `https://flatcar.github.io/sysext-bakery${url}`, url)
  }
  t.equal(github.requests.length, 0)
})

t.test('adversarial names are answered quickly', async (t) => {
  // Checks off: the fake GitHub would refuse the second name's long URL, and
  // an unanswered check redirects unconfirmed (fail open), which is not ours to test.
  const { app } = await startBakery(t, { UPSTREAM_CHECKS: 'false' })
  for (const url of [
    // Just under the 4 KiB request-target limit (src/path/normalise.ts).
    `/extensions/${'-'.repeat(4_000)}.raw`,
    `/extensions/${'docker-'.repeat(570)}arm64.raw`,
  ]) {
    const started = performance.now()
    const res = await app.inject(url)
    t.equal(res.statusCode, 404)
    t.ok(performance.now() - started < 2_000, `${url.length} chars`)
  }
})

t.test("the app's own clock and connection pool by default", async (t) => {
  const github = await startFakeGitHub({ assets: bakeryAssets() })
  t.teardown(() => github.close())
  const { app } = await testApp({ ...ONLINE, GITHUB_URL: github.url })
  t.teardown(() => app.close())
  const res = await app.inject('/extensions/docker-compose-arm64.raw')
  t.equal(
    res.headers.location,
    `${releasesBase(github.url, repo)}/docker-compose-2.34.0/docker-compose-2.34.0-arm64.raw`,
  )
})
