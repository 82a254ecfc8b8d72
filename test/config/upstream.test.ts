import t from 'tap'
import { parseConfig } from '../../src/config/service.js'
import { isRedirectorError } from '../../src/core/errors.js'
import { parseUpstreamConfig } from '../../src/config/upstream.js'

t.test('defaults: checks on, fail open, short timeouts, documented lifetimes', async (t) => {
  t.same(parseUpstreamConfig({}), {
    enabled: true,
    failMode: 'open',
    connectTimeoutMs: 2000,
    responseTimeoutMs: 3000,
    ttlMs: {
      versioned: 86_400_000,
      mutable: 60_000,
      missing: 30_000,
      signature: 3_600_000,
      unknown: 5000,
    },
    cacheMax: 10_000,
    cacheMaxBytes: 16_777_216,
    checksPerSecond: 50,
    checksPerClient: 5,
  })
  t.same(parseConfig({}).upstream, parseUpstreamConfig({}), 'part of the service config')
})

t.test('reads every setting', async (t) => {
  t.same(
    parseUpstreamConfig({
      UPSTREAM_CHECKS: 'false',
      UPSTREAM_FAIL_MODE: 'closed',
      UPSTREAM_CONNECT_TIMEOUT: '250ms',
      UPSTREAM_TIMEOUT: '1s',
      CHECK_TTL_VERSIONED: '7d',
      CHECK_TTL_MUTABLE: '2m',
      CHECK_TTL_MISSING: '10s',
      CHECK_TTL_SIGNATURE: '6h',
      CHECK_TTL_UNKNOWN: '1500ms',
      CHECK_CACHE_MAX: '50',
      CHECK_CACHE_MAX_BYTES: '1048576',
      UPSTREAM_CHECKS_PER_SECOND: '7',
      UPSTREAM_CHECKS_PER_CLIENT: '3',
    }),
    {
      enabled: false,
      failMode: 'closed',
      connectTimeoutMs: 250,
      responseTimeoutMs: 1000,
      ttlMs: {
        versioned: 604_800_000,
        mutable: 120_000,
        missing: 10_000,
        signature: 21_600_000,
        unknown: 1500,
      },
      cacheMax: 50,
      cacheMaxBytes: 1_048_576,
      checksPerSecond: 7,
      checksPerClient: 3,
    },
  )
  for (const value of ['0', 'no', 'off', 'FALSE']) {
    t.equal(parseUpstreamConfig({ UPSTREAM_CHECKS: value }).enabled, false, value)
  }
  t.equal(parseUpstreamConfig({ UPSTREAM_CHECKS: 'yes' }).enabled, true)
  t.equal(parseUpstreamConfig({ CHECK_TTL_MISSING: '' }).ttlMs.missing, 30_000, 'empty: default')
  t.equal(
    parseUpstreamConfig({ UPSTREAM_CHECKS_PER_SECOND: '3' }).checksPerClient,
    1,
    "a client's share: a tenth of the instance's, rounded up",
  )
  t.throws(
    () => parseUpstreamConfig({ UPSTREAM_CHECKS_PER_SECOND: '4', UPSTREAM_CHECKS_PER_CLIENT: '5' }),
    { message: 'UPSTREAM_CHECKS_PER_CLIENT="5" is not valid: expected a whole number from 1 to 4' },
    'never more than the instance may send',
  )
})

t.test('a bad value names the variable and what it accepts', async (t) => {
  // What a duration setting accepts, its limit named: a year unless it says less.
  const examples = (most: string): string =>
    most === '1m' ? '500ms or 30s' : most === '10m' ? '500ms, 30s or 5m' : '500ms, 30s, 5m or 1h'
  const duration = (most = '365d'): string =>
    `expected a duration such as ${examples(most)}, at most ${most}`
  const tooLong = (most: string): string => `expected a duration at most ${most}`
  const positive = (most = '365d'): string =>
    `expected a duration above zero such as ${examples(most)}, at most ${most}`
  const cases: [string, string, string][] = [
    ['UPSTREAM_CHECKS', 'maybe', 'expected true or false'],
    ['UPSTREAM_FAIL_MODE', 'ajar', 'expected one of open, closed'],
    ['UPSTREAM_CONNECT_TIMEOUT', '5', duration('1m')],
    ['UPSTREAM_CONNECT_TIMEOUT', '0ms', positive('1m')],
    ['UPSTREAM_CONNECT_TIMEOUT', '2m', tooLong('1m')],
    ['UPSTREAM_TIMEOUT', 'soon', duration('1m')],
    ['UPSTREAM_TIMEOUT', '0s', positive('1m')],
    ['UPSTREAM_TIMEOUT', '61s', tooLong('1m')],
    ['CHECK_TTL_VERSIONED', '1y', duration()],
    ['CHECK_TTL_VERSIONED', '0d', positive()],
    ['CHECK_TTL_VERSIONED', '366d', tooLong('365d')],
    ['CHECK_TTL_MUTABLE', '-1s', duration()],
    ['CHECK_TTL_MUTABLE', '0m', positive()],
    ['CHECK_TTL_MISSING', '30', duration()],
    ['CHECK_TTL_MISSING', '0s', positive()],
    ['CHECK_TTL_SIGNATURE', '0s', positive('1d')],
    ['CHECK_TTL_SIGNATURE', '25h', tooLong('1d')],
    ['CHECK_TTL_UNKNOWN', '0ms', positive('10m')],
    ['CHECK_TTL_UNKNOWN', '11m', tooLong('10m')],
    ['CHECK_CACHE_MAX', '0', 'expected a whole number from 1 to 10000000'],
    ['CHECK_CACHE_MAX', '1e3', 'expected a whole number from 1 to 10000000'],
    ['CHECK_CACHE_MAX', '10000001', 'expected a whole number from 1 to 10000000'],
    ['CHECK_CACHE_MAX_BYTES', '1000', 'expected a whole number from 65536 to 1073741824'],
    ['UPSTREAM_CHECKS_PER_SECOND', '0', 'expected a whole number from 1 to 100000'],
    ['UPSTREAM_CHECKS_PER_CLIENT', '0', 'expected a whole number from 1 to 50'],
    ['UPSTREAM_CHECKS_PER_CLIENT', '51', 'expected a whole number from 1 to 50'],
  ]
  for (const [name, value, accepts] of cases) {
    t.throws(
      () => parseConfig({ [name]: ` ${value} ` }),
      {
        code: 'SR_CONFIG_INVALID',
        message: `${name}=${JSON.stringify(value)} is not valid: ${accepts}`,
      },
      `${name}=${value}`,
    )
  }
  try {
    parseUpstreamConfig({ UPSTREAM_TIMEOUT: '0ms' })
    t.fail('should throw')
  } catch (err) {
    t.ok(isRedirectorError(err), 'a RedirectorError, so main.ts prints only its message')
  }
})
