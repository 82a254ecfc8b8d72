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

function gate(checksPerSecond = 3, checksPerClient = checksPerSecond) {
  const clock = new TestClock()
  const held: HeldBack[] = []
  const pauses: number[] = []
  const warnings: object[] = []
  const gate = new UpstreamGate({
    clock,
    checksPerSecond,
    checksPerClient,
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

t.test("each client spends only its share; the others' stays theirs", async (t) => {
  const { gate: g, clock, held } = gate(10, 2)
  const inventing = { client: '192.0.2.7', listed: false }
  const other = { client: '198.51.100.1', listed: true }
  t.same([g.admitCheck(inventing), g.admitCheck(inventing)], [null, null])
  t.equal(g.admitCheck(inventing), 'client', 'its share of two a second is spent')
  t.equal(g.admitCheck({ ...inventing, listed: true }), 'client', 'whatever it asks for')
  t.equal(g.admitCheck({ client: '::ffff:192.0.2.7', listed: true }), 'client', 'IPv4-mapped')
  t.same([g.admitCheck(other), g.admitCheck(other)], [null, null], 'another client has its own')
  t.equal(g.admitCheck(), null, "the service's own checks spend no client's share")
  clock.advance(500)
  t.equal(g.admitCheck(inventing), null, 'half a second earns one back')
  t.same(held, ['client', 'client', 'client'])
  const v6 = (last: string) => ({ client: `2001:db8:1:2::${last}`, listed: true })
  t.same([g.admitCheck(v6('a')), g.admitCheck(v6('b'))], [null, null])
  t.equal(g.admitCheck(v6('c')), 'client', 'an IPv6 /64 is one client')
})

t.test('names no adopted manifest lists may not take the last half of the budget', async (t) => {
  const { gate: g, held } = gate(10, 10)
  const asker = (client: string, listed: boolean) => ({ client, listed })
  const invented = Array.from({ length: 8 }, (_, i) => g.admitCheck(asker(`192.0.2.${i}`, false)))
  t.same(invented, [null, null, null, null, null, 'budget', 'budget', 'budget'])
  t.same(
    Array.from({ length: 6 }, (_, i) => g.admitCheck(asker(`198.51.100.${i}`, true))),
    [null, null, null, null, null, 'budget'],
    'listed names get the half kept for them',
  )
  t.same(held.length, 4)
  const small = gate(1, 1).gate
  t.equal(small.admitCheck(asker('192.0.2.1', false)), null, 'a budget of one keeps nothing back')
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
    checksPerClient: 1,
    events: noGateEvents,
    log: { warn: () => undefined },
  })
  t.equal(g.admitCheck(), null)
  t.equal(g.admitCheck(), 'budget')
  g.observe(429, {})
  t.equal(g.admitFetch(), 'paused')
})

t.test('wouldHold: what a check of the service’s own would get now, nothing spent', async (t) => {
  const { gate: g, clock, held } = gate(2)
  t.equal(g.wouldHold(), null)
  t.equal(g.wouldHold(), null, 'asking spends nothing')
  g.admitCheck()
  g.admitCheck()
  t.equal(g.wouldHold(), 'budget')
  clock.advance(500)
  t.equal(g.wouldHold(), null, 'a token back after half a second')
  g.observe(429, { 'retry-after': '10' })
  t.equal(g.wouldHold(), 'paused')
  t.same(held, [], 'nothing counted as held back: nothing was')
})
