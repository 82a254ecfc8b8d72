import t from 'tap'
import { ClientCounts } from '../../src/protection/client-counts.js'

t.test('counts per client in fixed windows from the first request', async (t) => {
  let now = 1_000
  const counts = new ClientCounts(10, 60_000, () => now)
  t.same(counts.hit('a'), { current: 1, ttl: 60_000 })
  now += 59_000
  t.same(counts.hit('a'), { current: 2, ttl: 1_000 }, 'same window: the time left shrinks')
  t.same(counts.hit('b'), { current: 1, ttl: 60_000 }, 'each client on its own')
  now += 1_000
  t.same(counts.hit('a'), { current: 1, ttl: 60_000 }, 'a new window once the old one is over')
})

t.test('bounded: past the limit the least recently seen client is forgotten', async (t) => {
  const counts = new ClientCounts(2, 60_000, () => 5)
  counts.hit('a')
  counts.hit('a')
  counts.hit('b')
  counts.hit('c')
  t.equal(counts.hit('a').current, 1, 'a was forgotten')
  t.equal(counts.hit('c').current, 2)
})

t.test('as the plugin’s store: the same counts, from every child', async (t) => {
  const counts = new ClientCounts(10, 60_000, () => 5)
  const Store = counts.storeClass()
  const store = new Store({})
  const child = store.child({} as Parameters<typeof store.child>[0])
  const results: unknown[] = []
  store.incr('a', (error, result) => results.push(error, result))
  child.incr('a', (error, result) => results.push(error, result))
  t.same(results, [null, { current: 1, ttl: 60_000 }, null, { current: 2, ttl: 60_000 }])
  t.equal(counts.hit('a').current, 3, 'and the lane adds to them')
})
