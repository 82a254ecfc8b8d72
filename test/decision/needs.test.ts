import t from 'tap'
import { describeNeed } from '../../src/decision/needs.js'

t.test('every need, said to a person', async (t) => {
  const target = {
    source: 'bakery',
    release: 'r',
    asset: 'a',
    location: 'https://github.test/r/a',
    cache: 'mutable',
  } as const
  t.equal(
    describeNeed({ kind: 'check', target }),
    'an existence check: HEAD https://github.test/r/a',
  )
  t.match(describeNeed({ kind: 'reading', file: 'k.raw' }), /^the manifest index, to read k\.raw/)
  t.equal(
    describeNeed({ kind: 'extension', source: 'bakery', name: 'k' }),
    'the manifest index of bakery, for extension k',
  )
  t.equal(
    describeNeed({ kind: 'extensions', source: 'bakery' }),
    'the manifest index of bakery, for every extension',
  )
  t.equal(
    describeNeed({ kind: 'publishes', source: 'community', name: 'k' }),
    'the global manifest of community, to see whether it publishes k',
  )
})
