import type { AddressInfo } from 'node:net'
import t from 'tap'
import { testApp } from '../helpers/app.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { exchange } from '../helpers/raw-http.js'

t.test('every kind of answer: no banner, nosniff, and text bodies as plain text', async (t) => {
  const github = await startFakeGitHub({
    assets: { 'kubernetes-v1.32.2': { 'kubernetes-v1.32.2-x86-64.raw': 'image' } },
  })
  t.teardown(() => github.close())
  const { app } = await testApp({
    GITHUB_URL: github.url,
    UPSTREAM_CHECKS: 'true',
    RATE_LIMIT_MAX: '12',
  })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const cases: [string, string, number][] = [
    ['GET', '/extensions/kubernetes-v1.32.2-x86-64.raw', 302],
    ['HEAD', '/extensions/kubernetes-v1.32.2-x86-64.raw', 302],
    ['GET', '/docs/', 302],
    ['GET', '/extensions/kubernetes-v9.9.9-x86-64.raw', 404],
    ['POST', '/extensions/SHA256SUMS', 405],
    ['GET', '/extensions/%zz', 400],
    ['GET', '/extensions/a%00b', 400],
    ['GET', '/healthz', 200],
    ['GET', '/readyz', 200],
  ]
  for (const [method, path, status] of cases) {
    const res = await exchange(
      port,
      `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    )
    const what = `${method} ${path}`
    t.equal(res.status, status, what)
    t.notOk(res.headers.server, `${what}: no Server header`)
    t.notOk(res.headers['x-powered-by'], `${what}: no X-Powered-By`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
    if (status === 302) {
      t.equal(res.body, '', `${what}: a redirect has no body`)
      t.notOk(res.headers['content-type'], `${what}: and so no type`)
    } else if (method !== 'HEAD') {
      t.equal(res.headers['content-type'], 'text/plain; charset=utf-8', `${what}: plain text`)
      t.equal(
        res.headers['cache-control'] === 'no-store' || status === 404,
        true,
        `${what}: not cached (a 404 may be, briefly)`,
      )
      t.match(res.body, /^[^\n]+\n$/, `${what}: one line`)
      t.notMatch(
        res.body,
        /\bat \S+:\d+|Error:|node_modules|\/src\//,
        `${what}: no stack or internals`,
      )
    }
  }
  // Six answers above were counted (not the probes, not the router's 400); six more reach 12.
  for (let i = 0; i < 6; i++)
    await exchange(port, 'GET /docs/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const limited = await exchange(
    port,
    'GET /docs/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  )
  t.equal(limited.status, 503, 'the rate-limit refusal')
  t.equal(limited.headers['x-content-type-options'], 'nosniff')
  t.equal(limited.headers['content-type'], 'text/plain; charset=utf-8')
  t.notOk(limited.headers.server)
})
