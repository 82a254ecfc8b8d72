import t from 'tap'
import { clientAddress, flyClientAddress } from '../../src/protection/client-ip.js'
import { testApp } from '../helpers/app.js'

t.test('behind Fly: the header when it is an address, else the peer', async (t) => {
  t.equal(flyClientAddress('203.0.113.9', '10.0.0.1'), '203.0.113.9')
  t.equal(flyClientAddress('2001:db8::1', '10.0.0.1'), '2001:db8::1')
  t.equal(flyClientAddress('not-an-ip', '10.0.0.1'), '10.0.0.1')
  t.equal(
    flyClientAddress(['203.0.113.9', '1.1.1.1'], '10.0.0.1'),
    '10.0.0.1',
    'repeated: not trusted',
  )
  t.equal(flyClientAddress(undefined, undefined), undefined)
})

t.test('request.ip follows TRUST_PROXY', async (t) => {
  for (const [trust, expected] of [
    ['fly', '203.0.113.9'],
    ['false', '127.0.0.1'],
  ] as const) {
    const { app, logs } = await testApp({ TRUST_PROXY: trust })
    t.teardown(() => app.close())
    await app.inject({
      url: '/extensions/kubernetes.conf',
      headers: { 'fly-client-ip': '203.0.113.9' },
    })
    t.match(
      logs.find((line) => line.msg === 'request'),
      { client: expected },
      `TRUST_PROXY=${trust}`,
    )
  }
})

t.test('clientAddress: per TRUST_PROXY, an IPv4-mapped peer as IPv4', async (t) => {
  t.equal(clientAddress('false', '203.0.113.9', '::ffff:192.0.2.7'), '192.0.2.7')
  t.equal(clientAddress('false', undefined, '::1'), '::1')
  t.equal(clientAddress('fly', '203.0.113.9', '::ffff:192.0.2.7'), '203.0.113.9')
  t.equal(clientAddress('fly', undefined, '::ffff:192.0.2.7'), '192.0.2.7', 'no header: the peer')
})
