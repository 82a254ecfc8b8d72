import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { Agent, Dispatcher } from 'undici'
import {
  assetFetcher,
  manifestFetcher,
  type FetchOutcome,
  type FetchOptions,
} from '../../src/manifests/fetch.js'
import { releasesBase } from '../../src/table/resolve.js'
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js'

const SUMS = `${'a'.repeat(64)}  k-1-x86-64.raw\n`

async function github(t: Test): Promise<FakeGitHub> {
  const fake = await startFakeGitHub({
    assets: { k: { SHA256SUMS: SUMS }, 'k+x': { SHA256SUMS: SUMS } },
  })
  t.teardown(() => fake.close())
  return fake
}

function options(t: Test, url: string, extra: Partial<FetchOptions> = {}): FetchOptions {
  const dispatcher = new Agent()
  t.teardown(() => dispatcher.destroy())
  return {
    dispatcher,
    releases: releasesBase(url, 'flatcar/sysext-bakery'),
    timeoutMs: 2000,
    maxBytes: 1024,
    ...extra,
  }
}

const text = (outcome: FetchOutcome): string =>
  outcome.kind === 'body' ? Buffer.from(outcome.bytes).toString() : outcome.kind

t.test('follows the one redirect to the storage host for the bytes', async (t) => {
  const fake = await github(t)
  const fetch = manifestFetcher(options(t, fake.url))
  const outcome = await fetch('k')
  t.equal(text(outcome), SUMS)
  t.match(outcome, { kind: 'body', validators: { etag: /^"[0-9a-f]+"$/, lastModified: /GMT$/ } })
  t.same(
    fake.requests.map((r) => [r.method, r.path.replace(/\/storage\/.*/, '/storage/…')]),
    [
      ['GET', '/flatcar/sysext-bakery/releases/download/k/SHA256SUMS'],
      ['GET', '/storage/…'],
    ],
  )
  t.equal(fake.requests[0]?.headers['user-agent'], 'sysext-redirector (manifest index)')
  t.equal(text(await fetch('k+x')), SUMS, 'a + in a tag is sent as is')
})

t.test('revalidates with ETag, or Last-Modified alone, and gets a 304', async (t) => {
  const fake = await github(t)
  const fetch = manifestFetcher(options(t, fake.url))
  const first = await fetch('k')
  if (first.kind !== 'body') throw new Error('expected a body')
  fake.clearRequests()
  t.same(await fetch('k', first.validators), { kind: 'not-modified' })
  t.equal(
    fake.requests[1]?.headers['if-none-match'],
    first.validators.etag,
    'ETag sent to the storage host',
  )
  t.equal(
    fake.requests[0]?.headers['if-none-match'],
    undefined,
    'not to github.com, which only redirects',
  )
  t.same(await fetch('k', { lastModified: first.validators.lastModified }), {
    kind: 'not-modified',
  })
  fake.addAsset('k', 'SHA256SUMS', SUMS.replace('k-1', 'k-2'))
  const changed = await fetch('k', first.validators)
  t.equal(text(changed), SUMS.replace('k-1', 'k-2'), 'a replaced asset comes with its new bytes')
})

t.test('a 404 means missing; every other failure says why, never the signed link', async (t) => {
  const fake = await github(t)
  const fetch = manifestFetcher(options(t, fake.url, { timeoutMs: 300 }))
  t.same(await fetch('nosuch'), { kind: 'missing' })
  fake.fault({ kind: 'status', status: 502 })
  t.same(await fetch('k'), { kind: 'failed', reason: 'GitHub answered 502' })
  const odd = await oddUpstream(t)
  t.same(
    await manifestFetcher(options(t, odd))('storage-503'),
    { kind: 'failed', reason: `storage host ${new URL(odd).host} answered 503` },
    'the storage host is named by its host alone: its URL is signed',
  )
  fake.fault({ kind: 'hang' })
  t.same(await fetch('k'), { kind: 'failed', reason: 'timed out after 300 ms' })
  fake.fault({ kind: 'reset' })
  t.same(await fetch('k'), { kind: 'failed', reason: 'ECONNRESET' })
  fake.fault(null)
  await fake.refuse()
  const fresh = manifestFetcher(options(t, fake.url)) // no pooled connection
  t.same(await fresh('k'), { kind: 'failed', reason: 'ECONNREFUSED' })
})

t.test('a body over the size bound is cut off, declared or not', async (t) => {
  const fake = await github(t)
  fake.addAsset('big', 'SHA256SUMS', SUMS.repeat(20))
  const fetch = manifestFetcher(options(t, fake.url, { maxBytes: SUMS.length * 19 }))
  t.same(await fetch('big'), {
    kind: 'failed',
    reason: `manifest is larger than ${SUMS.length * 19} bytes`,
  })
  const odd = await oddUpstream(t)
  const chunked = manifestFetcher(options(t, odd, { maxBytes: 1000 }))
  t.same(await chunked('chunked'), { kind: 'failed', reason: 'manifest is larger than 1000 bytes' })
  t.equal(text(await chunked('small-chunked')), 'x'.repeat(1000), 'exactly the bound is fine')
})

