import t from 'tap'
import { startBakery } from '../helpers/bakery.js'

/*
 * Issue 15, finding 3: once INDEX_TTL had passed, a request waited for the
 * global and then the extension manifest, up to INDEX_FETCH_TIMEOUT each: an
 * unpublished version got its 404 after 20 s while GitHub hung. Now a request
 * waits for GitHub at most one check's bound in all, and a manifest held in
 * memory, stale or not, answers at once while it is refreshed behind it.
 */

const BOUND = { UPSTREAM_CONNECT_TIMEOUT: '100ms', UPSTREAM_TIMEOUT: '200ms' }

t.test(
  'cold, with GitHub hanging: a 503 after one check bound, not after the fetch timeout',
  async (t) => {
    const { github, app, logs } = await startBakery(t, { ...BOUND, INDEX_FETCH_TIMEOUT: '1m' })
    github.fault({ kind: 'hang' })
    for (const url of ['/extensions/kubernetes.raw', '/extensions/kubernetes/']) {
      const res = await app.inject(url)
      t.equal(res.statusCode, 503, url)
      t.match(res.body, /cannot be read from GitHub yet/)
    }
    t.match(
      logs.filter((line) => line.msg === 'manifest index unavailable'),
      [
        { reason: 'GitHub did not answer within 300 ms' },
        { reason: 'GitHub did not answer within 300 ms' },
      ],
      'the log says why: the bound, not the fetch timeout',
    )
    github.fault(null)
  },
)

t.test('warm, then GitHub hangs: stale manifests answer at once, refreshed behind', async (t) => {
  // The unpublished version's "missing" outlives the jump: a hanging check takes exactly the
  // request's bound, so which of the two ended first was a coin toss on a busy event loop.
  // What this test is about is the manifests.
  const { github, app, clock } = await startBakery(t, {
    ...BOUND,
    INDEX_FETCH_TIMEOUT: '1m',
    CHECK_TTL_MISSING: '1h',
  })
  const newest = '/extensions/kubernetes.raw'
  const unpublished = '/extensions/kubernetes-v1.99-x86-64.raw'
  t.equal((await app.inject(newest)).statusCode, 302, 'warm')
  t.equal((await app.inject(unpublished)).statusCode, 404, 'warm 404')
  t.equal((await app.inject('/extensions/kubernetes/')).statusCode, 200, 'warm page')
  github.fault({ kind: 'hang' })
  clock.advance(10 * 60_000) // past INDEX_TTL and the mutable checks' lifetime
  const res = await app.inject(newest)
  t.equal(res.statusCode, 302, 'the newest image, from the stale manifest')
  const missing = await app.inject(unpublished)
  t.equal(missing.statusCode, 404, 'an unpublished version: its 404 from the stale manifest')
  t.equal((await app.inject('/extensions/kubernetes/')).statusCode, 200, 'and the page')
  github.fault(null)
})

t.test(
  'the bound is for the whole request: a check after a slow manifest gets what is left',
  async (t) => {
    const bound = { UPSTREAM_CONNECT_TIMEOUT: '300ms', UPSTREAM_TIMEOUT: '700ms' }
    const { github, app, logs } = await startBakery(t, { ...bound, INDEX_FETCH_TIMEOUT: '1m' })
    // The two manifests take 300 of the 1,000 ms; the image's check then hangs, and is
    // given up when the request's 1,000 ms are over, before its own 1,000 ms would be.
    github.fault({ kind: 'delay', ms: 150 }, (file) => file.endsWith('/SHA256SUMS'))
    github.alsoFault({ kind: 'hang' }, (file) => file.endsWith('.raw'))
    const res = await app.inject('/extensions/wasmtime-arm64.raw')
    t.equal(res.statusCode, 302, 'fail open: redirected unconfirmed')
    t.match(res.headers['cache-control'], /max-age=5$/)
    t.ok(logs.some((line) => line.msg === 'upstream check failed; redirecting unconfirmed'))
    github.fault(null)
  },
)
