import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/fleet/redis.js'
import { testApp, type TestApp } from '../helpers/app.js'
import { clientsBecome, startRedisServer, type RedisServer } from '../helpers/redis-server.js'

const PATH = '/extensions/kubernetes/SHA256SUMS'
const CLIENT = '203.0.113.7'

/**
 * An app whose rate-limit counters live in the given Redis, once it has connected.
 * Only the counters: the shared store's own tests are store.test.ts and fleet.test.ts.
 */
async function appOn(t: Test, redis: RedisServer, max = 4): Promise<TestApp> {
  const built = await testApp({
    UPSTREAM_CHECKS: 'false',
    RATE_LIMIT_MAX: String(max),
    REDIS_URL: redis.url,
    SHARED_STATE: 'false',
  })
  t.teardown(() => built.app.close())
  await connected(built, 1)
  return built
}

/** Waits until the app has logged its nth Redis connection. */
async function connected({ logs }: TestApp, nth: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while (logs.filter((line) => String(line.msg).startsWith('redis connected')).length < nth) {
    if (Date.now() > deadline) throw new Error('the app did not connect to Redis')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Waits for a log line whose message starts with the text. */
async function logged(logs: TestApp['logs'], text: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const line = logs.find((l) => String(l.msg).startsWith(text))
    if (line !== undefined) return line
    if (Date.now() > deadline) throw new Error(`nothing logged starting "${text}"`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function storeErrors(app: TestApp['app']): Promise<number> {
  return (await app.metrics.rateLimitStoreErrors.get()).values[0]?.value ?? 0
}

const get = (app: TestApp['app'], remoteAddress = CLIENT) =>
  app.inject({ url: PATH, remoteAddress })

t.test('two instances share one count through Redis', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const a = await appOn(t, redis)
  const b = await appOn(t, redis)
  t.equal((await get(a.app)).statusCode, 302)
  t.equal((await get(b.app)).statusCode, 302)
  t.equal((await get(a.app)).statusCode, 302)
  t.equal((await get(b.app)).statusCode, 302, 'four requests over two instances: the limit')
  const limited = await get(a.app)
  t.equal(limited.statusCode, 503, 'the fifth is refused, though instance A saw only three')
  t.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60)
  t.equal((await get(b.app)).statusCode, 503, 'and on B too')
  t.equal((await get(b.app, '203.0.113.8')).statusCode, 302, 'another client is counted apart')

  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const keys = (await client.keys('*')).sort()
  t.same(keys, [
    'sysext-redirector:rate-limit:203.0.113.7',
    'sysext-redirector:rate-limit:203.0.113.8',
  ])
  t.equal(await client.get('sysext-redirector:rate-limit:203.0.113.7'), '6')
  const ttl = await client.pttl('sysext-redirector:rate-limit:203.0.113.7')
  t.ok(ttl > 0 && ttl <= 60_000, `the count expires with its one-minute window (${ttl} ms left)`)
  t.equal(await storeErrors(a.app), 0)
})

t.test(
  'Redis gone: requests are served unlimited (fail open), then limited again once it is back',
  async (t) => {
    const redis = await startRedisServer()
    t.teardown(() => redis.close())
    const { app, logs } = await appOn(t, redis, 2)
    t.equal((await get(app)).statusCode, 302)
    await redis.kill()
    const started = Date.now()
    for (let i = 0; i < 10; i++)
      t.equal((await get(app)).statusCode, 302, `request ${i} with Redis down is served`)
    t.ok(Date.now() - started < 2000, 'without waiting on Redis')
    t.equal(await storeErrors(app), 10, 'each one counted as a store error')
    t.equal(
      (await logged(logs, 'redis unavailable: rate limiting fails open until it is back')).level,
      40,
    )
    const warnings = logs.filter((line) => line.level === 40)
    t.equal(
      warnings.filter((line) => String(line.msg).startsWith('redis unavailable')).length,
      1,
      'the outage is logged once',
    )
    const failed = warnings.filter((line) => String(line.msg).startsWith('rate-limit store failed'))
    t.equal(failed.length, 1, 'one warning per minute for failed checks, not one per request')
    // What failed, in a line: no stack trace of the Redis client's insides.
    t.match(failed[0], { reason: /\S/ })
    t.notOk(JSON.stringify(failed[0]).includes('node_modules'), 'no stack')

    await redis.restart()
    await connected({ app, logs }, 2)
    t.equal((await get(app)).statusCode, 302)
    t.equal((await get(app)).statusCode, 302)
    t.equal((await get(app)).statusCode, 503, 'counting resumed on the fresh Redis')
    t.equal(await storeErrors(app), 10)
  },
)

t.test(
  'Redis hung: each check gives up after its timeout, and the request is served',
  async (t) => {
    const redis = await startRedisServer()
    t.teardown(() => redis.close())
    const { app } = await appOn(t, redis, 1)
    t.equal((await get(app)).statusCode, 302)
    t.equal((await get(app)).statusCode, 503)
    redis.pause()
    t.teardown(() => redis.resume())
    const started = Date.now()
    const res = await get(app)
    const took = Date.now() - started
    t.equal(res.statusCode, 302, 'served unlimited while Redis does not answer')
    t.ok(
      took >= REDIS_COMMAND_TIMEOUT_MS - 50 && took < 2000,
      `after the ${REDIS_COMMAND_TIMEOUT_MS} ms timeout (took ${took} ms)`,
    )
    t.equal(await storeErrors(app), 1)
    redis.resume()
  },
)

t.test('Redis unreachable from the start: the app starts and serves', async (t) => {
  const redis = await startRedisServer()
  await redis.kill()
  const { app, logs } = await testApp({
    UPSTREAM_CHECKS: 'false',
    RATE_LIMIT_MAX: '1',
    REDIS_URL: redis.url,
  })
  for (let i = 0; i < 3; i++) t.equal((await get(app)).statusCode, 302)
  t.equal(await storeErrors(app), 3)
  t.match(await logged(logs, 'redis unavailable'), { level: 40, reason: /ECONNREFUSED/ })
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 1000, 'and closes without waiting for Redis')
})

t.test('closing the app closes its Redis connection', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const { app, logs } = await appOn(t, redis)
  t.equal(await clientsBecome(client, 2), 2, 'the app and this test')
  await app.close()
  t.notOk(
    logs.some((line) => String(line.msg).startsWith('redis unavailable')),
    'a deliberate close is no outage',
  )
  t.equal(await clientsBecome(client, 1), 1, 'only this test is left')
})