t.test('odd redirects are failures', async (t) => {
  const odd = await oddUpstream(t)
  const fetch = manifestFetcher(options(t, odd))
  t.same(await fetch('no-location'), { kind: 'failed', reason: 'GitHub answered 302' })
  t.same(await fetch('ftp'), { kind: 'failed', reason: 'GitHub redirected to a non-http(s) URL' })
  t.same(await fetch('bad-url'), {
    kind: 'failed',
    reason: 'GitHub redirected to a non-http(s) URL',
  })
  t.same(
    await fetch('direct'),
    { kind: 'failed', reason: 'GitHub answered 200' },
    'github.com never serves bytes itself',
  )
  t.equal(text(await fetch('relative')), SUMS, 'a relative Location resolves against the request')
  t.same(
    await fetch('loop'),
    { kind: 'failed', reason: `storage host ${new URL(odd).host} answered 302` },
    'one hop only',
  )
})

t.test('an error without a code is described by its message', async (t) => {
  // Any dispatcher may be injected; whatever it throws is reported, not thrown.
  class Broken extends Dispatcher {
    override dispatch(): boolean {
      throw new Error('dispatcher out of order')
    }
  }
  const fetch = manifestFetcher({ ...options(t, 'http://127.0.0.1:9'), dispatcher: new Broken() })
  t.same(await fetch('k'), { kind: 'failed', reason: 'dispatcher out of order' })
})

