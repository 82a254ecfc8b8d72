import t from 'tap'
import { RefreshingCache, type ReadResult, type Refreshed } from '../../src/cache/refreshing.js'
import { TestClock } from '../helpers/upstream.js'

/** A source whose answers the test releases one at a time. */
function source() {
  const pending: {
    key: string
    last: string | undefined
    answer(value: string, ttlMs?: number): void
  }[] = []
  const refresh = (key: string, last: string | undefined) =>
    new Promise<Refreshed<string>>((resolve) => {
      pending.push({ key, last, answer: (value, ttlMs = 1000) => resolve({ value, ttlMs }) })
    })
  return { pending, refresh }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

t.test('fresh values at once, one shared refresh otherwise', async (t) => {
  const clock = new TestClock()
  const { pending, refresh } = source()
  const cache = new RefreshingCache<string>({ clock, max: 10, refresh })
  const told: ReadResult[] = []
  const a = cache.get('k', undefined, (result) => told.push(result))
  const b = cache.get('k', undefined, (result) => told.push(result))
  t.ok(a instanceof Promise)
  t.equal(cache.now('k'), undefined, 'nothing to answer at once')
  t.equal(pending.length, 1, 'one refresh for both')
  t.equal(cache.inFlight, 1)
  pending[0]?.answer('v1')
  t.same(await Promise.all([a, b]), ['v1', 'v1'])
  t.equal(
    cache.get('k', undefined, (result) => told.push(result)),
    'v1',
    'fresh: no promise',
  )
  t.same(told, ['miss', 'miss', 'hit'])
  t.same(
    [cache.size, cache.inFlight, cache.has('k'), cache.peek('k'), cache.now('k')],
    [1, 0, true, 'v1', 'v1'],
  )
  clock.advance(999)
  t.equal(cache.get('k', undefined), 'v1', 'fresh while younger than its lifetime')
  clock.advance(1)
  t.equal(cache.now('k'), undefined, 'expired at exactly it')
  const c = cache.get('k', undefined)
  t.equal(pending[1]?.last, 'v1', 'the refresh sees the last value')
  pending[1]?.answer('v2')
  t.equal(await c, 'v2')
})

t.test('serveExpired: an expired value at once while one refresh runs', async (t) => {
  const clock = new TestClock()
  const { pending, refresh } = source()
  const cache = new RefreshingCache<string>({
    clock,
    max: 10,
    refresh,
    serveExpired: (v) => v === 'yes',
  })
  const first = cache.get('k', undefined)
  pending[0]?.answer('yes')
  await first
  clock.advance(1000)
  const told: ReadResult[] = []
  t.equal(cache.now('k'), 'yes')
  t.equal(
    cache.get('k', undefined, (r) => told.push(r)),
    'yes',
  )
  t.equal(
    cache.get('k', undefined, (r) => told.push(r)),
    'yes',
  )
  t.same(told, ['stale', 'stale'])
  t.equal(pending.length, 2, 'one background refresh')
  pending[1]?.answer('no')
  await tick()
  t.equal(cache.get('k', undefined), 'no', 'the refresh is fresh')
})

t.test('invalidate: drop or expire, discarding refreshes in flight', async (t) => {
  const clock = new TestClock()
  const { pending, refresh } = source()
  const cache = new RefreshingCache<string>({ clock, max: 10, refresh })
  for (const key of ['a', 'b']) {
    const read = cache.get(key, undefined)
    pending.at(-1)?.answer(`${key}1`)
    await read
  }
  t.same(
    cache.invalidate((key) => key === 'a', 'drop'),
    ['a'],
  )
  t.notOk(cache.has('a'))
  t.same(
    cache.invalidate((key, value) => value === 'b1', 'expire'),
    ['b'],
  )
  t.equal(cache.peek('b'), 'b1', 'expired, still held')
  const waiting = cache.get('b', undefined)
  t.equal(pending.at(-1)?.last, 'b1')
  t.same(
    cache.invalidate((key) => key === 'b', 'drop'),
    ['b'],
    'in flight too',
  )
  t.equal(cache.inFlight, 0)
  pending.at(-1)?.answer('old')
  t.equal(await waiting, 'old', 'its waiters take its answer…')
  t.notOk(cache.has('b'), '…but it is not held')
})

t.test('rereadAfterInvalidation: waiters read again after an invalidation', async (t) => {
  const clock = new TestClock()
  const { pending, refresh } = source()
  const cache = new RefreshingCache<string>({
    clock,
    max: 10,
    refresh,
    rereadAfterInvalidation: true,
  })
  const waiting = cache.get('k', undefined)
  cache.invalidate(() => true, 'expire')
  pending[0]?.answer('before')
  await tick()
  t.equal(pending.length, 2, 'read again')
  pending[1]?.answer('after')
  t.equal(await waiting, 'after')
  const again = cache.get('x', undefined)
  cache.invalidate(() => true, 'expire')
  const late = cache.get('x', undefined)
  pending[2]?.answer('discarded')
  pending[3]?.answer('held')
  t.same(await Promise.all([again, late]), ['held', 'held'], 'a newer answer held meanwhile serves')
})

t.test('bounded, and retain forgets what is not kept', async (t) => {
  const clock = new TestClock()
  const cache = new RefreshingCache<string>({
    clock,
    max: 2,
    refresh: async (key) => ({ value: key, ttlMs: 1000 }),
  })
  for (const key of ['a', 'b', 'c']) await cache.get(key, undefined)
  t.equal(cache.size, 2)
  t.notOk(cache.has('a'), 'the least recently used went first')
  cache.retain((key) => key === 'c')
  t.same([cache.has('b'), cache.has('c')], [false, true])
})

t.test('what a reader asks about goes to the refresh and to invalidate’s pick', async (t) => {
  const clock = new TestClock()
  const asked: string[] = []
  let release: (value: Refreshed<string>) => void = () => undefined
  const cache = new RefreshingCache<string, string>({
    clock,
    max: 10,
    refresh: (key, _last, about) => {
      asked.push(`${key}:${about}`)
      return new Promise((resolve) => (release = resolve))
    },
  })
  const reading = cache.get('https://x/a', 'target a')
  const seen: (string | undefined)[] = []
  cache.invalidate((_key, value, about) => {
    seen.push(value ?? about)
    return false
  }, 'drop')
  t.same(asked, ['https://x/a:target a'])
  t.same(seen, ['target a'], 'in flight, nothing held: pick sees what was asked')
  release({ value: 'v', ttlMs: 1000 })
  t.equal(await reading, 'v')
})

t.test(
  'fresh() reads only fresh values; settled() waits for refreshes behind stale reads',
  async (t) => {
    const clock = new TestClock()
    const { pending, refresh } = source()
    const cache = new RefreshingCache<string>({ clock, max: 10, refresh, serveExpired: () => true })
    t.equal(cache.fresh('k'), undefined, 'nothing held')
    const first = cache.get('k', undefined)
    pending[0]?.answer('v1')
    await first
    t.equal(cache.fresh('k'), 'v1')
    clock.advance(1000)
    t.equal(cache.fresh('k'), undefined, 'expired: not fresh...')
    t.equal(cache.now('k'), 'v1', '...though served at once')
    t.equal(cache.get('k', undefined), 'v1', 'and read: a refresh behind it')
    let settled = false
    const done = cache.settled().then(() => (settled = true))
    await tick()
    t.notOk(settled, 'the refresh is still under way')
    pending[1]?.answer('v2')
    await done
    t.equal(cache.fresh('k'), 'v2', 'settled once it answered')
    await cache.settled() // nothing under way: at once
    cache.invalidate((key) => key === 'k', 'expire')
    t.equal(cache.now('k'), undefined, 'expired by invalidate: never served expired')
    const waiting = cache.get('k', undefined)
    t.ok(waiting instanceof Promise, 'the next read waits for the source')
    pending[2]?.answer('v3')
    t.equal(await waiting, 'v3')
    clock.advance(1000)
    t.equal(cache.now('k'), 'v3', 'a value refreshed since is served expired again')
  },
)
