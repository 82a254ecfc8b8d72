import t from 'tap'
import { IMAGE, setup } from '../helpers/upstream.js'

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