/** A real server misbehaving in ways the fake GitHub does not. */
async function oddUpstream(t: Test): Promise<string> {
  const server: Server = createServer((req, res) => {
    const tag = (req.url ?? '').split('/')[5] ?? ''
    const redirect = (location: string): void => {
      res.writeHead(302, { location })
      res.end()
    }
    if (req.url?.startsWith('/bytes/')) {
      const size = req.url.endsWith('small') ? 1000 : 5000
      res.writeHead(200) // no content-length: chunked
      for (let i = 0; i < size; i += 100) res.write('x'.repeat(100))
      return void res.end()
    }
    if (req.url === '/relative-target') return void res.end(SUMS)
    if (req.url?.startsWith('/signed/')) {
      res.writeHead(503)
      return void res.end()
    }
    switch (tag) {
      case 'chunked':
        return redirect('/bytes/large')
      case 'small-chunked':
        return redirect('/bytes/small')
      case 'no-location':
        res.writeHead(302)
        return void res.end()
      case 'ftp':
        return redirect('ftp://example.invalid/x')
      case 'bad-url':
        return redirect('http://[::1')
      case 'storage-503':
        return redirect('/signed/x?sig=secret&expires=1')
      case 'relative':
        return redirect('/relative-target')
      case 'loop':
        return redirect(req.url ?? '/')
      default:
        return void res.end(SUMS)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('while GitHub asked us to wait, nothing is sent; its 429 is what asks', async (t) => {
  const fake = await github(t)
  const statuses: number[] = []
  let paused = false
  const gate = {
    admitFetch: () => (paused ? ('paused' as const) : null),
    admitCheck: () => null,
    observe: (status: number) => {
      statuses.push(status)
      paused = status === 429
    },
  }
  const fetch = manifestFetcher(options(t, fake.url, { gate }))
  t.equal(text(await fetch('k')), SUMS, 'before: fetched')
  fake.fault({ kind: 'status', status: 429 })
  t.same(await fetch('k'), { kind: 'failed', reason: 'GitHub answered 429' })
  t.same(statuses, [302, 429], 'the gate saw each answer of GitHub')
  const before = fake.requests.length
  t.same(await fetch('k'), {
    kind: 'failed',
    reason: 'GitHub asked us to wait (rate limited)',
    held: true,
  })
  t.equal(fake.requests.length, before, 'and GitHub was not asked')
})

t.test('a budgeted fetcher spends the checks’ budget: over it, nothing is sent', async (t) => {
  const fake = await github(t)
  let budget = 1
  const gate = {
    admitFetch: () => null,
    admitCheck: () => (budget-- > 0 ? null : ('budget' as const)),
    observe: () => undefined,
  }
  const fetch = assetFetcher({ ...options(t, fake.url, { gate }), budgeted: true })
  t.equal(text(await fetch('k', 'SHA256SUMS')), SUMS, 'within the budget: fetched')
  const before = fake.requests.length
  t.same(await fetch('k', 'SHA256SUMS'), {
    kind: 'failed',
    reason: 'the per-second budget of requests to GitHub is spent',
    held: true,
  })
  t.equal(fake.requests.length, before, 'and GitHub was not asked')
})

/** A second host with the releases, as BAKERY_MIRRORS names it; `more` beside them. */
async function mirrorOf(t: Test, more: Record<string, Record<string, string>> = {}) {
  const fake = await startFakeGitHub({ assets: { k: { SHA256SUMS: SUMS }, ...more } })
  t.teardown(() => fake.close())
  return { fake, base: releasesBase(fake.url, fake.repo) }
}

t.test(
  'a file no copy is held of comes from a mirror when GitHub fails or says missing',
  async (t) => {
    const fake = await github(t)
    const mirror = await mirrorOf(t, { m: { SHA256SUMS: 'only on the mirror\n' } })
    const fetch = assetFetcher(options(t, fake.url, { mirrors: [mirror.base] }))
    fake.fault({ kind: 'status', status: 500 })
    const got = await fetch('k', 'SHA256SUMS')
    t.equal(text(got), SUMS, "GitHub's 500: the mirror's copy")
    t.equal(
      (got as { validators: { mirror?: string } }).validators.mirror,
      mirror.base,
      'its origin kept',
    )
    // Revalidated where it came from: the mirror's validators go to the mirror alone.
    const again = await fetch('k', 'SHA256SUMS', (got as { validators: object }).validators)
    t.equal(again.kind, 'not-modified')
    t.equal(
      mirror.fake.requests.filter(
        (request) =>
          request.headers['if-none-match'] !== undefined && !request.path.startsWith('/storage'),
      ).length,
      1,
      'the mirror was asked conditionally',
    )
    fake.fault(null)
    t.equal(
      text(await fetch('m', 'SHA256SUMS')),
      'only on the mirror\n',
      "GitHub's 404: the mirror's",
    )
    t.equal((await fetch('none', 'SHA256SUMS')).kind, 'missing', 'nowhere: missing')
  },
)

t.test('a copy of GitHub’s own stays: the mirrors (which lag) are not asked for it', async (t) => {
  const fake = await github(t)
  const mirror = await mirrorOf(t)
  const fetch = assetFetcher(options(t, fake.url, { mirrors: [mirror.base] }))
  const held = await fetch('k', 'SHA256SUMS')
  fake.fault({ kind: 'status', status: 500 })
  const failed = await fetch('k', 'SHA256SUMS', (held as { validators: object }).validators)
  t.same(failed, { kind: 'failed', reason: 'GitHub answered 500' })
  t.equal(mirror.fake.requests.length, 0)
})

t.test(
  'mirrors in order; garbage, a redirect elsewhere or an error pass to the next',
  async (t) => {
    const fake = await github(t)
    const broken = await mirrorOf(t)
    const outside = await mirrorOf(t)
    const good = await mirrorOf(t)
    broken.fake.fault({ kind: 'reset' })
    outside.fake.fault({
      kind: 'status',
      status: 302,
      headers: { location: 'https://evil.example/k' },
    })
    const mirrors = [broken.base, outside.base, good.base]
    const fetch = assetFetcher(options(t, fake.url, { mirrors }))
    fake.fault({ kind: 'status', status: 503 })
    t.equal(text(await fetch('k', 'SHA256SUMS')), SUMS, 'the third has it')
    good.fake.fault({ kind: 'status', status: 500 })
    t.same(
      await fetch('k', 'SHA256SUMS'),
      { kind: 'failed', reason: 'GitHub answered 503' },
      "none can say: GitHub's failure",
    )
    const alone = assetFetcher(options(t, fake.url, { mirrors: [outside.base] }))
    const said: string[] = []
    const direct = await fetchMirrorReason(alone)
    said.push(direct)
    t.same(said, ['GitHub answered 503'], 'a redirect outside the mirror is never followed')
    t.equal(
      outside.fake.requests.filter((request) => request.path.startsWith('/storage')).length,
      0,
    )
  },
)

async function fetchMirrorReason(fetch: ReturnType<typeof assetFetcher>): Promise<string> {
  const outcome = await fetch('k', 'SHA256SUMS')
  return outcome.kind === 'failed' ? outcome.reason : outcome.kind
}

t.test(
  'while GitHub asks us to wait, the mirrors still answer; a spent budget holds both',
  async (t) => {
    const fake = await github(t)
    const mirror = await mirrorOf(t)
    const paused = {
      admitFetch: () => 'paused' as const,
      admitCheck: () => 'paused' as const,
      observe: () => undefined,
    }
    const fetch = assetFetcher(options(t, fake.url, { gate: paused, mirrors: [mirror.base] }))
    t.equal(text(await fetch('k', 'SHA256SUMS')), SUMS)
    t.equal(fake.requests.length, 0, 'GitHub not asked')
    const spent = {
      admitFetch: () => null,
      admitCheck: () => 'budget' as const,
      observe: () => undefined,
    }
    const budgeted = assetFetcher({
      ...options(t, fake.url, { gate: spent, mirrors: [mirror.base] }),
      budgeted: true,
    })
    const before = mirror.fake.requests.length
    t.equal((await budgeted('k', 'SHA256SUMS')).kind, 'failed')
    t.equal(mirror.fake.requests.length, before, 'names a client invents reach no mirror either')
  },
)

t.test('a mirror’s copy over the size bound is passed over', async (t) => {
  const fake = await github(t)
  const mirror = await mirrorOf(t, { big: { SHA256SUMS: 'x'.repeat(2000) } })
  const fetch = assetFetcher(options(t, fake.url, { mirrors: [mirror.base] }))
  t.same(await fetch('big', 'SHA256SUMS'), { kind: 'missing' }, "GitHub's 404 stands")
})
