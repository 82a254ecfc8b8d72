import t from 'tap'
import { requestIds } from '../../src/http/request-ids.js'

t.test('one sequence per app, in base 36, wrapping before overflow', async (t) => {
  const next = requestIds()
  t.same([next(), next()], ['req-1', 'req-2'])
  for (let i = 3; i < 36; i++) next()
  t.equal(next(), 'req-10', '36 in base 36')
  t.equal(requestIds()(), 'req-1', 'each app its own')
})
