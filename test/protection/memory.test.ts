import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import t from 'tap'
import { testApp } from '../helpers/app.js'

// A real collection before each reading, so the heap holds only what is retained.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

t.test('thousands of distinct clients and paths leave the heap bounded', async (t) => {
  const { app } = await testApp({ TRUST_PROXY: 'fly', LOG_LEVEL: 'silent' })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const agent = new Agent({ connections: 8 })
  t.teardown(() => agent.close())
  // Each request: a new client (address), a new path, a long query.
  const send = async (i: number): Promise<number> => {
    const res = await request(
      `http://127.0.0.1:${port}/extensions/k${i}-v${i}-x86-64.raw?${'q'.repeat(i % 4000)}`,
      {
        dispatcher: agent,
        headers: { 'fly-client-ip': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
      },
    )
    await res.body.dump()
    return res.statusCode
  }
  const batch = async (from: number, count: number): Promise<void> => {
    for (let i = from; i < from + count; i += 8) {
      const statuses = await Promise.all(Array.from({ length: 8 }, (_, k) => send(i + k)))
      if (statuses.some((status) => status !== 302)) throw new Error(`answered ${statuses}`)
    }
  }
  await batch(0, 500)
  gc()
  const before = process.memoryUsage().heapUsed
  await batch(500, 4000)
  gc()
  const grown = (process.memoryUsage().heapUsed - before) / 1e6
  // 4000 rate-limit entries take about 2 MB; a request retained whole
  // (up to a 4 KB query, its headers, its objects) would take tens of MB.
  t.ok(grown < 10, `the heap grew by ${grown.toFixed(1)} MB over 4000 requests`)
})
