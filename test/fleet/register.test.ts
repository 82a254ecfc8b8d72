import fastify from 'fastify'
import { Redis } from 'ioredis'
import t from 'tap'
import { connectRedis } from '../../src/fleet/redis.js'
import { registerSharedStore } from '../../src/fleet/register.js'
import type { SharedEvents } from '../../src/fleet/store.js'
import { clientsBecome, startRedisServer } from '../helpers/redis-server.js'
import { waitUntil } from '../helpers/wait.js'

const RELEASES = 'https://github.com/example/bakery/releases/download'

/** Events that remember whether the store said it is up. */
function events(): SharedEvents & { up: boolean[] } {
  const up: boolean[] = []
  return { up, read: () => {}, available: (state) => up.push(state), invalidation: () => {} }
}

t.test('without a connection no store is made', async (t) => {
  const app = fastify()
  t.teardown(() => app.close())
  const told = events()
  const store = await registerSharedStore(app, null, {
    clock: performance,
    events: told,
    releases: RELEASES,
  })
  t.equal(store, null)
  t.same(told.up, [])
})

t.test(
  'keys are kept apart per releases URL; closing the app closes both connections',
  async (t) => {
    const redis = await startRedisServer()
    t.teardown(() => redis.close())
    const client = new Redis(redis.url)
    t.teardown(() => client.disconnect())

    const app = fastify()
    const told = events()
    const plan = { url: redis.url, rateLimit: false, sharedState: true }
    const store = await registerSharedStore(app, connectRedis(plan, app.log), {
      clock: performance,
      events: told,
      releases: RELEASES,
    })
    if (store === null) throw new Error('a connection was given: a store is expected')
    await waitUntil(() => told.up.includes(true))
    const ask = async () => ({ value: Buffer.from('exists'), ttlMs: 60_000, share: true })
    t.equal((await store.answer('check', 'kubernetes', 'url', ask, 1_000)).result, 'asked')
    const keys = await client.keys('*')
    t.ok(keys.length > 0, 'the answer was saved')
    t.same(
      keys.filter((key) => !key.startsWith(`sysext-redirector:${RELEASES}:`)),
      [],
      'every key starts with the prefix and the releases URL',
    )
    t.equal(await clientsBecome(client, 3), 3, 'the store, its subscriber and this test')

    const downs = told.up.filter((up) => !up).length
    await app.close()
    t.equal(await clientsBecome(client, 1), 1, 'only this test is left')
    t.equal(told.up.filter((up) => !up).length, downs, 'a deliberate close is no outage')
  },
)
