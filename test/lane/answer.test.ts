import type { Socket } from 'node:net'
import t from 'tap'
import { originsOf, parseConfig } from '../../src/config/service.js'
import { MAX_REQUESTS_PER_CONNECTION } from '../../src/protection/connection-cap.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { bakeryAssets, ONLINE } from '../helpers/bakery.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { openSocket, type RawResponse } from '../helpers/raw-http.js'
import { request, served } from '../helpers/lane.js'
import { KEPT_BODY_MAX, responseBytes } from '../../src/lane/answer.js'
import { TestClock } from '../helpers/upstream.js'
import { waitUntil } from '../helpers/wait.js'

/**
 * The redirect lane inside the real app: it must answer exactly what the
 * Fastify route answers (status, headers, log line, metrics), take only what
 * it may, and share the rate limit with Fastify. Whether the lane or Fastify
 * answered is told by app.redirectLane.size: a connection the lane answered
 * stays the lane's; one it handed over is Node's.
 */

/** A response without its Date line, which changes by the second. */
const undated = (response: RawResponse): string => response.raw.replace(/^Date: .*\r\n/m, '')

/** A log line without what differs from run to run. */
function comparable(line: Record<string, unknown> | undefined): Record<string, unknown> {
  const varying = new Set(['time', 'durationMs', 'reqId', 'pid'])
  return Object.fromEntries(Object.entries(line ?? {}).filter(([key]) => !varying.has(key)))
}

const lastRequestLine = async (
  logs: Record<string, unknown>[],
): Promise<Record<string, unknown>> => {
  await waitUntil(() => logs.some((line) => line.msg === 'request'))
  const lines = logs.filter((line) => line.msg === 'request')
  logs.length = 0
  return lines.at(-1) as Record<string, unknown>
}

t.test(
  'every table example and fallback: the same answer and log line, lane on or off',
  async (t) => {
    const lane = await served(t)
    const plain = await served(t, { REDIRECT_LANE: 'false' })
    t.equal(plain.app.redirectLane, null, 'REDIRECT_LANE=false: no lane')
    const config = parseConfig({})
    const table = await loadTable(DEFAULT_TABLE_FILE, (table) => originsOf(config, table))
    const paths = [
      ...table.rules.flatMap((rule) => rule.examples.map((example) => example.path)),
      ...table.unmatched.map((example) => example.path),
      '/extensions/kubernetes-v1.32.2-x86-64.raw?from=ignition',
      '/extensions//kubernetes/./SHA256SUMS',
      '/docs/%C3%A9t%C3%A9/',
      '/',
    ]
    t.ok(paths.length > 10)
    for (const path of paths) {
      for (const method of ['GET', 'HEAD']) {
        const fast = await lane.ask(request(path, method))
        const slow = await plain.ask(request(path, method))
        t.ok(fast.lane, `${method} ${path}: answered by the lane`)
        t.equal(undated(fast.response), undated(slow.response), `${method} ${path}: same bytes`)
        const fastLine = await lastRequestLine(lane.logs)
        const slowLine = await lastRequestLine(plain.logs)
        t.same(comparable(fastLine), comparable(slowLine), `${method} ${path}: same log line`)
        t.same(Object.keys(fastLine), Object.keys(slowLine), 'in the same order')
        t.match(fastLine.reqId, /^req-[0-9a-z]+$/)
      }
    }
  },
)

t.test('request ids are one sequence, whichever path answered', async (t) => {
  const { ask, logs } = await served(t)
  await ask(request('/extensions/kubernetes.conf'))
  await ask(request('/extensions/kubernetes.conf', 'GET', 'Connection: close\r\n'))
  await ask(request('/extensions/kubernetes.conf'))
  await waitUntil(() => logs.filter((line) => line.msg === 'request').length === 3)
  const ids = logs.filter((line) => line.msg === 'request').map((line) => line.reqId)
  t.same(ids, ['req-1', 'req-2', 'req-3'])
})

t.test('what the lane leaves to Fastify, with the same answer either way', async (t) => {
  const lane = await served(t)
  const plain = await served(t, { REDIRECT_LANE: 'false' })
  const cases = [
    request('/healthz'),
    request('/readyz'),
    request('/extensions/kubernetes.conf', 'POST', 'Content-Length: 0\r\n'),
    request('/extensions/kubernetes.conf', 'OPTIONS'),
    request('/extensions/%zz'),
    request('/extensions/a%00b.raw'),
    request(`/${'a'.repeat(5000)}`),
    request('/extensions/kubernetes.conf', 'GET', 'Connection: close\r\n'),
    request('/extensions/kubernetes.conf', 'GET', 'Expect: the-unexpected\r\n'),
    'GET /extensions/kubernetes.conf HTTP/1.0\r\nHost: x\r\n\r\n',
    'GET /extensions/kubernetes.conf HTTP/1.1\r\n\r\n',
    'GET http://x/extensions/kubernetes.conf HTTP/1.1\r\nHost: x\r\n\r\n',
  ]
  for (const raw of cases) {
    const fast = await lane.ask(raw)
    const slow = await plain.ask(raw)
    const line = raw.slice(0, raw.indexOf('\r\n')).slice(0, 60)
    t.notOk(fast.lane, `${line}: Fastify's`)
    t.equal(fast.response.status, slow.response.status, `${line}: ${slow.response.status}`)
    t.equal(fast.response.body, slow.response.body)
  }
})

