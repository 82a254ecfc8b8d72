import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import {
  BREAKER_FAILURES,
  BREAKER_OPEN_MS,
  parseMessage,
  SharedStore,
  type SharedEvents,
  type SharedKind,
  type SharedResult,
} from '../../src/fleet/store.js'
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/fleet/redis.js'
import { startRedisServer, storeConnection, type RedisServer } from '../helpers/redis-server.js'
import { waitUntil } from '../helpers/wait.js'

// Two waits of the breaker's pause and several Redis restarts: room when the machine is busy.
t.setTimeout(120_000)

/** What a store told: each read's result, availability changes, invalidations. */
class Told implements SharedEvents {
  readonly reads: string[] = []
  readonly availability: boolean[] = []
  readonly invalidations: string[] = []
  read(kind: SharedKind, result: SharedResult): void {
    this.reads.push(`${kind}:${result}`)
  }
  available(up: boolean): void {
    this.availability.push(up)
  }
  invalidation(direction: 'sent' | 'received'): void {
    this.invalidations.push(direction)
  }
}

interface Instance {
  readonly store: SharedStore
  readonly told: Told
  readonly logs: string[]
}

/** Real time that a test can move on at once: the store's waits and its breaker read it. */
class MovableClock {
  #ahead = 0
  now(): number {
    return performance.now() + this.#ahead
  }
  advance(ms: number): void {
    this.#ahead += ms
  }
}

function instance(
  t: Test,
  redis: RedisServer,
  prefix = 'test:',
  clock: { now(): number } = performance,
): Instance {
  const told = new Told()
  const logs: string[] = []
  const log = {
    info: (_: object, message: string) => logs.push(message),
    warn: (_: object, message: string) => logs.push(message),
  }
  const connection = storeConnection(redis.url)
  const store = new SharedStore({ connection, prefix, clock, log, events: told })
  t.teardown(() => store.close())
  return { store, told, logs }
}

/** Until the instance is connected and listens for invalidations (its subscription is up). */
async function listening(each: Instance): Promise<void> {
  await waitUntil(
    () =>
      each.logs.includes('shared store connected: answers are shared') &&
      each.logs.some((line) => line.startsWith('shared store subscribed')),
  )
}

/** A redis-server and two instances of the store on it, both listening for invalidations. */
async function listeningPair(t: Test) {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const [a, b] = [instance(t, redis), instance(t, redis)]
  await Promise.all([a, b].map(listening))
  return { redis, a, b }
}

/**
 * An ask that says when it is called (its instance holds the lock by then)
 * and answers only once the test lets it: events in the test's order, not
 * sleeps that hope a busy machine keeps up.
 */
function gatedAsker(value: string, share = true) {
  let called!: () => void
  let release!: () => void
  const asking = new Promise<void>((resolve) => (called = resolve))
  const gate = new Promise<void>((resolve) => (release = resolve))
  const ask = async () => {
    called()
    await gate
    return { value: Buffer.from(value), ttlMs: 1000, share }
  }
  return { ask, asking, release }
}

/** An ask that counts its calls and answers `value` after `ms`. */
function asker(value: string, ms = 0, ttlMs = 60_000) {
  const calls = { count: 0 }
  const ask = async () => {
    calls.count++
    await sleep(ms)
    return { value: Buffer.from(value), ttlMs, share: true }
  }
  return { calls, ask }
}

const text = (fresh: { value: Buffer }): string => fresh.value.toString()

t.test('one asks, the rest read or wait: one ask for the fleet', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const [a, b, c] = [instance(t, redis), instance(t, redis), instance(t, redis)]
  await Promise.all([a, b, c].map(listening))
  const { calls, ask } = asker('exists', 150)
  const answers = await Promise.all(
    [a, b, c].map((each) => each.store.answer('check', 'kubernetes', 'url', ask, 2_000)),
  )
  t.same(answers.map(text), ['exists', 'exists', 'exists'])
  t.equal(calls.count, 1, 'GitHub was asked once for the three')
  t.same(answers.map((answer) => answer.result).sort(), ['asked', 'waited', 'waited'])
  const later = await b.store.answer('check', 'kubernetes', 'url', ask, 2_000)
  t.equal(text(later), 'exists')
  t.ok(later.ttlMs > 50_000 && later.ttlMs <= 60_000, 'with the lifetime it has left')
  t.equal(calls.count, 1, 'a later read is a hit')
  t.equal(later.result, 'hit')
  b.store.told('check', later.result)
  t.same(b.told.reads, ['check:hit'], 'counted when told')
})

