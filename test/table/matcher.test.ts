import t from 'tap'
import { compileMatcher, matchPath, type Matcher } from '../../src/table/matcher.js'
import { parseTemplate } from '../../src/table/template.js'

const compile = (template: string): Matcher => compileMatcher(parseTemplate(template))
const RAW = compile('/{prefix*}/extensions/{sub*}/{ext}-{version}-{arch:x86-64|arm64}.raw')

t.test('captures greedily, like the regex it replaces', async (t) => {
  t.same(matchPath(RAW, '/extensions/kubernetes-v1.32.2-x86-64.raw'), {
    prefix: '',
    sub: '',
    ext: 'kubernetes',
    version: 'v1.32.2',
    arch: 'x86-64',
  })
  t.same(
    matchPath(RAW, '/extensions/crio-v1.30.0-rc1-arm64.raw'),
    {
      prefix: '',
      sub: '',
      ext: 'crio-v1.30.0',
      version: 'rc1',
      arch: 'arm64',
    },
    'the earlier capture takes the most; the tag is the same either way',
  )
  t.same(
    matchPath(RAW, '/a/b/extensions/c/d/docker-compose-2.34.0-x86-64.raw'),
    {
      prefix: 'a/b',
      sub: 'c/d',
      ext: 'docker-compose',
      version: '2.34.0',
      arch: 'x86-64',
    },
    'wildcards take whole segments, without their trailing slash',
  )
})

t.test('refuses what the template does not describe', async (t) => {
  for (const path of [
    '/extensions/kubernetes-v1.32.2-riscv64.raw',
    '/extensions/kubernetes-x86-64.raw',
    '/extensions/-v1-x86-64.raw',
    '/extensions/kubernetes-v1.32.2-x86-64.raw2',
    '/extensions/kubernetes-v1.32.2-x86-64xraw',
    '/extension/kubernetes-v1.32.2-x86-64.raw',
    '/extensions/a b-1-x86-64.raw',
    '/extensions/k%20-1-x86-64.raw',
    '/extensions/é-1-x86-64.raw',
    'extensions/k-1-x86-64.raw',
  ]) {
    t.equal(matchPath(RAW, path), null, path)
  }
})

t.test('choices are whole words, tried in order', async (t) => {
  const m = compile('/{file:SHA256SUMS|SHA256SUMS.gpg|SHA256SUMS.sha256.asc}')
  t.same(matchPath(m, '/SHA256SUMS'), { file: 'SHA256SUMS' })
  t.same(matchPath(m, '/SHA256SUMS.gpg'), { file: 'SHA256SUMS.gpg' })
  t.same(matchPath(m, '/SHA256SUMS.sha256.asc'), { file: 'SHA256SUMS.sha256.asc' })
  t.equal(matchPath(m, '/SHA256SUMS.sha256'), null)
  t.equal(matchPath(m, '/SHA256SUMSS'), null)
})

t.test('a trailing wildcard takes any rest, slashes included', async (t) => {
  const m = compile('/docs/{rest*}')
  t.same(matchPath(m, '/docs/a/b/c.html'), { rest: 'a/b/c.html' })
  t.same(matchPath(m, '/docs/'), { rest: '' })
  t.equal(matchPath(m, '/docs'), null)
})

t.test('a middle wildcard may take no segment at all', async (t) => {
  const m = compile('/{p*}/x')
  t.same(matchPath(m, '/x'), { p: '' })
  t.same(matchPath(m, '/a/x'), { p: 'a' })
  t.equal(matchPath(m, '//x'), null, 'an empty segment is not a segment')
  t.equal(matchPath(m, '/ax'), null)
})

t.test('literal-only templates', async (t) => {
  const m = compile('/extensions/SHA256SUMS')
  t.same(matchPath(m, '/extensions/SHA256SUMS'), {})
  t.equal(matchPath(m, '/extensions/SHA256SUMS/'), null)
})

// The paths url-map.md warns about: a backtracking engine takes exponential
// time on them. The VM steps each live thread once per input char, so the
// work must stay within path length x program size, whatever the path.
t.test('cost is linear in the path length', async (t) => {
  const adversarial = [
    `/extensions/${'x-/'.repeat(5_000)}x-x86-64.raw`,
    `/extensions/${'a/'.repeat(10_000)}k-1-x86-64.raw`,
    `/${'a/'.repeat(10_000)}extensions/k-1-x86-64.raw`,
    `/extensions/${'-'.repeat(8_192)}.raw`,
    `/extensions/${'-'.repeat(8_192)}-x86-64.raw`,
    `/extensions/${'a-'.repeat(4_096)}arm64.raw`,
    `/extensions/${'x86-64-'.repeat(1_200)}.raw`,
  ]
  for (const path of adversarial) {
    const stats = { steps: 0 }
    const started = performance.now()
    matchPath(RAW, path, stats)
    const elapsed = performance.now() - started
    const bound = (path.length + 2) * RAW.program.length
    t.ok(stats.steps <= bound, `${path.length} chars: ${stats.steps} steps <= ${bound}`)
    // A generous ceiling: exponential backtracking takes seconds to forever.
    t.ok(elapsed < 1_000, `${path.length} chars in ${elapsed.toFixed(1)} ms`)
  }
})

t.test('the adversarial paths still match when they should', async (t) => {
  t.same(matchPath(RAW, `/extensions/${'-'.repeat(10)}-x86-64.raw`), {
    prefix: '',
    sub: '',
    ext: '-'.repeat(8),
    version: '-',
    arch: 'x86-64',
  })
  t.equal(matchPath(RAW, `/extensions/${'x-/'.repeat(100)}x-x86-64.raw`), null)
  t.ok(matchPath(RAW, `/extensions/${'a/'.repeat(10_000)}k-1-x86-64.raw`))
})
