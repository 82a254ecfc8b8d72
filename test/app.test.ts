import fastify from 'fastify'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { originsOf, parseConfig } from '../src/config/service.js'
import { RedirectorError } from '../src/core/errors.js'
import { errorHandler } from '../src/http/errors.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../src/config/table-file.js'
import { OFFLINE, testApp } from './helpers/app.js'

const REL = 'https://github.com/flatcar/sysext-bakery/releases/download'

t.test('GET and HEAD answer 302 with an absolute Location and no body', async (t) => {
  const { app } = await testApp()
  t.teardown(() => app.close())
  for (const method of ['GET', 'HEAD'] as const) {
    const res = await app.inject({ method, url: '/extensions/k3s-v1.32.2%2Bk3s1-x86-64.raw?x=1' })
    t.equal(res.statusCode, 302, method)
    t.equal(
      res.headers.location,
      `${REL}/k3s-v1.32.2+k3s1/k3s-v1.32.2+k3s1-x86-64.raw`,
      `${method}: + kept, query dropped`,
    )
    t.equal(res.body, '', `${method}: no body`)
    t.equal(res.headers['content-length'], '0')
  }
})

t.test('Cache-Control suits the target', async (t) => {
  const { app } = await testApp({ REDIRECT_MAX_AGE_MUTABLE: '30s' })
  t.teardown(() => app.close())
  const cacheControl = async (url: string): Promise<unknown> =>
    (await app.inject({ url })).headers['cache-control']
  t.equal(
    await cacheControl('/extensions/kubernetes-v1.32.2-x86-64.raw'),
    'public, max-age=86400',
    'versioned image: long',
  )
  t.equal(
    await cacheControl('/extensions/kubernetes/SHA256SUMS'),
    'public, max-age=30',
    'index: brief',
  )
  t.equal(
    await cacheControl('/extensions/kubernetes.conf'),
    'public, max-age=30',
    'transfer file: brief',
  )
  t.equal(await cacheControl('/anything'), 'public, max-age=3600', 'docs site')
})

t.test('the fallback keeps path and query, cleaned and encoded', async (t) => {
  const { app } = await testApp({ FALLBACK_URL: 'https://docs.example/bakery/' })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/a/../../b//c d?q=1&r=%zz' })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, 'https://docs.example/bakery/b/c%20d?q=1&r=%25zz')
})

t.test('other methods get 405 with Allow', async (t) => {
  const { app } = await testApp()
  t.teardown(() => app.close())
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'] as const) {
    const res = await app.inject({
      method,
      url: '/extensions/SHA256SUMS',
      payload: method === 'TRACE' ? undefined : 'x',
    })
    t.equal(res.statusCode, 405, method)
    t.equal(res.headers.allow, 'GET, HEAD')
    t.equal(res.body, `method ${method} is not allowed\n`)
  }
  const health = await app.inject({ method: 'POST', url: '/healthz' })
  t.equal(health.statusCode, 405, 'health routes too')
})

t.test('bad input gets a one-line 4xx, never a 500', async (t) => {
  const { app } = await testApp()
  t.teardown(() => app.close())
  const cases: [string, number, string][] = [
    ['/extensions/%zz', 400, 'Bad Request: path has an invalid percent-encoding\n'],
    ['/extensions/%C3%28.raw', 400, 'Bad Request: path is not valid UTF-8 once decoded\n'],
    ['/extensions/a%00b', 400, 'Bad Request: path contains a control character\n'],
    ['/extensions/a%0d%0aSet-Cookie:x', 400, 'Bad Request: path contains a control character\n'],
    [
      `/extensions/${'a'.repeat(5_000)}`,
      414,
      'URI Too Long: request target is longer than 4096 bytes\n',
    ],
  ]
  for (const [url, status, body] of cases) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, status, url.slice(0, 40))
    t.equal(res.body, body)
    t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.headers.location, undefined)
  }
})

t.test('a 4xx that quotes the target stays one line, whatever the target holds', async (t) => {
  // A real Fastify with our handler, and a client error quoting raw input, as the router's does.
  const app = fastify({ logger: false })
  app.setErrorHandler(errorHandler)
  app.get('/quote', async () => {
    const quoted = "'/x?a\nb\r\u0000\u0085\u2028\u007f'"
    throw Object.assign(new Error(`${quoted} is not a valid url component`), { statusCode: 400 })
  })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/quote' })
  t.equal(res.statusCode, 400)
  t.equal(
    res.body,
    "Bad Request: '/x?a%0Ab%0D%00%C2%85%E2%80%A8%7F' is not a valid url component\n",
  )
})

