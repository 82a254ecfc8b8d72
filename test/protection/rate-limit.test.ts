import type { AddressInfo } from 'node:net'
import t from 'tap'
import { testApp } from '../helpers/app.js'
import { storeBreaker } from '../../src/protection/rate-limit.js'
import { TestClock } from '../helpers/upstream.js'

// No upstream checks: these tests are about who may ask, not what exists.
const ENV = { UPSTREAM_CHECKS: 'false' }
const PATH = '/extensions/kubernetes/SHA256SUMS'

async function limitedApp(env: Record<string, string> = {}) {
  const { app, logs } = await testApp({ ...ENV, RATE_LIMIT_MAX: '3', ...env })
  const get = (remoteAddress = '203.0.113.1', url = PATH, headers: Record<string, string> = {}) =>
    app.inject({ url, remoteAddress, headers })
  return { app, logs, get }
}

async function metric(
  app: Awaited<ReturnType<typeof testApp>>['app'],
  name: string,
): Promise<number> {
  const found = (await app.metrics.registry.getSingleMetric(name)?.get())?.values ?? []
  return found.reduce((sum, value) => sum + value.value, 0)
}

t.test('over the limit: 503 with Retry-After and a one-line text body', async (t) => {
  const { app, get } = await limitedApp()
  t.teardown(() => app.close())
  for (let i = 1; i <= 3; i++) {
    const res = await get()
    t.equal(res.statusCode, 302, `request ${i} of 3 is served`)
    t.notOk(res.headers['x-ratelimit-remaining'], 'no per-client headers on a shareable redirect')
  }
  const res = await get()
  t.equal(res.statusCode, 503, 'Ignition retries a 5xx; a 4xx would fail provisioning')
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} is within the minute`)
  t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(
    res.headers['cache-control'],
    'no-store',
    'no cache may hand one client’s refusal to another',
  )
  t.equal(
    res.body,
    `Service Unavailable: too many requests from this client; retry in ${retryAfter} s\n`,
  )
  t.notOk(res.headers.location)
  t.equal((await get()).statusCode, 503, 'and stays refused for the window')
  t.equal(await metric(app, 'sysext_redirector_rate_limited_total'), 2, 'both refusals counted')
})

t.test('RATE_LIMIT_STATUS=429 switches the status', async (t) => {
  const { app, get } = await limitedApp({ RATE_LIMIT_STATUS: '429' })
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) await get()
  const res = await get()
  t.equal(res.statusCode, 429)
  t.ok(Number(res.headers['retry-after']) >= 1)
  t.match(res.body, /^Too Many Requests: too many requests from this client; retry in \d+ s\n$/)
})

t.test('each client has its own count; an IPv6 client is its /64', async (t) => {
  const { app, get } = await limitedApp()
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) t.equal((await get('203.0.113.1')).statusCode, 302)
  t.equal((await get('203.0.113.1')).statusCode, 503)
  t.equal((await get('203.0.113.2')).statusCode, 302, 'a neighbour is not limited')
  t.equal(
    (await get('::ffff:203.0.113.1')).statusCode,
    503,
    'the same client seen through a dual-stack socket',
  )
  for (let i = 1; i <= 3; i++) t.equal((await get(`2001:db8:1:2::${i}`)).statusCode, 302)
  t.equal(
    (await get('2001:db8:1:2:ffff::9')).statusCode,
    503,
    'a fresh address in the same /64 does not escape',
  )
  t.equal((await get('2001:db8:1:3::1')).statusCode, 302, 'the next /64 is another client')
})

t.test('every method and path counts, except the probes', async (t) => {
  const { app, get } = await limitedApp()
  t.teardown(() => app.close())
  await app.inject({ method: 'POST', url: PATH, remoteAddress: '203.0.113.1' })
  await app.inject({ method: 'HEAD', url: '/docs/', remoteAddress: '203.0.113.1' })
  await get('203.0.113.1', '/extensions/a%00b.raw')
  const res = await app.inject({ method: 'DELETE', url: '/x', remoteAddress: '203.0.113.1' })
  t.equal(
    res.statusCode,
    503,
    '405s, fallbacks and 400s all counted: the fourth request is refused',
  )
  for (const url of ['/healthz', '/readyz', '/healthz?probe=1']) {
    for (let i = 0; i < 5; i++) {
      const probe = await get('203.0.113.1', url)
      t.notMatch(probe.body, /too many requests/, `${url} ${i}: exempt`)
      t.notOk(probe.headers['retry-after'])
    }
  }
  t.equal(await metric(app, 'sysext_redirector_rate_limited_total'), 1)
})

t.test(
  'a target the router cannot decode is answered 400 before any hook: not counted',
  async (t) => {
    const { app, get } = await limitedApp()
    t.teardown(() => app.close())
    for (let i = 0; i < 10; i++) {
      const res = await get('203.0.113.1', '/extensions/%C3%28.raw')
      t.equal(res.statusCode, 400, 'cheap to answer, so left unlimited')
    }
    t.equal(
      (await get('203.0.113.1')).statusCode,
      302,
      'and it used up none of the client’s allowance',
    )
  },
)

t.test('allowlisted ranges are never limited, IPv4 and IPv6', async (t) => {
  const { app, get } = await limitedApp({
    RATE_LIMIT_ALLOWLIST: '198.51.100.0/24 2001:db8:ff::/48',
  })
  t.teardown(() => app.close())
  for (const address of ['198.51.100.7', '::ffff:198.51.100.8', '2001:db8:ff:1::1']) {
    for (let i = 0; i < 10; i++) t.equal((await get(address)).statusCode, 302, `${address} ${i}`)
  }
  for (let i = 0; i < 3; i++) await get('198.51.101.1')
  t.equal((await get('198.51.101.1')).statusCode, 503, 'just outside the range is limited')
})

t.test('RATE_LIMIT_MAX=0 turns limiting off', async (t) => {
  const { app, get } = await limitedApp({ RATE_LIMIT_MAX: '0' })
  t.teardown(() => app.close())
  for (let i = 0; i < 50; i++) t.equal((await get()).statusCode, 302)
  t.notOk(app.hasDecorator('createRateLimit'), 'the plugin is not even registered')
})

t.test('the default limit is generous for a fleet behind one NAT', async (t) => {
  const { app } = await testApp(ENV)
  t.teardown(() => app.close())
  let served = 0
  for (let i = 0; i < 2000; i++) {
    const res = await app.inject({
      url: `/extensions/ext${i % 50}/SHA256SUMS`,
      remoteAddress: '192.0.2.1',
    })
    if (res.statusCode === 302) served++
  }
  t.equal(served, 2000, '2000 requests in well under a minute from one address, all served')
})

t.test('TRUST_PROXY=fly: the client is Fly-Client-IP, and request.ip agrees', async (t) => {
  const { app, logs, get } = await limitedApp({ TRUST_PROXY: 'fly' })
  t.teardown(() => app.close())
  const viaFly = (client: string) => get('172.16.0.2', PATH, { 'fly-client-ip': client })
  for (let i = 0; i < 3; i++) t.equal((await viaFly('203.0.113.50')).statusCode, 302)
  t.equal((await viaFly('203.0.113.50')).statusCode, 503, 'limited by the header’s address')
  t.equal(
    (await viaFly('203.0.113.51')).statusCode,
    302,
    'not by the proxy’s: another client behind it is served',
  )
  const lines = logs.filter((line) => line.msg === 'request')
  t.same(
    lines.map((line) => line.client),
    ['203.0.113.50', '203.0.113.50', '203.0.113.50', '203.0.113.50', '203.0.113.51'],
    'the request log names the same client',
  )
  // A request that did not come through Fly's proxy (or a broken header) is the socket's.
  for (let i = 0; i < 3; i++) t.equal((await get('172.16.0.9')).statusCode, 302)
  t.equal((await get('172.16.0.9', PATH, { 'fly-client-ip': 'not-an-ip' })).statusCode, 503)
  t.equal(logs.filter((line) => line.msg === 'request').at(-1)?.client, '172.16.0.9')
})

t.test(
  'TRUST_PROXY=false (the default): Fly-Client-IP is whatever a client typed, ignored',
  async (t) => {
    const { app, logs, get } = await limitedApp()
    t.teardown(() => app.close())
    for (let i = 0; i < 3; i++)
      await get('203.0.113.1', PATH, { 'fly-client-ip': `198.51.100.${i}` })
    t.equal(
      (await get('203.0.113.1', PATH, { 'fly-client-ip': '198.51.100.99' })).statusCode,
      503,
      'rotating the header does not help',
    )
    t.equal(logs.filter((line) => line.msg === 'request').at(-1)?.client, '203.0.113.1')
  },
)

t.test('over a real socket, with Fly-Client-IP and IPv6', async (t) => {
  const { app } = await limitedApp({ TRUST_PROXY: 'fly', RATE_LIMIT_MAX: '2' })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const fetchAs = (client: string) =>
    fetch(`http://127.0.0.1:${port}${PATH}`, {
      redirect: 'manual',
      headers: { 'fly-client-ip': client },
    })
  t.equal((await fetchAs('2001:db8::1')).status, 302)
  t.equal((await fetchAs('2001:db8::2')).status, 302)
  const limited = await fetchAs('2001:db8::3')
  t.equal(limited.status, 503)
  t.ok(Number(limited.headers.get('retry-after')) >= 1)
  t.equal(limited.headers.get('x-content-type-options'), 'nosniff')
  t.equal((await fetchAs('2001:db8:0:1::1')).status, 302)
})

t.test(
  'the store breaker says when it stops waiting on Redis, and when Redis is back',
  async (t) => {
    const clock = new TestClock()
    const said: unknown[] = []
    const breaker = storeBreaker(
      {
        warn: (details, message) => said.push([message, details]),
        info: (message) => said.push(message),
      },
      clock,
    )
    for (let i = 0; i < 3; i++) breaker.failed('Command timed out')
    t.match(said, [
      [
        /keeps failing: not waiting on it for a while/,
        { reason: 'Command timed out', seconds: 10 },
      ],
    ])
    t.notOk(breaker.allows())
    clock.advance(10_000)
    t.ok(breaker.allows())
    breaker.succeeded()
    t.equal(said.at(-1), 'rate-limit store answers again: counting resumes')
  },
)