t.test('an invalidation retires answers fleet-wide and reaches the others', async (t) => {
  const { a, b } = await listeningPair(t)
  const heard: string[][] = []
  b.store.onInvalidation((tags) => heard.push([...tags]))
  a.store.onInvalidation(() => t.fail('an instance does not hear itself'))
  await a.store.answer('check', 'kubernetes', 'url', asker('missing').ask, 2_000)
  a.store.invalidate(['kubernetes', 'SHA256SUMS'], ['kubernetes-v1.33.0'])
  await waitUntil(() => heard.length === 1)
  t.same(heard, [['kubernetes-v1.33.0']], 'told with the tags of the event')
  t.same(a.told.invalidations, ['sent'])
  t.same(b.told.invalidations, ['received'])
  const { calls, ask } = asker('exists')
  t.equal(text(await b.store.answer('check', 'kubernetes', 'url', ask, 2_000)), 'exists')
  t.equal(calls.count, 1, 'the old answer is gone: asked again')
})

t.test('an answer asked before an invalidation is not saved after it', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const [a, b] = [instance(t, redis), instance(t, redis)]
  const slow = gatedAsker('missing')
  const asked = a.store.answer('check', 'k', 'url', slow.ask, 2_000)
  await slow.asking
  a.store.invalidate(['k'], ['k'])
  slow.release()
  t.equal(text(await asked), 'missing', 'the asker still gets its answer')
  // Its save is done when its lock is gone (the save lets go of it, saved or refused).
  const probe = new Redis(redis.url)
  t.teardown(() => probe.disconnect())
  while ((await probe.keys('test:lock:*')).length > 0) await sleep(5)
  const { calls, ask } = asker('exists')
  t.equal(text(await b.store.answer('check', 'k', 'url', ask, 2_000)), 'exists')
  t.equal(calls.count, 1, 'but the fleet does not: it predates the release event')
})

t.test('an answer held back locally is not shared, and its lock is let go', async (t) => {
  const { a, b } = await listeningPair(t)
  const held = gatedAsker('unknown', false)
  const first = a.store.answer('check', 'k', 'url', held.ask, 5_000)
  await held.asking
  const started = performance.now()
  const { calls, ask } = asker('exists')
  const waiting = b.store.answer('check', 'k', 'url', ask, 5_000)
  // A lets go while B waits on its lock (however soon B gets to it, the answer is the same).
  setTimeout(held.release, 50)
  const after = await waiting
  t.equal(text(after), 'exists')
  t.equal(after.result, 'asked', 'took the lock once it was let go, and shares its answer')
  t.ok(performance.now() - started < 2_000, 'the waiter did not wait out the lock')
  t.equal(calls.count, 1, 'and asked itself')
  const heldBack = await first
  t.equal(text(heldBack), 'unknown')
  t.equal(heldBack.result, 'alone', 'not shared: alone')
})

t.test('data beside the answers', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const a = instance(t, redis)
  await listening(a)
  t.equal(await a.store.data('manifest', 'k'), null)
  a.store.keepData('manifest', 'k', Buffer.from([0, 1, 255]), 10_000)
  t.same([...((await a.store.data('manifest', 'k')) ?? [])], [0, 1, 255])
})

t.test(
  'an adopted revision is kept only above the rank kept, and the others are told',
  async (t) => {
    const { a, b } = await listeningPair(t)
    const heard: string[][] = []
    b.store.onInvalidation((tags) => heard.push([...tags]))
    t.equal(await b.store.adopted('bakery:kubernetes'), null, 'none yet')
    a.store.offerAdopted('bakery:kubernetes', 2000, Buffer.from('second'), 10_000)
    await waitUntil(() => heard.length === 1)
    t.same(heard, [['bakery:kubernetes']], 'told to read the release again')
    t.equal((await b.store.adopted('bakery:kubernetes'))?.toString(), 'second')
    a.store.offerAdopted('bakery:kubernetes', 1000, Buffer.from('first'), 10_000)
    a.store.offerAdopted('bakery:kubernetes', 2000, Buffer.from('second again'), 10_000)
    a.store.offerAdopted('bakery:other', 500, Buffer.from('other'), 10_000)
    await waitUntil(() => heard.length === 2)
    t.same(heard[1], ['bakery:other'], 'an older or equal one is not kept, nor told')
    t.equal(
      (await b.store.adopted('bakery:kubernetes'))?.toString(),
      'second',
      'the fleet never goes back',
    )
  },
)

t.test('answers of other kinds, releases and prefixes are apart', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const a = instance(t, redis, 'one:')
  const other = instance(t, redis, 'two:')
  await a.store.answer('check', 'k', 'url', asker('exists').ask, 2_000)
  const { calls, ask } = asker('x')
  await a.store.answer('manifest', 'k', 'url', ask, 2_000)
  await a.store.answer('check', 'k2', 'url', ask, 2_000)
  await other.store.answer('check', 'k', 'url', ask, 2_000)
  t.equal(calls.count, 3)
})