t.test(
  'newest-version names: the lane answers them once memory holds what they need',
  async (t) => {
    // The index is on and GitHub unreachable: nothing to read from memory at first.
    const lane = await served(t, { MANIFEST_INDEX: 'true', GITHUB_URL: 'http://127.0.0.1:9' })
    const first = await lane.ask(request('/extensions/kubernetes.raw'))
    t.same([first.lane, first.response.status], [false, 503], 'Fastify waits for the index: 503')
    // The failure is remembered for INDEX_RETRY: now memory can say that the
    // exact name is the table's (an index that cannot answer changes nothing).
    const exact = await lane.ask(request('/extensions/kubernetes-v1.32.2-x86-64.raw'))
    t.same([exact.lane, exact.response.status], [true, 302])
    const again = await lane.ask(request('/extensions/kubernetes.raw'))
    t.same([again.lane, again.response.status], [false, 503], 'a 503 is never the lane’s')
    for (const path of ['/extensions/', '/extensions/kubernetes/']) {
      t.notOk((await lane.ask(request(path))).lane, `${path}: directory pages are Fastify's`)
    }
    const { lane: taken } = await lane.ask(request('/extensions/kubernetes/SHA256SUMS'))
    t.ok(taken, 'other paths are the lane’s')
  },
)

t.test('newest-version names from fresh manifests and a confirmed image: the lane’s', async (t) => {
  const github = await startFakeGitHub({ assets: bakeryAssets() })
  t.teardown(() => github.close())
  const lane = await served(t, { ...ONLINE, GITHUB_URL: github.url })
  const plain = await served(t, { ...ONLINE, GITHUB_URL: github.url, REDIRECT_LANE: 'false' })
  for (const path of ['/extensions/kubernetes-v1.32-arm64.raw', '/extensions/docker.raw']) {
    const cold = await lane.ask(request(path))
    t.notOk(cold.lane, `${path}: cold, Fastify's`)
    const warm = await lane.ask(request(path))
    t.ok(warm.lane, `${path}: warm, the lane's`)
    const slow = await plain.ask(request(path))
    t.equal(undated(warm.response), undated(slow.response), `${path}: the same bytes`)
  }
})

t.test(
  'snapshot files held fresh: the lane’s, byte for byte; a validator: Fastify’s',
  async (t) => {
    const github = await startFakeGitHub({ assets: bakeryAssets() })
    t.teardown(() => github.close())
    // Binary bytes, every value a byte can take: the lane writes them as they are.
    const signature = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    github.addAsset('kubernetes', 'SHA256SUMS.gpg', signature)
    const lane = await served(t, { ...ONLINE, GITHUB_URL: github.url })
    const plain = await served(t, { ...ONLINE, GITHUB_URL: github.url, REDIRECT_LANE: 'false' })
    const paths = [
      '/extensions/kubernetes/SHA256SUMS',
      '/extensions/kubernetes/SHA256SUMS.gpg',
      '/extensions/kubernetes.conf',
      '/extensions/SHA256SUMS',
    ]
    for (const path of paths) {
      for (const method of ['GET', 'HEAD']) {
        await lane.ask(request(path, method))
        const warm = await lane.ask(request(path, method))
        t.ok(warm.lane, `${method} ${path}: warm, the lane's`)
        t.equal(warm.response.status, 200)
        const slow = await plain.ask(request(path, method))
        t.equal(undated(warm.response), undated(slow.response), `${method} ${path}: the same bytes`)
      }
    }
    const gpg = await lane.ask(request('/extensions/kubernetes/SHA256SUMS.gpg'))
    t.same(Buffer.from(gpg.response.body, 'latin1'), signature, 'binary bytes intact')
    const etag = String(gpg.response.headers.etag)
    const conditional = await lane.ask(
      request('/extensions/kubernetes/SHA256SUMS.gpg', 'GET', `If-None-Match: ${etag}\r\n`),
    )
    t.notOk(conditional.lane, 'a validator: the route decides')
    t.equal(conditional.response.status, 304)
  },
)