t.test('Redis frozen: three requests wait for its timeout, the rest are not held up', async (t) => {
  // Issue 15, finding 6: a frozen Redis added 250 ms to every request while frozen.
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const { app, logs } = await appOn(t, redis, 1000)
  t.equal((await get(app)).statusCode, 302)
  redis.pause()
  t.teardown(() => redis.resume())
  for (let i = 0; i < 20; i++) t.equal((await get(app)).statusCode, 302, `request ${i + 1} served`)
  t.equal(await storeErrors(app), 3, 'three waited for the timeout and failed')
  const skipped = await app.metrics.registry.getSingleMetricAsString(
    'sysext_redirector_rate_limit_store_skipped_total',
  )
  t.match(
    skipped,
    /^sysext_redirector_rate_limit_store_skipped_total 17$/m,
    'seventeen did not wait',
  )
  t.match(
    logs.filter((line) => /keeps failing/.test(String(line.msg))),
    [{ seconds: 10 }],
    'said once, with for how long',
  )
  redis.resume()
})

t.test(
  'one plan, one connection: the rate limit and the shared store command through it',
  async (t) => {
    const redis = await startRedisServer()
    t.teardown(() => redis.close())
    const client = new Redis(redis.url)
    t.teardown(() => client.disconnect())
    const { app, logs } = await testApp({
      UPSTREAM_CHECKS: 'false',
      RATE_LIMIT_MAX: '4',
      REDIS_URL: redis.url,
    })
    t.teardown(() => app.close())
    await connected({ app, logs }, 1)
    t.match(
      logs.find((line) => String(line.msg).startsWith('redis connected')),
      {
        msg: 'redis connected: rate-limit counters and answers shared',
        uses: ['rate-limit counters', 'answers'],
      },
    )
    t.equal(
      await clientsBecome(client, 3),
      3,
      'the commands, the store’s listening connection and this test: no second command connection',
    )
    t.equal((await get(app)).statusCode, 302)
    t.equal(await client.get('sysext-redirector:rate-limit:203.0.113.7'), '1', 'counted through it')
    await redis.kill()
    t.match(await logged(logs, 'redis unavailable'), {
      msg: 'redis unavailable: rate limiting fails open, this instance goes on alone until it is back',
    })
    t.equal(
      logs.filter((line) => String(line.msg).startsWith('redis unavailable')).length,
      1,
      'one outage, said once for both uses',
    )
  },
)

t.test('RATE_LIMIT_SHARED=false: the store has the connection, the counts stay here', async (t) => {
  const redis = await startRedisServer()
  t.teardown(() => redis.close())
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const built = await testApp({
    UPSTREAM_CHECKS: 'false',
    RATE_LIMIT_MAX: '4',
    REDIS_URL: redis.url,
    RATE_LIMIT_SHARED: 'false',
  })
  t.teardown(() => built.app.close())
  await connected(built, 1)
  t.match(
    built.logs.find((line) => String(line.msg).startsWith('redis connected')),
    {
      msg: 'redis connected: answers shared',
      uses: ['answers'],
    },
  )
  t.not(built.app.redirectLane, null, 'counted here, the redirect lane stays on')
  t.equal((await get(built.app)).statusCode, 302)
  t.same(await client.keys('sysext-redirector:rate-limit:*'), [], 'no count in Redis')
})
