import t from 'tap'
import { parseSharedConfig } from '../../src/shared/config.js'

t.test('the store is REDIS_URL, unless SHARED_STATE=false', async (t) => {
  t.same(parseSharedConfig({}), { url: undefined }, 'no Redis: each instance alone')
  t.same(parseSharedConfig({ REDIS_URL: 'redis://valkey:6379' }), { url: 'redis://valkey:6379' })
  t.same(parseSharedConfig({ REDIS_URL: 'redis://valkey:6379', SHARED_STATE: 'true' }), {
    url: 'redis://valkey:6379',
  })
  t.same(
    parseSharedConfig({ REDIS_URL: 'redis://valkey:6379', SHARED_STATE: 'false' }),
    { url: undefined },
    'counts in Redis, answers per instance',
  )
  t.same(
    parseSharedConfig({ SHARED_STATE: 'true' }),
    { url: undefined },
    'nothing to share through',
  )
})

t.test('bad values stop the start, naming the variable', async (t) => {
  t.throws(() => parseSharedConfig({ REDIS_URL: 'redis://x:1', SHARED_STATE: 'sometimes' }), {
    code: 'SR_CONFIG_INVALID',
    message:
      'SHARED_STATE="sometimes" is not valid: expected true or false (or 1 or 0, yes or no, on or off)',
  })
  t.throws(() => parseSharedConfig({ REDIS_URL: 'http://x:1' }), {
    code: 'SR_CONFIG_INVALID',
    message: /^REDIS_URL is not valid/,
  })
})
