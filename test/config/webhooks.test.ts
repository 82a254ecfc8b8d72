import t from 'tap'
import { parseConfig } from '../../src/config/service.js'
import { parseWebhookConfig } from '../../src/config/webhooks.js'

t.test('defaults: off, 1 MiB, from any address', async (t) => {
  t.same(parseWebhookConfig({}), { secret: undefined, maxBytes: 1024 * 1024, allow: [] })
  t.same(parseConfig({}).webhook, parseWebhookConfig({}), 'part of the service config')
})

t.test('reads every setting', async (t) => {
  t.same(
    parseWebhookConfig({
      GITHUB_WEBHOOK_SECRET: ' s3cret ',
      GITHUB_WEBHOOK_MAX_BYTES: '4096',
      GITHUB_WEBHOOK_ALLOW: '192.30.252.0/22, 2a0a:a440::/29',
    }),
    {
      secret: 's3cret',
      maxBytes: 4096,
      allow: [
        { address: '192.30.252.0', prefix: 22, family: 'ipv4' },
        { address: '2a0a:a440::', prefix: 29, family: 'ipv6' },
      ],
    },
  )
})

t.test('a bad value names the variable and what it accepts', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ GITHUB_WEBHOOK_MAX_BYTES: '1g' }, /^GITHUB_WEBHOOK_MAX_BYTES="1g" is not valid/],
    [
      { GITHUB_WEBHOOK_MAX_BYTES: '26214401' },
      /^GITHUB_WEBHOOK_MAX_BYTES="26214401" is not valid: expected a whole number from 1024 to 26214400$/,
    ],
    [{ GITHUB_WEBHOOK_ALLOW: 'github' }, /^GITHUB_WEBHOOK_ALLOW="github" is not valid/],
  ]
  for (const [env, message] of cases) {
    t.throws(() => parseWebhookConfig(env), { code: 'SR_CONFIG_INVALID', message })
  }
})
