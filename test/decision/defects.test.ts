import type { AddressInfo } from 'node:net'
import t from 'tap'
import { runCommand } from '../../src/cli.js'
import { releasesBase } from '../../src/table/resolve.js'
import { testApp } from '../helpers/app.js'
import { startBakery } from '../helpers/bakery.js'
import { openSocket } from '../helpers/raw-http.js'

/**
 * The defects of issue 13 ("One answer per request"), each as it was seen:
 * every test here failed on the code before the decision was made one.
 */

async function explain(path: string, env: Record<string, string> = {}): Promise<string> {
  const out: string[] = []
  const code = await runCommand(['explain', path], env, {
    out: (line) => out.push(line),
    err: (line) => out.push(line),
  })
  t.equal(code, 0)
  return out.join('\n')
}

t.test('1. explain names the layer the service answers with, not the docs site', async (t) => {
  const newest = await explain('/extensions/kubernetes.raw')
  t.match(newest, /^layer {6}newest {2}\/extensions\/\{name\}\.raw: kubernetes\.raw$/m)
  t.match(newest, /^needs {6}the manifest index, to read kubernetes\.raw/m)
  t.notMatch(newest, /fallback takes it/)
  const listing = await explain('/extensions/')
  t.match(listing, /^layer {6}directory {2}\/extensions\/: the listing$/m)
  t.notMatch(listing, /fallback takes it/)
  const off = await explain('/extensions/', { MANIFEST_INDEX: 'false' })
  t.match(off, /fallback takes it/, 'with the index off, the docs site it is')
})

t.test('2. a stream name below the extension path leads where it does at the top', async (t) => {
  const { github, app } = await startBakery(t)
  const rel = releasesBase(github.url, 'flatcar/sysext-bakery')
  for (const url of [
    '/extensions/kubernetes-v1.32-arm64.raw',
    '/extensions/kubernetes/kubernetes-v1.32-arm64.raw',
  ]) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 302, url)
    t.equal(res.headers.location, `${rel}/kubernetes-v1.32.2/kubernetes-v1.32.2-arm64.raw`, url)
  }
  const below = await app.inject('/extensions/kubernetes/kubernetes.raw')
  t.equal(below.headers.location, `${rel}/kubernetes-v1.33.0/kubernetes-v1.33.0-x86-64.raw`)
})

t.test('3. a redirect GitHub could not confirm is short-lived in caches', async (t) => {
  const { github, app } = await startBakery(t)
  github.fault({ kind: 'status', status: 502 })
  for (const url of [
    '/extensions/kubernetes-v1.32-x86-64.raw',
    '/extensions/kubernetes-v1.32.2-x86-64.raw',
  ]) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 302, `${url}: fail open`)
    t.equal(
      res.headers['cache-control'],
      'public, max-age=5',
      `${url}: until GitHub is asked again`,
    )
  }
  github.fault(null)
  const { app: fresh } = await startBakery(t)
  const confirmed = await fresh.inject('/extensions/kubernetes-v1.32.2-x86-64.raw')
  t.equal(confirmed.headers['cache-control'], 'public, max-age=86400', 'confirmed: kept long')
})

/** Every status line a raw exchange got, in order. */
async function statuses(port: number, text: string): Promise<number[]> {
  const socket = await openSocket(port)
  socket.on('error', () => undefined)
  let got = ''
  socket.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')))
  const closed = new Promise((resolve) => socket.once('close', resolve))
  socket.end(text)
  await closed
  return [...got.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]))
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`

t.test('4. a connection handed to Node answers every pipelined request', async (t) => {
  for (const lane of ['true', 'false']) {
    const { app } = await testApp({ REDIRECT_LANE: lane, RATE_LIMIT_MAX: '0' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => app.close())
    const { port } = app.server.address() as AddressInfo
    const got = await statuses(
      port,
      get('/healthz') + get('/extensions/kubernetes.conf').repeat(150),
    )
    t.same(got, [200, ...Array<number>(150).fill(302)], `REDIRECT_LANE=${lane}`)
  }
})

t.test('5. lane and Node differ only where docs/design.md says', async (t) => {
  const answers: Record<string, number[]> = {}
  for (const lane of ['true', 'false']) {
    const { app } = await testApp({ REDIRECT_LANE: lane })
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => app.close())
    const { port } = app.server.address() as AddressInfo
    answers[lane] = await statuses(
      port,
      get('/extensions/kubernetes.conf') + 'GET /\x01 HTTP/1.1\r\n\r\n',
    )
  }
  // docs/design.md, "The redirect lane": a valid request before a malformed one in the same
  // segment is answered by the lane; Node's parser refuses the whole segment.
  t.same(answers, { true: [302, 400], false: [400] })
})

t.test(
  '6. a request with a body, handed to Node, then garbage: as docs/design.md says',
  async (t) => {
    const answers: Record<string, number[]> = {}
    const withBody =
      'GET /extensions/kubernetes.conf HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc'
    for (const lane of ['true', 'false']) {
      const { app } = await testApp({ REDIRECT_LANE: lane })
      await app.listen({ port: 0, host: '127.0.0.1' })
      t.teardown(() => app.close())
      const { port } = app.server.address() as AddressInfo
      answers[lane] = await statuses(port, withBody + 'GET /\x01 HTTP/1.1\r\n\r\n')
    }
    // Issue 29, finding 4 (docs/redirect-lane.md): the lane hands Node the segment back whole;
    // Node meets the malformed request before it has written the first answer.
    t.same(answers, { true: [400], false: [302, 400] })
  },
)