t.test('Redis down: each instance alone at once, and back when it is', async (t) => {
  const { redis, a, b } = await listeningPair(t)
  await redis.kill()
  const { calls, ask } = asker('exists')
  const started = performance.now()
  const results: string[] = []
  for (let i = 0; i < 5; i++) {
    results.push((await a.store.answer('check', 'k', `url${i}`, ask, 5_000)).result)
  }
  t.ok(performance.now() - started < 1_000, 'no waiting on a Redis that is down')
  t.equal(calls.count, 5)
  t.same(results, Array(5).fill('alone'))
  t.same(a.told.availability, [false, true, false], 'said once that it goes on alone')
  t.ok(a.logs.includes('shared store unavailable: this instance goes on alone'))
  a.store.invalidate(['k'], ['k'])
  await waitUntil(() => a.logs.some((line) => line.startsWith('release event not shared')))
  t.same(a.told.invalidations, [], 'an invalidation cannot be sent, and says so')
  await redis.restart()
  await waitUntil(() => a.told.availability.length === 4, 50)
  t.same(a.told.availability, [false, true, false, true], 'rejoined once Redis is back')
  t.equal(a.logs.filter((line) => line === 'shared store connected: answers are shared').length, 2)
  const { calls: again, ask: askAgain } = asker('exists')
  await a.store.answer('check', 'k', 'back', askAgain, 5_000)
  await b.store.answer('check', 'k', 'back', askAgain, 5_000)
  t.equal(again.count, 1, 'answers are shared again')
})

t.test('Redis frozen: a bounded wait, then skipped', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const clock = new MovableClock()
  const a = instance(t, redis, 'test:', clock)
  await listening(a)
  redis.pause()
  t.teardown(() => redis.resume())
  const { ask } = asker('exists')
  const waits: number[] = []
  for (let i = 0; i < BREAKER_FAILURES + 3; i++) {
    const started = performance.now()
    await a.store.answer('check', 'k', `url${i}`, ask, 5_000)
    waits.push(performance.now() - started)
  }
  t.ok(
    waits.every((ms) => ms < 2 * REDIS_COMMAND_TIMEOUT_MS + 150),
    `each read waited at most two command timeouts: ${waits.map(Math.round).join(', ')} ms`,
  )
  t.ok(
    waits.slice(BREAKER_FAILURES).every((ms) => ms < 50),
    'then the store is skipped outright',
  )
  t.same(a.told.availability, [false, true, false])
  t.ok(a.logs.includes('shared store not answering: this instance goes on alone'))
  redis.resume()
  // The pause the breaker keeps, passed on the store's clock rather than waited out.
  clock.advance(BREAKER_OPEN_MS)
  const { calls, ask: askAgain } = asker('exists')
  await a.store.answer('check', 'k', 'back', askAgain, 5_000)
  t.same(a.told.availability, [false, true, false, true], 'one read tried it again: it answers')
  t.ok(a.logs.includes('shared store answering again: answers are shared'))
  await a.store.answer('check', 'k', 'back', askAgain, 5_000)
  t.equal(calls.count, 1, 'and shares again')
})

t.test('messages: only what invalidate sends is heard', async (t) => {
  t.same(parseMessage('{"from":"a","tags":["x"]}'), { from: 'a', tags: ['x'] })
  t.equal(parseMessage('nope'), null)
  t.equal(parseMessage('1'), null)
  t.equal(parseMessage('{"from":1,"tags":[]}'), null)
  t.equal(parseMessage('{"from":"a","tags":"x"}'), null)
  t.equal(parseMessage('{"from":"a","tags":[1]}'), null)
})

t.test('an asker that never answers is waited for no longer than asked', async (t) => {
  const { a, b } = await listeningPair(t)
  // A takes the lock and hangs (as an instance killed mid-check would).
  const never = gatedAsker('never')
  void a.store.answer('check', 'k', 'url', never.ask, 60_000)
  await never.asking
  const started = performance.now()
  const { calls, ask } = asker('exists')
  const answer = await b.store.answer('check', 'k', 'url', ask, 300)
  const waited = performance.now() - started
  t.equal(answer.result, 'alone')
  t.equal(calls.count, 1)
  t.ok(waited >= 300 && waited < 1_500, `asked alone after ${Math.round(waited)} ms`)
})

t.test('an invalidation heard before anyone listens for it changes nothing', async (t) => {
  // An instance told of a release event before the app gave it a handler (at start).
  const { a, b } = await listeningPair(t)
  a.store.invalidate(['k'], ['k'])
  await waitUntil(() => b.told.invalidations.includes('received'))
  t.same(b.told.invalidations, ['received'], 'heard, and nothing else done with it')
})
