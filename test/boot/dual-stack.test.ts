import t from 'tap'
import { DUAL_STACK, listenFirst } from '../../src/boot/dual-stack.js'

const failing = (code: string) => Object.assign(new Error(`listen ${code}`), { code })

t.test('the first host the machine has', async (t) => {
  const tried: string[] = []
  const listen = async (host: string) => {
    tried.push(host)
  }
  t.equal(await listenFirst(DUAL_STACK, listen), '::', 'IPv6 and IPv4 alike, where it can')
  t.same(tried, ['::'])
})

t.test('a machine without IPv6: every IPv4 address instead', async (t) => {
  for (const code of ['EAFNOSUPPORT', 'EADDRNOTAVAIL']) {
    const tried: string[] = []
    const listen = async (host: string) => {
      tried.push(host)
      if (host === '::') throw failing(code)
    }
    t.equal(await listenFirst(DUAL_STACK, listen), '0.0.0.0', code)
    t.same(tried, ['::', '0.0.0.0'])
  }
})

t.test('any other failure, or the last host failing, is the answer', async (t) => {
  await t.rejects(
    listenFirst(DUAL_STACK, async () => {
      throw failing('EADDRINUSE')
    }),
    { code: 'EADDRINUSE' },
    'the port in use: not another family’s business',
  )
  await t.rejects(
    listenFirst(['10.9.9.9'], async () => {
      throw failing('EADDRNOTAVAIL')
    }),
    { code: 'EADDRNOTAVAIL' },
    'a HOST given is the only one tried',
  )
})
