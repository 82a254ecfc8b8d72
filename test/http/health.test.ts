import type { AddressInfo } from 'node:net'
import t from 'tap'
import { testApp } from '../helpers/app.js'

t.test('/healthz answers at once; /readyz once the server listens', async (t) => {
  const { app } = await testApp()
  t.teardown(() => app.close())
  t.same(
    [(await app.inject('/healthz')).statusCode, (await app.inject('/healthz')).body],
    [200, 'ok\n'],
  )
  const early = await app.inject('/readyz')
  t.same([early.statusCode, early.body], [503, 'not ready\n'])
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.ok((app.server.address() as AddressInfo).port > 0)
  const ready = await app.inject('/readyz')
  t.same(
    [ready.statusCode, ready.body, ready.headers['cache-control']],
    [200, 'ready\n', 'no-store'],
  )
})