t.test(
  'a manifest adopted without what never came: the lane says so as the route does',
  async (t) => {
    const github = await startFakeGitHub({ assets: bakeryAssets() })
    t.teardown(() => github.close())
    // Held back for nothing: a new revision lacking a file is adopted without it at once.
    const env = { ...ONLINE, GITHUB_URL: github.url, SNAPSHOT_HOLD_MAX: '0s' }
    const [laneClock, plainClock] = [new TestClock(), new TestClock()]
    const lane = await served(t, env, { clock: laneClock })
    const plain = await served(t, { ...env, REDIRECT_LANE: 'false' }, { clock: plainClock })
    const path = '/extensions/docker/SHA256SUMS'
    for (const app of [lane, plain]) await app.ask(request(path))
    const missing = 'docker-29.0.0-x86-64.raw'
    github.addAsset(
      'docker',
      'SHA256SUMS',
      `${bakeryAssets().docker?.SHA256SUMS}${'b'.repeat(64)}  ${missing}\n`,
    )
    for (const [app, clock] of [
      [lane, laneClock],
      [plain, plainClock],
    ] as const) {
      clock.advance(10 * 60_000)
      await app.ask(request(path)) // the held copy, read again behind it
      await app.app.snapshots.get('bakery')?.settled()
    }
    const fast = await lane.ask(request(path))
    t.ok(fast.lane, 'the lane’s')
    t.equal(fast.response.headers['x-snapshot-omitted'], missing)
    const slow = await plain.ask(request(path))
    t.equal(undated(fast.response), undated(slow.response), 'the same bytes as the route')
  },
)

t.test('with upstream checks: the lane answers only what the cache knows exists', async (t) => {
  const github = await startFakeGitHub()
  t.teardown(() => github.close())
  github.addAsset('kubernetes-v1.32.2', 'kubernetes-v1.32.2-x86-64.raw', 'image')
  const { ask, app } = await served(t, {
    UPSTREAM_CHECKS: 'true',
    GITHUB_URL: github.url,
  })
  const image = request('/extensions/kubernetes-v1.32.2-x86-64.raw')
  const missing = request('/extensions/kubernetes-v9.9.9-x86-64.raw')
  const first = await ask(image)
  t.equal(first.response.status, 302)
  t.notOk(first.lane, 'a cold target goes to Fastify, which checks it')
  const second = await ask(image)
  t.equal(second.response.status, 302)
  t.ok(second.lane, 'a known one is the lane’s')
  t.equal(github.count('HEAD', 'kubernetes-v1.32.2', 'kubernetes-v1.32.2-x86-64.raw'), 1)
  for (let i = 0; i < 2; i++) {
    const gone = await ask(missing)
    t.equal(gone.response.status, 404, 'a missing asset: 404, from Fastify')
    t.notOk(gone.lane)
  }
  const text = await app.metrics.registry.metrics()
  t.match(text, /upstream_cache_lookups_total\{result="hit"\} 2\n/, 'a hit each: lane and Fastify')
  t.match(text, /upstream_cache_lookups_total\{result="miss"\} 2\n/, 'a miss each: first asks')
  t.match(
    text,
    /requests_total\{rule="raw",status="302"\} 2\n/,
    'the lane’s answers are counted as Fastify’s are',
  )
  t.match(
    text,
    /downloads_total\{source="bakery",extension="kubernetes",version="v1.32.2",arch="x86-64"\} 2\n/,
  )
})

t.test('the lane and Fastify share each client’s rate limit', async (t) => {
  const { ask } = await served(t, { RATE_LIMIT_MAX: '3' })
  const conf = request('/extensions/kubernetes.conf')
  t.ok((await ask(conf)).lane, '1: the lane')
  t.notOk((await ask(request('/extensions/kubernetes.conf', 'GET', 'Connection: close\r\n'))).lane)
  t.ok((await ask(conf)).lane, '3: the lane')
  const refused = await ask(conf)
  t.equal(refused.response.status, 503, '4: over the limit, whoever counted the others')
  t.notOk(refused.lane, 'refused by Fastify')
  t.match(refused.response.body, /too many requests/)
  t.ok(Number(refused.response.headers['retry-after']) > 0)
})

t.test('allowlisted clients are not counted by the lane', async (t) => {
  const { ask } = await served(t, { RATE_LIMIT_MAX: '1', RATE_LIMIT_ALLOWLIST: '127.0.0.0/8' })
  for (let i = 0; i < 5; i++) {
    const { response, lane } = await ask(request('/extensions/kubernetes.conf'))
    t.equal(response.status, 302)
    t.ok(lane)
  }
})