t.test('an oversized body is refused before anything runs', async (t) => {
  const { app } = await testApp()
  t.teardown(() => app.close())
  const res = await app.inject({
    method: 'POST',
    url: '/x',
    payload: 'a'.repeat(70_000),
    headers: { 'content-type': 'text/plain' },
  })
  t.equal(res.statusCode, 413)
  t.equal(res.body, 'Payload Too Large: Request body is too large\n')
})

t.test('adversarial paths are answered quickly through the whole app', async (t) => {
  const { app } = await testApp()
  t.teardown(() => app.close())
  const cases: [string, number][] = [
    [`/extensions/${'-'.repeat(4_000)}.raw`, 302],
    [`/extensions/${'x-/'.repeat(1_300)}x-x86-64.raw`, 302],
    [`/extensions/${'x86-64-'.repeat(580)}.raw`, 302],
    [`/${'a/'.repeat(2_000)}`, 302],
    [`/extensions/${'-'.repeat(8_192)}.raw`, 414],
    [`/${'a/'.repeat(10_000)}`, 414],
  ]
  for (const [url, status] of cases) {
    const started = performance.now()
    const res = await app.inject({ url })
    const elapsed = performance.now() - started
    t.equal(res.statusCode, status)
    t.ok(elapsed < 1_000, `${url.length} chars in ${elapsed.toFixed(1)} ms`)
  }
})

t.test('health and readiness', async (t) => {
  const { app } = await testApp()
  const health = await app.inject({ url: '/healthz' })
  t.equal(health.statusCode, 200)
  t.equal(health.body, 'ok\n')
  t.equal((await app.inject({ method: 'HEAD', url: '/healthz' })).statusCode, 200)
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 503, 'not ready before listening')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.equal(ready.body, 'ready\n')
  await app.close()
})

t.test('one JSON log line per request, with what an operator needs', async (t) => {
  const { app, logs } = await testApp()
  t.teardown(() => app.close())
  await app.inject({
    url: '/extensions/kubernetes/SHA256SUMS?x=1',
    headers: { 'user-agent': 'systemd-pull/257' },
  })
  await app.inject({ url: `/${'b'.repeat(2_000)}` })
  await app.inject({ url: '/%zz' })
  const lines = logs.filter((line) => line.msg === 'request')
  t.equal(lines.length, 3, 'exactly one line each')
  t.match(lines[0], {
    method: 'GET',
    path: '/extensions/kubernetes/SHA256SUMS?x=1',
    rule: 'extension-index',
    status: 302,
    location: `${REL}/kubernetes/SHA256SUMS`,
    durationMs: Number,
    client: '127.0.0.1',
    userAgent: 'systemd-pull/257',
    reqId: String,
  })
  t.equal((lines[1]?.path as string).length, 1_025, 'long paths are cut in the log')
  t.match(lines[1], { rule: 'fallback' })
  t.match(lines[2], { status: 400, rule: null })
  t.equal(logs.length, 3, 'and nothing else per request')
})

t.test('an unexpected error is a bare 500 with no detail, logged in full', async (t) => {
  // A real Fastify with our handler, and routes that fail the way bugs do.
  const app = fastify({ logger: false })
  app.setErrorHandler(errorHandler)
  app.get('/bug', async () => {
    throw new Error('secret internals at /srv/app.js:1')
  })
  app.get('/misfiled', async () => {
    throw new RedirectorError('SR_TABLE_INVALID', 'not a client error')
  })
  app.get('/gateway', async () => {
    throw Object.assign(new Error('upstream said no'), { statusCode: 502 })
  })
  t.teardown(() => app.close())
  for (const url of ['/bug', '/misfiled', '/gateway']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 500, url)
    t.equal(res.body, 'internal error\n')
  }
})

t.test('without a logger given, the app logs JSON at LOG_LEVEL', async (t) => {
  const config = parseConfig({ ...OFFLINE, LOG_LEVEL: 'warn' })
  const table = await loadTable(DEFAULT_TABLE_FILE, (table) => originsOf(config, table))
  const app = await buildApp({ config, table })
  t.teardown(() => app.close())
  t.equal(app.log.level, 'warn')
  t.equal((await app.inject({ url: '/extensions/kubernetes.conf' })).statusCode, 302)
})
