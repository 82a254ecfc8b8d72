import t from 'tap'
import { parseConfig } from '../../src/config/service.js'
import { parseMetricsConfig } from '../../src/config/metrics.js'

t.test('metrics listen on 9091 of loopback by default', async (t) => {
  // Loopback: the metrics stay off the public network unless a deployment says otherwise.
  t.same(parseMetricsConfig({}), { port: 9091, host: '127.0.0.1' })
  t.same(parseConfig({}).metrics, { port: 9091, host: '127.0.0.1' }, 'part of the service config')
})

t.test('METRICS_PORT and METRICS_HOST move them', async (t) => {
  t.same(parseMetricsConfig({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' }), {
    port: 0,
    host: '127.0.0.1',
  })
  t.throws(() => parseMetricsConfig({ METRICS_PORT: '70000' }), {
    code: 'SR_CONFIG_INVALID',
    message: /^METRICS_PORT=/,
  })
  t.throws(() => parseMetricsConfig({ METRICS_HOST: 'no such host!' }), {
    code: 'SR_CONFIG_INVALID',
    message: /^METRICS_HOST=/,
  })
})
