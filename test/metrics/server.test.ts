import { once } from 'node:events'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Gauge } from 'prom-client'
import t, { type Test } from 'tap'
import { connect } from 'node:net'
import fastify from 'fastify'
import { createMetrics } from '../../src/metrics/metrics.js'
import { closeMetrics, listenMetrics, registerMetrics } from '../../src/metrics/server.js'
import { testApp, type TestApp } from '../helpers/app.js'

async function appWithMetrics(t: Test): Promise<TestApp & { url: string }> {
  const built = await testApp({ UPSTREAM_CHECKS: 'false' })
  t.teardown(() => built.app.close())
  const { port } = await listenMetrics(built.app, { port: 0, host: '127.0.0.1' })
  return { ...built, url: `http://127.0.0.1:${port}` }
}

t.test('GET /metrics: Prometheus text with ours and the process metrics', async (t) => {
  const { app, url, logs } = await appWithMetrics(t)
  await app.inject({ url: '/extensions/kubernetes/SHA256SUMS' })
  const res = await fetch(`${url}/metrics`)
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal(res.headers.get('x-content-type-options'), 'nosniff')
  t.notOk(res.headers.get('server'))
  const body = await res.text()
  t.match(body, /^sysext_redirector_requests_total\{rule="extension-index",status="302"\} 1$/m)
  t.match(body, /^# TYPE sysext_redirector_upstream_check_duration_seconds histogram$/m)
  t.match(body, /^sysext_redirector_upstream_cache_lookups_total\{result="hit"\} 0$/m)
  t.match(body, /^sysext_redirector_rate_limited_total 0$/m)
  t.match(body, /^# TYPE sysext_redirector_downloads_total counter$/m)
  t.match(body, /^process_cpu_user_seconds_total \d/m, 'default process metrics')
  t.match(body, /^process_resident_memory_bytes \d/m)
  t.match(body, /^nodejs_eventloop_lag_seconds /m)
  t.match(body, /^nodejs_heap_size_used_bytes /m)
  t.match(
    logs.find((line) => line.msg === 'metrics listening'),
    { address: '127.0.0.1' },
  )
})

t.test('HEAD, other paths and other methods', async (t) => {
  const { url } = await appWithMetrics(t)
  const head = await fetch(`${url}/metrics?x=1`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(await head.text(), '')
  const other = await fetch(`${url}/`)
  t.equal(other.status, 404)
  t.equal(await other.text(), 'not found: metrics are at /metrics\n')
  t.equal(other.headers.get('content-type'), 'text/plain; charset=utf-8')
  t.equal(other.headers.get('x-content-type-options'), 'nosniff')
  const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x' })
  t.equal(post.status, 405)
  t.equal(post.headers.get('allow'), 'GET, HEAD')
  t.equal(await post.text(), 'method POST is not allowed\n')
})

t.test('the public port does not serve metrics', async (t) => {
  const { app } = await appWithMetrics(t)
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 302, 'just another path of the flat directory')
  t.equal(res.headers.location, 'https://flatcar.github.io/sysext-bakery/metrics')
})

t.test('a collector that fails gives a bare 500, logged', async (t) => {
  const { app, url, logs } = await appWithMetrics(t)
  new Gauge({
    name: 'broken',
    help: 'fails on collection',
    registers: [app.metrics.registry],
    collect() {
      throw new Error('collector broke')
    },
  })
  const res = await fetch(`${url}/metrics`)
  t.equal(res.status, 500)
  t.equal(await res.text(), 'internal error\n')
  t.match(
    logs.find((line) => line.msg === 'metrics collection failed'),
    { level: 50, err: { message: 'collector broke' } },
  )
})

t.test(
  'closing the app closes the metrics listener, idle keep-alive connections too',
  async (t) => {
    const { app, url } = await appWithMetrics(t)
    const agentless = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${url}/metrics`,
        { headers: { connection: 'keep-alive' } },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.on('error', reject)
      req.end()
    })
    t.equal(agentless, 200)
    await app.close()
    await t.rejects(fetch(`${url}/metrics`), 'nothing listens any more')
    await closeMetrics(app)
    t.pass('closing again is harmless')
  },
)

t.test('started once per app; a port in use is an error', async (t) => {
  const { app } = await appWithMetrics(t)
  await t.rejects(listenMetrics(app, { port: 0, host: '127.0.0.1' }), {
    message: 'the metrics listener is already started',
  })
  const taken = createServer()
  taken.listen(0, '127.0.0.1')
  await once(taken, 'listening')
  t.teardown(() => new Promise((resolve) => taken.close(resolve)))
  const other = await testApp({ UPSTREAM_CHECKS: 'false' })
  t.teardown(() => other.app.close())
  await t.rejects(
    listenMetrics(other.app, { port: (taken.address() as AddressInfo).port, host: '127.0.0.1' }),
    {
      code: 'EADDRINUSE',
    },
  )
})

t.test('the app holds its metrics, and closing it closes their listener', async (t) => {
  const app = fastify()
  const metrics = createMetrics()
  registerMetrics(app, metrics)
  await app.ready()
  t.equal(app.metrics, metrics)
  const { port } = await listenMetrics(app, { port: 0, host: '127.0.0.1' })
  await app.close()
  const refused = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => resolve('connected'))
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
  })
  t.equal(refused, 'ECONNREFUSED', 'nothing listens once the app is closed')
})
