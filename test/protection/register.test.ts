import t from 'tap'
import { testApp } from '../helpers/app.js'

// Each part is tested in its own file (client-ip, rate-limit, server-limits);
// this is their order: the client is known before the limit counts it.
t.test('protection in order: address, then the limit, on every answer nosniff', async (t) => {
  const { app } = await testApp({ TRUST_PROXY: 'fly', RATE_LIMIT_MAX: '1' })
  t.teardown(() => app.close())
  const from = (ip: string) =>
    app.inject({ url: '/extensions/kubernetes.conf', headers: { 'fly-client-ip': ip } })
  t.equal((await from('203.0.113.1')).statusCode, 302)
  const limited = await from('203.0.113.1')
  t.ok(limited.statusCode >= 400, 'the second from one client is over the limit')
  t.equal(limited.headers['x-content-type-options'], 'nosniff')
  t.equal((await from('203.0.113.2')).statusCode, 302, 'another client is counted apart')
})
