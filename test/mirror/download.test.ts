import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Agent } from 'undici'
import { download, type DownloadOptions } from '../../src/mirror/download.js'

const BYTES = Buffer.from('the bytes of an image\n')
const SHA = createHash('sha256').update(BYTES).digest('hex')

/** A server that answers each request with `handle`; its requests' Range headers kept. */
async function server(t: Test, handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const ranges: (string | undefined)[] = []
  const http = createServer((req, res) => {
    ranges.push(req.headers.range)
    handle(req, res)
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => http.close(resolve)))
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, ranges }
}

async function rig(t: Test, extra: Partial<DownloadOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'download-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  const admitted: string[] = []
  const options: DownloadOptions = {
    dispatcher,
    gate: {
      admitCheck: () => {
        admitted.push('asked')
        return null
      },
      observe: () => undefined,
    },
    isGitHub: () => true,
    idleTimeoutMs: 2000,
    budgetWaitMs: 1,
    ...extra,
  }
  return { partial: join(dir, 'image.partial'), options, admitted }
}

t.test('a server that ignores the Range: the partial file is started again', async (t) => {
  const { url, ranges } = await server(t, (_req, res) => res.end(BYTES))
  const { partial, options } = await rig(t)
  await writeFile(partial, 'stale bytes')
  const got = await download(`${url}/a.raw`, partial, SHA, 'a.raw', options)
  t.same(got, { size: BYTES.length, fetched: BYTES.length })
  t.same(ranges, ['bytes=11-'])
  t.same(await readFile(partial), BYTES)
})

t.test('a partial file longer than the image (416): asked again, whole', async (t) => {
  const { url, ranges } = await server(t, (req, res) => {
    if (req.headers.range !== undefined) {
      res.writeHead(416)
      return void res.end()
    }
    res.end(BYTES)
  })
  const { partial, options } = await rig(t)
  await writeFile(partial, Buffer.alloc(100))
  await download(`${url}/a.raw`, partial, SHA, 'a.raw', options)
  t.same(ranges, ['bytes=100-', undefined])
  t.same(await readFile(partial), BYTES)
})

t.test('a 206 from elsewhere than the partial file ends is refused', async (t) => {
  const { url } = await server(t, (_req, res) => {
    res.writeHead(206, { 'content-range': `bytes 0-${BYTES.length - 1}/${BYTES.length}` })
    res.end(BYTES)
  })
  const { partial, options } = await rig(t)
  await writeFile(partial, 'the')
  await t.rejects(download(`${url}/a.raw`, partial, SHA, 'a.raw', options), {
    code: 'SR_MIRROR_FAILED',
    message: /^a\.raw: 127\.0\.0\.1:\d+ answered 206$/,
  })
})

t.test('failures name the file and the host', async (t) => {
  const missing = await server(t, (_req, res) => {
    res.writeHead(404)
    res.end()
  })
  const { partial, options } = await rig(t)
  await t.rejects(download(`${missing.url}/a.raw`, partial, SHA, 'a.raw', options), {
    message: /^a\.raw: 127\.0\.0\.1:\d+ answered 404$/,
  })
  const loop = await server(t, (_req, res) => {
    res.writeHead(302, { location: '/again' })
    res.end()
  })
  await t.rejects(download(`${loop.url}/a.raw`, partial, SHA, 'a.raw', options), {
    message: 'a.raw: more than 5 redirects',
  })
  await t.rejects(download('http://127.0.0.1:9/a.raw', partial, SHA, 'a.raw', options), {
    message: 'a.raw: 127.0.0.1:9 did not answer (ECONNREFUSED)',
  })
})

t.test(
  'a spent budget is waited for; a pause ends the run; a mirror is not GitHub’s',
  async (t) => {
    const { url } = await server(t, (_req, res) => res.end(BYTES))
    let held = 2
    const waited = await rig(t, {
      gate: { admitCheck: () => (held-- > 0 ? 'budget' : null), observe: () => undefined },
    })
    await download(`${url}/a.raw`, waited.partial, SHA, 'a.raw', waited.options)
    t.equal(held, -1, 'asked three times: two waits, then sent')
    const paused = await rig(t, {
      gate: { admitCheck: () => 'paused', observe: () => undefined },
    })
    await t.rejects(download(`${url}/a.raw`, paused.partial, SHA, 'a.raw', paused.options), {
      message: 'a.raw: GitHub asked us to wait (rate limited); run again later',
    })
    const mirror = await rig(t, {
      gate: { admitCheck: () => 'paused', observe: () => undefined },
      isGitHub: () => false,
    })
    const got = await download(`${url}/a.raw`, mirror.partial, SHA, 'a.raw', mirror.options)
    t.equal(got.size, BYTES.length, 'a mirror is not held by GitHub’s pause')
  },
)

t.test('every answer of GitHub is shown to the gate', async (t) => {
  const { url } = await server(t, (req, res) => {
    if (req.url === '/a.raw') {
      res.writeHead(302, { location: '/storage/a.raw' })
      return void res.end()
    }
    res.end(BYTES)
  })
  const seen: number[] = []
  const { partial, options } = await rig(t, {
    gate: { admitCheck: () => null, observe: (status) => void seen.push(status) },
    isGitHub: (at) => !at.includes('/storage/'),
  })
  const counted: number[] = []
  await download(`${url}/a.raw`, partial, SHA, 'a.raw', {
    ...options,
    onBytes: (n) => void counted.push(n),
  })
  t.same(seen, [302], 'its download URL; its storage host is not GitHub’s budget')
  t.equal(
    counted.reduce((a, b) => a + b, 0),
    BYTES.length,
    'progress told every byte',
  )
})
