import t from 'tap'
import { noGateEvents, pauseAsked, UpstreamGate, type HeldBack } from '../../src/upstream/gate.js'
import { TestClock } from '../helpers/upstream.js'

const NOW = Date.parse('2026-12-02T12:00:00Z')

t.test('pauseAsked: how long GitHub asks us to wait', async (t) => {
  t.equal(pauseAsked(200, {}, NOW), undefined, 'only 429 and 403 ask')
  t.equal(pauseAsked(404, { 'retry-after': '30' }, NOW), undefined)
  t.equal(pauseAsked(429, { 'retry-after': '30' }, NOW), 30_000, 'Retry-After in seconds')
  t.equal(pauseAsked(429, { 'retry-after': ' 7 ' }, NOW), 7000)
  t.equal(
    pauseAsked(403, { 'retry-after': 'Wed, 02 Dec 2026 12:02:00 GMT' }, NOW),
    120_000,
    'Retry-After as a date',
  )
  t.equal(
    pauseAsked(403, { 'x-ratelimit-reset': String(NOW / 1000 + 90) }, NOW),
    90_000,
    'else x-ratelimit-reset, in epoch seconds',
  )
  t.equal(pauseAsked(429, {}, NOW), 60_000, 'else a minute')
  t.equal(pauseAsked(429, { 'retry-after': 'soon' }, NOW), 60_000, 'a value it cannot read too')
  t.equal(pauseAsked(429, { 'x-ratelimit-reset': 'later' }, NOW), 60_000)
  t.equal(pauseAsked(429, { 'retry-after': '86400' }, NOW), 3_600_000, 'at most an hour')
  t.equal(pauseAsked(429, { 'retry-after': '0' }, NOW), 1000, 'at least a second')
  t.equal(pauseAsked(429, { 'retry-after': '' }, NOW), 60_000)
})

function gate(checksPerSecond = 3) {
  const clock = new TestClock()
  const held: HeldBack[] = []
  const pauses: number[] = []
  const warnings: object[] = []
  const gate = new UpstreamGate({
    clock,
    checksPerSecond,
    events: { paused: (s) => pauses.push(s), heldBack: (r) => held.push(r) },
    log: { warn: (details) => warnings.push(details) },
  })
  return { gate, clock, held, pauses, warnings }
}

t.test('a budget of checks per second, refilled as time passes', async (t) => {
  const { gate: g, clock, held } = gate(3)
  t.same([g.admitCheck(), g.admitCheck(), g.admitCheck()], [null, null, null])
  t.equal(g.admitCheck(), 'budget', 'the fourth in the same second waits')
  t.equal(g.admitFetch(), null, 'manifest fetches have no budget')
  clock.advance(500)
  t.equal(g.admitCheck(), null, 'half a second earns one and a half')
  t.equal(g.admitCheck(), 'budget')
  clock.advance(10_000)
  t.same(
    [g.admitCheck(), g.admitCheck(), g.admitCheck(), g.admitCheck()],
    [null, null, null, 'budget'],
    'a burst of one second at most',
  )
  t.same(held, ['budget', 'budget', 'budget'])
})

t.test('a 429 or 403 pauses checks and fetches alike, for as long as asked', async (t) => {
  const { gate: g, clock, held, pauses, warnings } = gate(100)
  g.observe(302, {})
  g.observe(404, {})
  t.equal(g.admitCheck(), null, 'other answers change nothing')
  g.observe(429, { 'retry-after': '20' })
  t.same(pauses, [20])
  t.match(warnings, [{ status: 429, seconds: 20 }])
  t.equal(g.admitCheck(), 'paused')
  t.equal(g.admitFetch(), 'paused')
  g.observe(403, { 'retry-after': '5' })
  t.same(pauses, [20], 'a shorter pause does not shorten the one under way')
  clock.advance(19_999)
  t.equal(g.admitCheck(), 'paused')
  clock.advance(1)
  t.equal(g.admitCheck(), null, 'and it ends when it said')
  g.observe(403, {})
  t.same(pauses, [20, 60], 'a 403 alone: a minute')
  t.same(held, ['paused', 'paused', 'paused'])
})

t.test('a gate nobody watches (explain --live) pauses and budgets alike', async (t) => {
  const clock = new TestClock()
  const g = new UpstreamGate({
    clock,
    checksPerSecond: 1,
    events: noGateEvents,
    log: { warn: () => undefined },
  })
  t.equal(g.admitCheck(), null)
  t.equal(g.admitCheck(), 'budget')
  g.observe(429, {})
  t.equal(g.admitFetch(), 'paused')
})
