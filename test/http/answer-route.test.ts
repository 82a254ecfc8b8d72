import t from 'tap'
import { testApp } from '../helpers/app.js'

// Every answer kind through the route is compared with explain and the lane
// (test/decision/, test/fuzz/lane-vs-route.test.ts); here, what it sets.
t.test('the route renders the answer and records it on the request', async (t) => {
  const { app, logs } = await testApp()
  t.teardown(() => app.close())
  const redirect = await app.inject('/extensions/kubernetes.conf')
  t.equal(redirect.statusCode, 302)
  t.equal(redirect.body, '')
  const refused = await app.inject('/extensions/a%00b.raw')
  t.same(
    [refused.statusCode, refused.headers['cache-control'], refused.body],
    [400, 'no-store', 'Bad Request: path contains a control character\n'],
  )
  const lines = logs.filter((line) => line.msg === 'request')
  t.match(lines, [
    { rule: 'transfer', upstream: 'unchecked', status: 302 },
    { rule: null, upstream: null, status: 400 },
  ])
})
