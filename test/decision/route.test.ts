import t from 'tap'
import { routeFinder } from '../../src/decision/route.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { singleSource } from '../../src/table/resolve.js'

const origins = singleSource('https://github.test/r', 'https://docs.test')
const table = await loadTable(DEFAULT_TABLE_FILE, origins)

t.test(
  'each layer in order: refused, rules, directory pages, newest names, fallback',
  async (t) => {
    const route = routeFinder({ table, origins, index: true })
    t.match(route('/extensions/%zz'), { kind: 'refused', error: { code: 'SR_PATH_ENCODING' } })
    t.match(route('/extensions/kubernetes-v1.32.2-x86-64.raw'), {
      kind: 'release',
      resolution: { rule: { name: 'raw' } },
      newest: { file: 'kubernetes-v1.32.2-x86-64.raw' },
    })
    t.match(route('/extensions/kubernetes/SHA256SUMS'), { kind: 'release', newest: null })
    t.match(route('/extensions/'), { kind: 'directory', extension: null })
    t.match(route('/extensions//kubernetes/'), { kind: 'directory', extension: 'kubernetes' })
    t.match(route('/extensions/kubernetes.raw'), {
      kind: 'newest',
      name: { file: 'kubernetes.raw' },
    })
    t.match(route('/extensions/kubernetes/kubernetes.raw'), {
      kind: 'newest',
      name: { file: 'kubernetes.raw', form: { pathTemplate: '/extensions/{sub}/{name}.raw' } },
    })
    t.match(route('/mirror/extensions/kubernetes.raw'), { kind: 'fallback' })
    t.match(route('/extensions/a/b/kubernetes.raw'), { kind: 'fallback' })
  },
)

t.test('with the index off, its layers reach the fallback', async (t) => {
  const route = routeFinder({ table, origins, index: false })
  t.match(route('/extensions/'), {
    kind: 'fallback',
    resolution: { location: 'https://docs.test/extensions/' },
  })
  t.match(route('/extensions/kubernetes.raw'), { kind: 'fallback' })
  t.match(route('/extensions/kubernetes-v1.32.2-x86-64.raw'), { kind: 'release', newest: null })
})