t.test('behind Fly, the lane logs and counts the address Fly saw', async (t) => {
  const { ask, logs } = await served(t, { TRUST_PROXY: 'fly', RATE_LIMIT_MAX: '1' })
  await ask(request('/extensions/kubernetes.conf', 'GET', 'Fly-Client-IP: 203.0.113.7\r\n'))
  t.equal((await lastRequestLine(logs)).client, '203.0.113.7')
  const other = await ask(
    request('/extensions/kubernetes.conf', 'GET', 'Fly-Client-IP: 203.0.113.8\r\n'),
  )
  t.equal(other.response.status, 302, 'another client has its own count')
  await lastRequestLine(logs)
  await ask(request('/extensions/kubernetes.conf', 'GET', 'Fly-Client-IP: not-an-address\r\n'))
  t.equal((await lastRequestLine(logs)).client, '127.0.0.1', 'no address: the peer')
})

t.test('every connection ends after the same number of requests, whoever answered', async (t) => {
  const lane = await served(t)
  const plain = await served(t, { REDIRECT_LANE: 'false' })
  const max = MAX_REQUESTS_PER_CONNECTION
  const redirect = request('/extensions/kubernetes.conf')
  // All the lane's; handed to Node by its first request; Node's throughout.
  const runs = [
    { port: lane.port, first: redirect },
    { port: lane.port, first: request('/healthz') },
    { port: plain.port, first: redirect },
  ]
  const seen: string[][] = []
  for (const { port, first } of runs) {
    const socket: Socket = await openSocket(port)
    socket.on('error', () => undefined)
    let got = ''
    socket.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')))
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.write(first + redirect.repeat(max + 9))
    await closed
    const heads = got.split('HTTP/1.1 ').slice(1)
    t.equal(heads.length, max, 'answered up to the cap, the rest left unread')
    t.match(heads.at(-1), /\r\nConnection: close\r\n\r\n$/, 'the last one says so')
    t.notMatch(heads.at(-2), /Connection: close/)
    seen.push(heads.slice(1).map((head) => head.replace(/^Date: .*\r\n/m, '')))
  }
  // The lane's own count to the cap: batches small enough that no head is split.
  const socket: Socket = await openSocket(lane.port)
  socket.on('error', () => undefined)
  let got = ''
  socket.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  for (let sent = 0; sent < max + 10; sent += 50) {
    socket.write(redirect.repeat(50))
    await waitUntil(
      () => got.split('HTTP/1.1 ').length - 1 >= Math.min(sent + 50, max) || socket.destroyed,
    )
  }
  await closed
  const own = got.split('HTTP/1.1 ').slice(1)
  t.equal(own.length, max)
  t.equal(lane.app.redirectLane?.size, 0)
  seen.push(own.slice(1).map((head) => head.replace(/^Date: .*\r\n/m, '')))
  t.same(seen[3], seen[2], 'the lane alone, to the cap: the same bytes as Node')
  t.same(seen[0], seen[2], 'the lane and Node write the same bytes')
  t.same(seen[1], seen[2])
  const { lane: again } = await lane.ask(redirect)
  t.ok(again, 'and a new connection meets the lane')
})

t.test('a kept answer is made once per second and method, and dated by the second', async (t) => {
  const parts = {
    before: 'HTTP/1.1 200 OK\r\nDate: ',
    keep: '\r\nConnection: keep-alive\r\n\r\n',
    close: '\r\nConnection: close\r\n\r\n',
    body: 'bytes',
    dated: '',
    kept: {},
  }
  const monday = 'Mon, 07 Dec 2026 10:00:00 GMT'
  const later = 'Mon, 07 Dec 2026 10:00:01 GMT'
  const first = responseBytes(parts, 'GET', false, monday)
  t.equal(first, `${parts.before}${monday}${parts.keep}bytes`)
  t.equal(responseBytes(parts, 'GET', false, monday), first, 'the same second: the same string')
  t.equal(responseBytes(parts, 'HEAD', false, monday), `${parts.before}${monday}${parts.keep}`)
  t.equal(responseBytes(parts, 'GET', false, later), `${parts.before}${later}${parts.keep}bytes`)
  t.equal(responseBytes(parts, 'HEAD', false, later), `${parts.before}${later}${parts.keep}`)
  t.equal(
    responseBytes(parts, 'GET', true, later),
    `${parts.before}${later}${parts.close}bytes`,
    'the last answer on a connection says close',
  )
  t.equal(responseBytes(parts, 'GET', false, later), `${parts.before}${later}${parts.keep}bytes`)
  const big = { ...parts, body: 'x'.repeat(KEPT_BODY_MAX + 1), dated: '', kept: {} }
  t.equal(responseBytes(big, 'GET', false, monday), `${big.before}${monday}${big.keep}${big.body}`)
  t.same(big.kept, {}, 'a big body is not kept twice')
  t.equal(responseBytes(big, 'HEAD', false, monday), `${big.before}${monday}${big.keep}`)
  t.same(Object.keys(big.kept), ['HEAD'], 'its HEAD answer is')
})
