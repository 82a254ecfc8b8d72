import { Counter, Registry } from 'prom-client'
import t from 'tap'
import { CounterTally } from '../../src/metrics/counter-tally.js'

t.test('counts kept in plain numbers, handed to the counter when it is read', async (t) => {
  const registry = new Registry()
  const tally = new CounterTally<'rule'>()
  const raw = tally.add({ rule: 'raw' })
  const fallback = tally.add({ rule: 'fallback' })
  const counter = new Counter({
    name: 'x_total',
    help: 'x',
    labelNames: ['rule'],
    registers: [registry],
    collect() {
      tally.flush(this)
    },
  })
  t.ok(counter)
  raw.count += 3
  t.match(await registry.metrics(), /^x_total\{rule="raw"\} 3$/m)
  t.notMatch(await registry.metrics(), /fallback/, 'a label set never counted is not listed')
  fallback.count++
  raw.count++
  const text = await registry.metrics()
  t.match(text, /^x_total\{rule="raw"\} 4$/m, 'added, not replaced')
  t.match(text, /^x_total\{rule="fallback"\} 1$/m)
})
