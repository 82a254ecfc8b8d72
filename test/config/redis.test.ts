import t from 'tap'
import { parseRedisPlan } from '../../src/config/redis.js'

t.test('one plan for REDIS_URL: what it is used for, or none', async (t) => {
  t.equal(parseRedisPlan({}), undefined, 'no Redis: counts in memory, each instance alone')
  const url = 'redis://valkey:6379'
  t.same(parseRedisPlan({ REDIS_URL: url }), { url, rateLimit: true, sharedState: true })
  t.same(
    parseRedisPlan({ REDIS_URL: url, SHARED_STATE: 'false' }),
    { url, rateLimit: true, sharedState: false },
    'counts in Redis, answers per instance',
  )
  t.same(
    parseRedisPlan({ REDIS_URL: url, RATE_LIMIT_SHARED: 'false' }),
    { url, rateLimit: false, sharedState: true },
    'answers shared, counts in memory (the redirect lane stays on)',
  )
  t.equal(
    parseRedisPlan({ REDIS_URL: url, RATE_LIMIT_SHARED: 'false', SHARED_STATE: 'false' }),
    undefined,
    'nothing to use it for: no connection at all',
  )
  t.equal(parseRedisPlan({ SHARED_STATE: 'true' }), undefined, 'nothing to share through')
})

t.test('bad values stop the start, naming the variable', async (t) => {
  t.throws(() => parseRedisPlan({ REDIS_URL: 'redis://x:1', SHARED_STATE: 'sometimes' }), {
    code: 'SR_CONFIG_INVALID',
    message:
      'SHARED_STATE="sometimes" is not valid: expected true or false (or 1 or 0, yes or no, on or off)',
  })
  t.throws(
    () => parseRedisPlan({ RATE_LIMIT_SHARED: 'maybe' }),
    {
      code: 'SR_CONFIG_INVALID',
      message: /^RATE_LIMIT_SHARED="maybe" is not valid/,
    },
    'checked even without a URL',
  )
  for (const bad of ['http://x:1', 'redis://', 'not a url']) {
    t.throws(
      () => parseRedisPlan({ REDIS_URL: bad }),
      {
        code: 'SR_CONFIG_INVALID',
        message: 'REDIS_URL is not valid: expected redis://host:port or rediss://host:port',
      },
      `${bad}: named, never echoed (it may hold a password)`,
    )
  }
  t.throws(
    () => parseRedisPlan({ REDIS_URL: 'http://user:hunter2@redis' }),
    {
      message: /^(?!.*hunter2)/,
    },
    'a password in a bad REDIS_URL is not echoed',
  )
})
