import t from 'tap'
import { normaliseTarget } from '../../src/path/normalise.js'
import { fallback, releasesBase, resolve, singleSource, tryRule } from '../../src/table/resolve.js'
import { compileTable } from '../../src/table/table.js'

const origins = singleSource('https://github.test/o/r/releases/download', 'https://docs.test/x')
const table = compileTable({
  rules: [
    {
      name: 'image',
      path: '/extensions/{ext}-{version}.raw',
      release: '{ext}-{version}',
      asset: '{ext}-{version}.raw',
    },
    { name: 'any', path: '/extensions/{name}', release: '{name}', asset: 'SHA256SUMS' },
  ],
})

t.test('first match wins; a path no rule takes goes to the fallback, query kept', async (t) => {
  t.match(resolve(table, normaliseTarget('/extensions/k-1.raw?q'), origins), {
    kind: 'release',
    rule: { name: 'image' },
    location: `${origins.releases}/k-1/k-1.raw`,
  })
  t.match(resolve(table, normaliseTarget('/extensions/k'), origins), { rule: { name: 'any' } })
  t.same(resolve(table, normaliseTarget('/docs/a b?x=1'), origins), {
    kind: 'fallback',
    location: 'https://docs.test/x/docs/a%20b?x=1',
  })
  t.same(fallback(normaliseTarget('/'), origins), {
    kind: 'fallback',
    location: 'https://docs.test/x/',
  })
})

t.test('tryRule says why it does not take a path, and never names . or ..', async (t) => {
  const [image, any] = table.rules as [(typeof table.rules)[0], (typeof table.rules)[0]]
  t.equal(tryRule(image, '/docs/', origins), 'does not fit /extensions/{ext}-{version}.raw')
  t.equal(tryRule(any, '/extensions/..', origins), 'would name "..", which is not a file')
})

t.test('releasesBase: one slash between the parts', async (t) => {
  t.equal(releasesBase('https://github.com/', 'o/r'), 'https://github.com/o/r/releases/download')
})
