import t, { type Test } from 'tap'
import { Agent } from 'undici'
import {
  createUpstreamAgent,
  headCheck,
  isWithin,
  mirrorOutcome,
  noUpstreamEvents,
} from '../../src/upstream/head.js'
import { startFakeGitHub } from '../helpers/fake-github.js'

const TIMEOUTS = { connectTimeoutMs: 200, responseTimeoutMs: 300 }

async function fixture(t: Test) {
  const github = await startFakeGitHub({ assets: { 'k3s-v1.32.2+k3s1': { 'k3s.raw': 'image' } } })
  const agent = createUpstreamAgent(TIMEOUTS)
  t.teardown(async () => {
    await agent.destroy()
    await github.close()
  })
  const url = (tag: string, name: string): string =>
    `${github.url}/flatcar/sysext-bakery/releases/download/${tag}/${name}`
  return { github, agent, url }
}

t.test('a HEAD without following: 302 exists, 404 missing', async (t) => {
  const { github, agent, url } = await fixture(t)
  t.same(await headCheck(agent, url('k3s-v1.32.2+k3s1', 'k3s.raw'), TIMEOUTS), {
    outcome: 'exists',
    detail: 302,
  })
  // undici hands a socket back to the pool one event-loop turn after a response.
  await new Promise((resolve) => setImmediate(resolve))
  t.same(await headCheck(agent, url('k3s-v1.32.2+k3s1', 'other.raw'), TIMEOUTS), {
    outcome: 'missing',
    detail: 404,
  })
  t.same(
    github.requests.map((r) => [r.method, r.path, r.headers['user-agent']]),
    [
      [
        'HEAD',
        '/flatcar/sysext-bakery/releases/download/k3s-v1.32.2+k3s1/k3s.raw',
        'sysext-redirector (upstream check)',
      ],
      [
        'HEAD',
        '/flatcar/sysext-bakery/releases/download/k3s-v1.32.2+k3s1/other.raw',
        'sysext-redirector (upstream check)',
      ],
    ],
    'the URL as the redirect would send it; the storage link is never fetched',
  )
  t.equal(agent.stats[github.url]?.connected, 1, 'both over one kept-alive connection')
})

t.test('200 exists; every other status is unknown', async (t) => {
  const { github, agent, url } = await fixture(t)
  const cases: [number, string][] = [
    [200, 'exists'],
    [500, 'unknown'],
    [502, 'unknown'],
    [503, 'unknown'],
    [403, 'unknown'],
    [429, 'unknown'],
    [410, 'unknown'],
    [301, 'unknown'],
  ]
  for (const [status, outcome] of cases) {
    github.fault({ kind: 'status', status })
    t.same(
      await headCheck(agent, url('k3s-v1.32.2+k3s1', 'k3s.raw'), TIMEOUTS),
      { outcome, detail: status },
      `${status}`,
    )
  }
})

t.test('a reset or a refused connection is unknown', async (t) => {
  const { github, agent, url } = await fixture(t)
  github.fault({ kind: 'reset' })
  t.same(await headCheck(agent, url('k3s-v1.32.2+k3s1', 'k3s.raw'), TIMEOUTS), {
    outcome: 'unknown',
    detail: 'ECONNRESET',
  })
  github.fault(null)
  await github.refuse()
  t.same(await headCheck(agent, url('k3s-v1.32.2+k3s1', 'k3s.raw'), TIMEOUTS), {
    outcome: 'unknown',
    detail: 'ECONNREFUSED',
  })
})

t.test(
  'a hanging upstream costs at most the timeouts and leaves no connection behind',
  async (t) => {
    const { github, agent, url } = await fixture(t)
    github.fault({ kind: 'hang' })
    const started = performance.now()
    const result = await headCheck(agent, url('k3s-v1.32.2+k3s1', 'k3s.raw'), TIMEOUTS)
    const elapsed = performance.now() - started
    t.equal(result.outcome, 'unknown')
    t.ok(elapsed >= 250 && elapsed < 2000, `gave up after ${Math.round(elapsed)} ms`)
    // Give the destroyed socket a moment to be noticed, then count.
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.equal(agent.stats[github.url]?.connected ?? 0, 0, 'the hung connection was closed')
    t.equal(github.requests.length, 1)
  },
)

t.test('waiting for a pooled connection counts against the same bound', async (t) => {
  // An injected dispatcher with one connection: the second check queues
  // behind the first and must still give up in time.
  const { github, url } = await fixture(t)
  const single = new Agent({ connections: 1 })
  t.teardown(() => single.destroy())
  github.fault({ kind: 'hang' })
  const started = performance.now()
  const results = await Promise.all(
    ['a.raw', 'b.raw'].map((name) => headCheck(single, url('k3s-v1.32.2+k3s1', name), TIMEOUTS)),
  )
  const elapsed = performance.now() - started
  t.same(results, [
    { outcome: 'unknown', detail: 'upstream check timed out' },
    { outcome: 'unknown', detail: 'upstream check timed out' },
  ])
  t.ok(elapsed < 2000, `both gave up after ${Math.round(elapsed)} ms`)
})

t.test('without metrics, events go nowhere', async (t) => {
  t.equal(noUpstreamEvents.check('exists', 0.1), undefined)
  t.equal(noUpstreamEvents.cache('hit'), undefined)
})

t.test('a mirror: 200 exists, 404 and 410 missing, a redirect only on its own host', async (t) => {
  const outcome = mirrorOutcome('https://mirror.example/releases')
  t.equal(outcome(200, {}), 'exists')
  t.equal(outcome(404, {}), 'missing')
  t.equal(outcome(410, {}), 'missing')
  t.equal(outcome(302, { location: '/storage/abc' }), 'exists', 'its own storage')
  t.equal(outcome(301, { location: 'https://mirror.example/other/k' }), 'exists')
  t.equal(outcome(302, { location: 'https://evil.example/k' }), 'unknown', 'elsewhere')
  t.equal(outcome(302, { location: '//evil.example/k' }), 'unknown', 'elsewhere, scheme-relative')
  t.equal(outcome(302, {}), 'unknown', 'a redirect to nowhere')
  t.equal(outcome(500, {}), 'unknown')
  t.equal(outcome(403, {}), 'unknown')
  t.notOk(isWithin('http://[::1', 'https://mirror.example'), 'a Location that is no URL')
})
