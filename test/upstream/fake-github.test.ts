import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t, { type Test } from 'tap'
import { Agent, request, type Dispatcher } from 'undici'
import {
  assetsFromFixture,
  seededBytes,
  startFakeGitHub,
  type FakeGitHub,
} from '../helpers/fake-github.js'
import { CHILD_ARGS } from '../helpers/process.js'
import { waitUntil } from '../helpers/wait.js'

const REL = '/flatcar/sysext-bakery/releases/download'

async function get(
  github: FakeGitHub,
  path: string,
  options: {
    method?: Dispatcher.HttpMethod
    headers?: Record<string, string>
    timeoutMs?: number
  } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const dispatcher = new Agent({
    headersTimeout: options.timeoutMs ?? 5000,
    bodyTimeout: options.timeoutMs ?? 5000,
  })
  try {
    const response = await request(`${path.startsWith('http') ? '' : github.url}${path}`, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      dispatcher,
    })
    return {
      status: response.statusCode,
      headers: response.headers,
      body: await response.body.text(),
    }
  } finally {
    await dispatcher.destroy()
  }
}

async function start(
  t: Test,
  assets: Record<string, Record<string, string>> = { 'k3s-v1.32.2+k3s1': { 'k3s.raw': 'image' } },
): Promise<FakeGitHub> {
  const github = await startFakeGitHub({ assets })
  t.teardown(() => github.close())
  return github
}

