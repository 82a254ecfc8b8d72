import t from 'tap'
import { normaliseTarget } from '../../src/path/normalise.js'

t.test('smoke', async (t) => {
  t.same(normaliseTarget('/a//b/./c/../d?x=1'), { path: '/a/b/d', query: 'x=1' })
})
