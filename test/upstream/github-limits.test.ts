import t, { type Test } from 'tap'
import { testApp } from '../helpers/app.js'
import { bakeryAssets, ONLINE } from '../helpers/bakery.js'
import { startFakeGitHub } from '../helpers/fake-github.js'
import { IMAGE, setup, TestClock } from '../helpers/upstream.js'

/*
 * Issue 15, finding 5: while GitHub answered 429 or 403, the service kept
 * sending HEADs at its normal rate (669 in 20 s at 200 requests a second).
 * And each name a client invents cost one HEAD, without bound.
 */

const invented = (i: number): string => `/extensions/kubernetes-v1.0.${i}-x86-64.raw`

t.test('a 429 pauses every check for as long as GitHub asks', async (t) => {
  const { github, app, clock, logs } = await setup(t)
  github.fault({ kind: 'status', status: 429, headers: { 'retry-after': '30' } })
  // 200 requests for names nobody asked before, over 20 seconds.
  for (let i = 0; i < 200; i++) {
    const res = await app.inject(invented(i))
    t.equal(res.statusCode, 302, 'fail open: redirected, unconfirmed')
    clock.advance(100)
  }
  t.equal(github.count('HEAD'), 1, 'one HEAD met the 429; none after it')
  t.match(
    logs.filter(
      (line) =>
        line.msg === 'GitHub asked us to slow down: no upstream requests until the pause ends',
    ),
    [{ status: 429, seconds: 30 }],
    'said once, with how long',
  )
  const last = await app.inject(invented(999))
  t.match(last.headers['cache-control'], /max-age=5$/, 'answers held back are short-lived')

  clock.advance(10_000) // 30 s after the 429
  github.fault(null)
  t.equal((await app.inject(IMAGE.path)).statusCode, 302)
  t.equal(github.count('HEAD'), 2, 'once the pause is over, checks go again')
})

t.test('a 403 from a manifest fetch pauses the checks too', async (t) => {
  const { github, app } = await setup(t, { MANIFEST_INDEX: 'true', UPSTREAM_FAIL_MODE: 'closed' })
  github.fault({
    kind: 'status',
    status: 403,
    headers: { 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 120) },
  })
  t.equal(
    (await app.inject('/extensions/kubernetes.raw')).statusCode,
    503,
    'the index cannot be read',
  )
  const heads = github.count('HEAD')
  const res = await app.inject(IMAGE.path)
  t.equal(res.statusCode, 503, 'fail closed: cannot confirm')
  t.equal(github.count('HEAD'), heads, 'and GitHub was not asked')
})

t.test(
  'names a client invents cost at most UPSTREAM_CHECKS_PER_SECOND HEADs a second',
  async (t) => {
    const { github, app, clock } = await setup(t, {
      UPSTREAM_CHECKS_PER_SECOND: '10',
      // The instance's budget is what this counts: one client may spend it all here.
      UPSTREAM_CHECKS_PER_CLIENT: '10',
      UPSTREAM_FAIL_MODE: 'closed',
    })
    const statuses = new Map<number, number>()
    for (let i = 0; i < 100; i++) {
      const { statusCode } = await app.inject(invented(i))
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1)
    }
    t.equal(github.count('HEAD'), 10, 'ten HEADs in the same second')
    t.same(
      Object.fromEntries(statuses),
      { 404: 10, 503: 90 },
      'the rest: 503 with Retry-After, fail closed',
    )
    clock.advance(1000)
    t.equal(
      (await app.inject(invented(500))).statusCode,
      404,
      'the next second, the budget is back',
    )
    t.equal(github.count('HEAD'), 11)
  },
)

/*
 * Issue 29, finding 1: one client inventing about 90 names a second, within
 * its rate limit, spent the instance's check budget; every other client's
 * first request for a real, not yet checked image then got "GitHub cannot
 * say" (503 with UPSTREAM_FAIL_MODE=closed: 5 of 8 real images in the run).
 */
async function bakery(t: Test, env: Record<string, string> = {}) {
  const github = await startFakeGitHub({ assets: bakeryAssets() })
  t.teardown(() => github.close())
  const clock = new TestClock()
  const { app } = await testApp(
    {
      GITHUB_URL: github.url,
      ...ONLINE,
      UPSTREAM_FAIL_MODE: 'closed',
      UPSTREAM_CHECKS_PER_SECOND: '10',
      ...env,
    },
    { clock },
  )
  t.teardown(() => app.close())
  const ask = (url: string, remoteAddress: string) => app.inject({ url, remoteAddress })
  return { github, app, clock, ask }
}

const REAL = [
  'kubernetes-v1.31.4-x86-64.raw',
  'kubernetes-v1.32.2-arm64.raw',
  'kubernetes-v1.33.0-x86-64.raw',
  'docker-27.5.1-x86-64.raw',
  'docker-28.0.1-arm64.raw',
  'docker-compose-2.34.0-arm64.raw',
  'crio-v1.30.0-x86-64.raw',
  'k3s-v1.31.4+k3s2-x86-64.raw',
]

t.test('one client inventing names at its full rate cannot starve the others', async (t) => {
  const { github, clock, ask } = await bakery(t)
  // Its rate limit (RATE_LIMIT_MAX, 6000 a minute) lets it send 100 a second.
  for (let second = 0; second < 3; second++) {
    if (second > 0) clock.advance(1000)
    for (let i = 0; i < 100; i++) {
      const res = await ask(invented(second * 100 + i), '192.0.2.66')
      t.not(res.statusCode, 429, 'within its rate limit')
      const real = REAL[second * 3 + (i % 3)]
      if (i % 34 === 0 && real !== undefined) {
        const other = await ask(`/extensions/${real}`, `198.51.100.${second * 3 + (i % 3)}`)
        t.equal(other.statusCode, 302, `${real}: confirmed`)
        t.notOk(other.headers.warning, `${real}: not an unconfirmed redirect`)
      }
    }
  }
  const res = await ask(invented(999), '192.0.2.66')
  t.equal(res.statusCode, 503, 'the inventing client is the one refused')
  t.match(res.headers['retry-after'], /^\d+$/, 'told when to come back')
  t.equal(github.count('HEAD'), 3 + 8, 'one HEAD of its own a second, one per real image')
  const real = '/extensions/kubernetes-v1.32.10-x86-64.raw'
  t.equal((await ask(real, '192.0.2.66')).statusCode, 503, 'its share spent, whatever it asks')
  const next = await ask(real, '198.51.100.99')
  t.equal(next.statusCode, 302, 'and what it could not check is checked for the next client')
  t.equal(github.count('HEAD'), 3 + 8 + 1)
})

t.test('names no adopted manifest lists are the first refused a check', async (t) => {
  const { ask } = await bakery(t, { UPSTREAM_CHECKS_PER_CLIENT: '1' })
  t.equal((await ask('/extensions/SHA256SUMS', '203.0.113.1')).statusCode, 200, 'adopted')
  // Twenty clients, each inventing one name this second, then eight real images.
  const inventedStatuses = []
  for (let i = 0; i < 20; i++) {
    inventedStatuses.push((await ask(invented(i), `192.0.2.${i + 1}`)).statusCode)
  }
  t.equal(inventedStatuses.filter((status) => status === 404).length, 5, 'half the budget')
  for (const [i, real] of REAL.slice(0, 5).entries()) {
    const res = await ask(`/extensions/${real}`, `198.51.100.${i + 1}`)
    t.equal(res.statusCode, 302, `${real}: confirmed, from the half kept for listed names`)
  }
})
