import t from 'tap'
import { parseConfig } from '../../src/config/service.js'
import { DEFAULT_RATE_LIMIT_MAX, parseProtectionConfig } from '../../src/config/protection.js'

t.test('defaults: socket addresses, a generous limit answered 503, no Redis', async (t) => {
  t.same(parseProtectionConfig({}), {
    trustProxy: 'false',
    rateLimit: { max: DEFAULT_RATE_LIMIT_MAX, status: 503, allowlist: [] },
  })
  t.equal(DEFAULT_RATE_LIMIT_MAX, 6000)
  t.same(parseConfig({}).protection, parseProtectionConfig({}), 'part of the service config')
})

t.test('reads every setting', async (t) => {
  t.same(
    parseProtectionConfig({
      TRUST_PROXY: 'fly',
      RATE_LIMIT_MAX: '0',
      RATE_LIMIT_STATUS: '429',
      RATE_LIMIT_ALLOWLIST: ' 203.0.113.0/24,2001:db8::/32  198.51.100.7 ,, ',
    }),
    {
      trustProxy: 'fly',
      rateLimit: {
        max: 0,
        status: 429,
        allowlist: [
          { address: '203.0.113.0', prefix: 24, family: 'ipv4' },
          { address: '2001:db8::', prefix: 32, family: 'ipv6' },
          { address: '198.51.100.7', prefix: 32, family: 'ipv4' },
        ],
      },
    },
  )
  t.equal(parseProtectionConfig({ TRUST_PROXY: 'false' }).trustProxy, 'false')
})

t.test('a bad value stops the start, naming the variable and what it accepts', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ TRUST_PROXY: 'true' }, /^TRUST_PROXY="true" is not valid: expected one of false, fly$/],
    [{ TRUST_PROXY: 'x-forwarded-for' }, /^TRUST_PROXY=/],
    [
      { RATE_LIMIT_MAX: '-1' },
      /^RATE_LIMIT_MAX="-1" is not valid: expected a whole number from 0 to/,
    ],
    [{ RATE_LIMIT_MAX: '10/s' }, /^RATE_LIMIT_MAX=/],
    [
      { RATE_LIMIT_STATUS: '418' },
      /^RATE_LIMIT_STATUS="418" is not valid: expected one of 503, 429$/,
    ],
    [
      { RATE_LIMIT_ALLOWLIST: '10.0.0.0/8, 10.0.0.0/33' },
      /^RATE_LIMIT_ALLOWLIST="10.0.0.0\/8, 10.0.0.0\/33" is not valid: "10.0.0.0\/33" is not an IP address or CIDR range/,
    ],
    [{ RATE_LIMIT_ALLOWLIST: 'office.example.com' }, /"office.example.com" is not an IP address/],
  ]
  for (const [env, message] of cases) {
    t.throws(
      () => parseProtectionConfig(env),
      { code: 'SR_CONFIG_INVALID', message },
      JSON.stringify(env),
    )
  }
})
