import t from 'tap'
import { startSummary } from '../../src/boot/summary.js'
import { resolveSettings } from '../../src/config/settings.js'
import { DEFAULT_TABLE_FILE } from '../../src/config/table-file.js'

const listening = {
  service: { address: '0.0.0.0', family: 'IPv4', port: 8080 },
  metrics: { address: '::1', family: 'IPv6', port: 9091 },
}

async function summaryOf(env: Record<string, string>, file = DEFAULT_TABLE_FILE) {
  const settings = await resolveSettings(env, file)
  return { summary: startSummary(settings, listening), table: settings.table }
}

t.test('a table of several sources: each source’s releases', async (t) => {
  const file = new URL('../../tables/fedora-sysexts.yaml', import.meta.url).pathname
  const { summary } = await summaryOf({}, file)
  t.match(summary, {
    releases: 'https://github.com/fedora-sysexts/fedora/releases/download',
    sources: {
      fedora: 'https://github.com/fedora-sysexts/fedora/releases/download',
      community: 'https://github.com/fedora-sysexts/community/releases/download',
    },
  })
  t.notOk('sources' in (await summaryOf({})).summary, 'one source: releases alone, as before')
})

t.test('the defaults: the Flatcar bakery, everything on', async (t) => {
  const { summary, table } = await summaryOf({})
  t.same(summary, {
    releases: 'https://github.com/flatcar/sysext-bakery/releases/download',
    fallback: 'https://flatcar.github.io/sysext-bakery',
    table: { file: DEFAULT_TABLE_FILE, rules: table.rules.length },
    checks: { failMode: 'open', perSecond: 50, perClient: 5 },
    index: { webhook: 'off' },
    lane: 'on',
    rateLimit: { perMinute: 6000, store: 'memory' },
    shared: 'off',
    listening: '0.0.0.0:8080',
    metrics: '[::1]:9091',
  })
  t.ok(table.rules.length > 0)
})

t.test('what is off says off; secrets are never in it', async (t) => {
  const { summary } = await summaryOf({
    BAKERY_REPO: 'acme/bakery',
    UPSTREAM_CHECKS: 'false',
    MANIFEST_INDEX: 'false',
    REDIRECT_LANE: 'false',
    RATE_LIMIT_MAX: '0',
    GITHUB_WEBHOOK_SECRET: 'hush',
  })
  t.match(summary, {
    releases: 'https://github.com/acme/bakery/releases/download',
    checks: 'off',
    index: 'off',
    lane: 'off',
    rateLimit: 'off',
  })
  const withRedis = await summaryOf({
    REDIS_URL: 'redis://user:s3cret@redis.internal',
    GITHUB_WEBHOOK_SECRET: 'hush',
    UPSTREAM_FAIL_MODE: 'closed',
  })
  t.match(withRedis.summary, {
    rateLimit: { store: 'redis redis.internal:6379' },
    shared: 'redis redis.internal:6379',
    lane: 'off',
    index: { webhook: 'on' },
    checks: { failMode: 'closed' },
  })
  const line = JSON.stringify(withRedis.summary)
  t.notMatch(line, /s3cret|hush|user/, 'no password, no secret')
  const tls = await summaryOf({ REDIS_URL: 'rediss://redis.internal:6380' })
  t.match(tls.summary, { rateLimit: { store: 'redis redis.internal:6380' } })
  const countsAlone = await summaryOf({ REDIS_URL: 'redis://r:6379', RATE_LIMIT_SHARED: 'false' })
  t.match(countsAlone.summary, {
    rateLimit: { store: 'memory' },
    shared: 'redis r:6379',
    lane: 'on',
  })
  const limitOff = await summaryOf({ REDIS_URL: 'redis://r:6379', RATE_LIMIT_MAX: '0' })
  t.match(limitOff.summary, { rateLimit: 'off', lane: 'on' }, 'nothing to count: the lane is on')
  const countsOnly = await summaryOf({ REDIS_URL: 'redis://r:6379', SHARED_STATE: 'false' })
  t.match(countsOnly.summary, { rateLimit: { store: 'redis r:6379' }, shared: 'off' })
})
