import t from 'tap'
import { parseConfig } from '../../src/config/service.js'
import { parseIndexConfig } from '../../src/config/manifests.js'

t.test('defaults', async (t) => {
  t.same(parseIndexConfig({}), {
    enabled: true,
    ttlMs: 300_000,
    retryMs: 15_000,
    staleMaxMs: 86_400_000,
    snapshots: true,
    holdMaxMs: 600_000,
    fetchTimeoutMs: 10_000,
    maxBytes: 4 * 1024 * 1024,
    maxExtensions: 500,
    cacheMaxBytes: 33_554_432,
  })
  t.same(parseConfig({}).index, parseIndexConfig({}), 'part of the service config')
  t.equal(
    parseIndexConfig({ INDEX_MAX_BYTES: '8388608', INDEX_CACHE_MAX_BYTES: '41943040' })
      .cacheMaxBytes,
    41_943_040,
    'room for a global manifest and an extension’s, both at INDEX_MAX_BYTES: taken',
  )
})

t.test('reads every setting', async (t) => {
  t.same(
    parseIndexConfig({
      MANIFEST_INDEX: 'false',
      INDEX_TTL: '1m',
      INDEX_RETRY: '2s',
      INDEX_STALE_MAX: '0s',
      SNAPSHOT_HOLD_MAX: '1m',
      SNAPSHOTS: 'false',
      INDEX_FETCH_TIMEOUT: '3s',
      INDEX_MAX_BYTES: '2048',
      INDEX_MAX_EXTENSIONS: '7',
      INDEX_CACHE_MAX_BYTES: '2097152',
    }),
    {
      enabled: false,
      ttlMs: 60_000,
      retryMs: 2000,
      staleMaxMs: 0,
      snapshots: false,
      holdMaxMs: 60_000,
      fetchTimeoutMs: 3000,
      maxBytes: 2048,
      maxExtensions: 7,
      cacheMaxBytes: 2_097_152,
    },
  )
})

t.test('a bad value names the variable and what it accepts', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { MANIFEST_INDEX: 'maybe' },
      /^MANIFEST_INDEX="maybe" is not valid: expected true or false \(or 1 or 0, yes or no, on or off\)$/,
    ],
    [{ INDEX_TTL: '0s' }, /^INDEX_TTL="0s" is not valid: expected a duration above zero/],
    [{ INDEX_RETRY: '0ms' }, /^INDEX_RETRY="0ms" is not valid: expected a duration above zero/],
    [{ INDEX_TTL: '5 minutes' }, /^INDEX_TTL="5 minutes" is not valid: expected a duration/],
    [{ INDEX_FETCH_TIMEOUT: '11m' }, /^INDEX_FETCH_TIMEOUT="11m" is not valid/],
    [
      { INDEX_MAX_BYTES: '100' },
      /^INDEX_MAX_BYTES="100" is not valid: expected a whole number from 1024 to 268435456$/,
    ],
    [{ INDEX_MAX_EXTENSIONS: '0' }, /^INDEX_MAX_EXTENSIONS="0" is not valid/],
    [{ INDEX_CACHE_MAX_BYTES: '1000' }, /^INDEX_CACHE_MAX_BYTES="1000" is not valid/],
    [
      { INDEX_MAX_BYTES: '8388608', INDEX_CACHE_MAX_BYTES: '41943039' },
      /^INDEX_CACHE_MAX_BYTES="41943039" is not valid: expected at least 41943040 \(5 × INDEX_MAX_BYTES, 8388608\) so that the global manifest and an extension's fit together; raise it or lower INDEX_MAX_BYTES$/,
    ],
    [
      { INDEX_MAX_BYTES: '8388608' },
      /^INDEX_CACHE_MAX_BYTES \(unset: 33554432\) is too small for INDEX_MAX_BYTES: expected at least 41943040/,
    ],
  ]
  for (const [env, message] of cases) {
    t.throws(
      () => parseIndexConfig(env),
      { code: 'SR_CONFIG_INVALID', message },
      String(Object.keys(env)[0]),
    )
  }
})
