import t from 'tap'
import { Breaker } from '../../src/core/breaker.js'
import { TestClock } from '../helpers/upstream.js'

t.test('open after failures in a row; one try after the pause; closed by a success', async (t) => {
  const clock = new TestClock()
  const said: string[] = []
  const breaker = new Breaker({
    failures: 3,
    openMs: 1000,
    clock,
    opened: (reason) => said.push(`opened: ${reason}`),
    closed: () => said.push('closed'),
  })
  breaker.failed('timeout')
  breaker.succeeded()
  t.same(said, [], 'a success resets the run of failures, silently')
  for (let i = 0; i < 3; i++) {
    t.ok(breaker.allows(), `closed: try ${i + 1}`)
    breaker.failed('timeout')
  }
  t.same(said, ['opened: timeout'])
  t.notOk(breaker.allows(), 'open: skip the store')
  clock.advance(1000)
  t.ok(breaker.allows(), 'the pause is over: one call tries')
  t.notOk(breaker.allows(), 'the others still skip')
  breaker.failed('timeout')
  t.same(said, ['opened: timeout'], 'still failing: open again, said once')
  t.notOk(breaker.allows())
  clock.advance(1000)
  t.ok(breaker.allows())
  breaker.succeeded()
  t.same(said, ['opened: timeout', 'closed'])
  t.ok(breaker.allows() && breaker.allows(), 'closed: everyone tries')
  for (let i = 0; i < 3; i++) breaker.failed('refused')
  t.same(said, ['opened: timeout', 'closed', 'opened: refused'], 'a new outage is said again')
})