t.test('an existing asset: 302 to a signed storage link that serves the bytes', async (t) => {
  const github = await start(t)
  t.match(github.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(github.repo, 'flatcar/sysext-bakery')
  for (const method of ['GET', 'HEAD'] as const) {
    const hop = await get(github, `${REL}/k3s-v1.32.2%2Bk3s1/k3s.raw?x=1`, { method })
    t.equal(hop.status, 302, method)
    t.equal(hop.body, '', `${method}: no body`)
    const location = String(hop.headers.location)
    t.match(
      location,
      new RegExp(
        `^${github.url}/storage/[0-9a-f]+/k3s-v1\\.32\\.2%2Bk3s1/k3s\\.raw\\?sig=[0-9a-f]+&expires=\\d+$`,
      ),
    )
    const bytes = await get(github, location)
    t.equal(bytes.status, 200)
    t.equal(bytes.body, 'image')
    t.equal(bytes.headers['content-type'], 'application/octet-stream')
    t.match(bytes.headers.etag, /^"[0-9a-f]{16}"$/)
    t.ok(Date.parse(String(bytes.headers['last-modified'])) > 0)
    t.equal(
      (await get(github, location, { method: 'HEAD' })).status,
      403,
      'storage HEAD is refused',
    )
  }
  // A literal + in the path is the same as %2B.
  t.equal((await get(github, `${REL}/k3s-v1.32.2+k3s1/k3s.raw`)).status, 302)
})

t.test('anything else is a text/plain 404', async (t) => {
  const github = await start(t)
  const paths = [
    `${REL}/k3s-v1.32.2+k3s1/other.raw`,
    `${REL}/nope/k3s.raw`,
    `${REL}/k3s-v1.32.2+k3s1`,
    `${REL}/k3s-v1.32.2+k3s1/k3s.raw/more`,
    `${REL}//k3s.raw`,
    `${REL}/%E0%A4%A/k3s.raw`,
    '/other/repo/releases/download/k3s-v1.32.2+k3s1/k3s.raw',
    '/',
    '/storage/tok/nope/k3s.raw',
  ]
  for (const path of paths) {
    const response = await get(github, path)
    t.equal(response.status, 404, path)
    t.equal(response.body, 'Not Found\n', path)
    t.match(response.headers['content-type'], /^text\/plain/, path)
  }
  t.equal((await get(github, `${REL}/k3s-v1.32.2+k3s1/k3s.raw`, { method: 'POST' })).status, 404)
})

t.test('conditional storage fetches', async (t) => {
  const github = await start(t)
  const location = String((await get(github, `${REL}/k3s-v1.32.2+k3s1/k3s.raw`)).headers.location)
  const first = await get(github, location)
  const etag = String(first.headers.etag)
  const modified = String(first.headers['last-modified'])
  const status = async (headers: Record<string, string>): Promise<number> =>
    (await get(github, location, { headers })).status
  t.equal(await status({ 'if-none-match': etag }), 304)
  t.equal(await status({ 'if-none-match': `"x", W/${etag}` }), 304)
  t.equal(await status({ 'if-none-match': '*' }), 304)
  t.equal(await status({ 'if-none-match': '"other"' }), 200)
  t.equal(
    await status({ 'if-none-match': '"other"', 'if-modified-since': modified }),
    200,
    'INM wins',
  )
  t.equal(await status({ 'if-modified-since': modified }), 304)
  t.equal(await status({ 'if-modified-since': new Date(0).toUTCString() }), 200)
  t.equal(await status({ 'if-modified-since': 'garbage' }), 200)

  github.addAsset('k3s-v1.32.2+k3s1', 'k3s.raw', Buffer.from('image 2'))
  const replaced = await get(github, location)
  t.equal(replaced.body, 'image 2')
  t.not(replaced.headers.etag, etag, 'a replacement has a new ETag')
  t.ok(
    Date.parse(String(replaced.headers['last-modified'])) > Date.parse(modified),
    'and a later Last-Modified',
  )
  t.equal(await status({ 'if-modified-since': modified }), 200)

  github.removeAsset('k3s-v1.32.2+k3s1', 'k3s.raw')
  t.equal((await get(github, location)).status, 404, 'storage of a removed asset')
  t.equal((await get(github, `${REL}/k3s-v1.32.2+k3s1/k3s.raw`)).status, 404)
})

t.test('requests are recorded and counted', async (t) => {
  const github = await startFakeGitHub({ repo: 'me/bakery', port: 0 })
  t.teardown(() => github.close())
  t.equal(github.repo, 'me/bakery')
  github.addAsset('a+b', 'x', 'bytes')
  const hop = await get(github, '/me/bakery/releases/download/a%2Bb/x', {
    method: 'HEAD',
    headers: { 'user-agent': 'probe' },
  })
  t.equal(hop.status, 302)
  await get(github, String(hop.headers.location))
  await get(github, '/me/bakery/releases/download/a+b/y')
  await get(github, '/elsewhere')
  t.same(
    github.requests.map((r) => [r.method, r.path.replace(/\/storage\/.*/, '/storage/…')]),
    [
      ['HEAD', '/me/bakery/releases/download/a%2Bb/x'],
      ['GET', '/storage/…'],
      ['GET', '/me/bakery/releases/download/a+b/y'],
      ['GET', '/elsewhere'],
    ],
  )
  t.equal(github.requests[0]?.headers['user-agent'], 'probe')
  t.equal(github.count('HEAD'), 1)
  t.equal(github.count('head', 'a+b'), 1)
  t.equal(github.count('HEAD', 'a+b', 'x'), 1)
  t.equal(github.count('HEAD', 'a+b', 'y'), 0)
  t.equal(github.count('GET'), 1, 'storage and other paths are not downloads')
  t.equal(github.count('GET', 'a+b', 'y'), 1)
  t.equal(github.count('GET', 'other'), 0)
  github.clearRequests()
  t.same(github.requests, [])
  t.equal(github.count('HEAD'), 0)
})

t.test('faults', async (t) => {
  const github = await start(t, { a: { x: 'bytes', y: 'other' } })
  const x = `${REL}/a/x`
  const y = `${REL}/a/y`

  github.fault({ kind: 'status', status: 502 }, (tagAndName) => tagAndName === 'a/x')
  const failed = await get(github, x)
  t.equal(failed.status, 502)
  t.match(failed.body, /502/)
  t.equal((await get(github, y)).status, 302, 'match limits the fault')
  github.fault({ kind: 'status', status: 500 })
  t.equal((await get(github, y)).status, 500, 'default match is every download')
  t.equal((await get(github, '/elsewhere')).status, 404, 'other paths are not faulted')

  github.fault(null)
  const location = String((await get(github, x)).headers.location)
  github.fault({ kind: 'status', status: 503 })
  t.equal((await get(github, location)).status, 200, 'storage is spared by default')
  github.fault({ kind: 'status', status: 503, storage: true })
  t.equal((await get(github, location)).status, 503, 'unless storage: true')

  github.fault({ kind: 'delay', ms: 150 })
  const started = Date.now()
  t.equal((await get(github, x)).status, 302, 'a delayed answer is the normal one')
  t.ok(Date.now() - started >= 140, 'after the delay')

  github.fault({ kind: 'hang' })
  await t.rejects(get(github, x, { timeoutMs: 200 }), { code: 'UND_ERR_HEADERS_TIMEOUT' })

  github.fault({ kind: 'reset' })
  await t.rejects(get(github, x), { code: 'ECONNRESET' })

  github.fault(null)
  t.equal((await get(github, x)).status, 302, 'cleared')
  t.equal(github.count('GET', 'a', 'x'), 6)
})

t.test('refuse and resume keep the port', async (t) => {
  const github = await start(t, { a: { x: 'bytes' } })
  // A keep-alive connection open before refuse() is dropped too.
  const agent = new Agent()
  t.teardown(() => agent.destroy())
  const head = async (): Promise<number> => {
    const response = await request(`${github.url}${REL}/a/x`, { method: 'HEAD', dispatcher: agent })
    await response.body.dump()
    return response.statusCode
  }
  t.equal(await head(), 302)
  await github.refuse()
  await github.refuse()
  await t.rejects(head(), { code: 'ECONNREFUSED' })
  await github.resume()
  await github.resume()
  t.equal(await head(), 302)
})

t.test('close ends hanging and delayed requests', async (t) => {
  const github = await startFakeGitHub({ assets: { a: { x: 'bytes' } } })
  github.fault({ kind: 'hang' }, (s) => s === 'a/x')
  const outcome = (path: string): Promise<unknown> =>
    get(github, path).then(
      (response) => response.status,
      (err: { code: string }) => err.code,
    )
  const hanging = outcome(`${REL}/a/x`)
  github.fault({ kind: 'delay', ms: 60_000 })
  const delayed = outcome(`${REL}/a/x`)
  await waitUntil(() => github.requests.length >= 2)
  await github.close()
  t.equal(await hanging, 'UND_ERR_SOCKET', 'the hanging request is cut off')
  t.equal(await delayed, 'UND_ERR_SOCKET', 'the delayed one too')
  await github.close()
})

t.test('fixtures', async (t) => {
  t.equal(seededBytes(100, 7).length, 100)
  t.same(seededBytes(64, 'a'), seededBytes(64, 'a'), 'deterministic')
  t.notSame(seededBytes(64, 'a'), seededBytes(64, 'b'))
  t.same(seededBytes(10, 1), seededBytes(40, 1).subarray(0, 10), 'a prefix of a longer stream')
  const assets = assetsFromFixture({ tag: { text: 'héllo', bytes: { randomBytes: 33, seed: 1 } } })
  t.same(assets.tag?.text, Buffer.from('héllo'))
  t.same(assets.tag?.bytes, seededBytes(33, 1))
})

t.test('the standalone runner', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fake-github-'))
  const fixture = join(dir, 'fixture.json')
  await writeFile(
    fixture,
    JSON.stringify({ v1: { 'a.txt': 'hello', 'b.bin': { randomBytes: 5, seed: 's' } } }),
  )
  const child = spawn(
    process.execPath,
    [...CHILD_ARGS, 'test/helpers/fake-github-cli.ts', '--repo', 'me/r', '--fixture', fixture],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  t.teardown(() => child.kill('SIGKILL'))
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
  const url = /^listening (http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1]
  t.ok(url, line)
  const hop = await request(`${url}/me/r/releases/download/v1/b.bin`)
  await hop.body.dump()
  t.equal(hop.statusCode, 302)
  const bytes = await request(String(hop.headers.location))
  t.same(Buffer.from(await bytes.body.arrayBuffer()), seededBytes(5, 's'))
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})

t.test('several repositories side by side, each with its own assets', async (t) => {
  const github = await startFakeGitHub({
    repo: 'fedora-sysexts/fedora',
    assets: { btop: { SHA256SUMS: 'fedora btop\n' } },
    more: { 'fedora-sysexts/community': { btop: { SHA256SUMS: 'community btop\n' } } },
  })
  t.teardown(() => github.close())
  const fedora = '/fedora-sysexts/fedora/releases/download'
  const community = '/fedora-sysexts/community/releases/download'
  for (const [base, body] of [
    [fedora, 'fedora btop\n'],
    [community, 'community btop\n'],
  ] as const) {
    const found = await get(github, `${base}/btop/SHA256SUMS`)
    t.equal(found.status, 302)
    const stored = await get(github, found.headers.location as string)
    t.equal(stored.body, body, `${base}: its own bytes, through its own storage link`)
  }
  github.addAsset('tailscale', 'tailscale.conf', '[Transfer]\n', 'fedora-sysexts/community')
  t.equal((await get(github, `${community}/tailscale/tailscale.conf`)).status, 302)
  t.equal((await get(github, `${fedora}/tailscale/tailscale.conf`)).status, 404, 'not in the other')
  t.equal(github.count('GET', 'tailscale', 'tailscale.conf', 'fedora-sysexts/community'), 1)
  t.equal(github.count('GET', 'tailscale', 'tailscale.conf', 'fedora-sysexts/fedora'), 1)
  t.equal(github.count('GET', 'btop'), 2, 'both repositories counted without one named')
  github.removeAsset('btop', 'SHA256SUMS', 'fedora-sysexts/community')
  t.equal((await get(github, `${community}/btop/SHA256SUMS`)).status, 404)
  t.equal((await get(github, `${fedora}/btop/SHA256SUMS`)).status, 302, 'the other keeps its own')
  t.equal((await get(github, '/storage/abc-7/btop/SHA256SUMS')).status, 404, 'no 8th repository')
})
