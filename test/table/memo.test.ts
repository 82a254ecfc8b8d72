import t from 'tap'
import { isRedirectorError } from '../../src/core/errors.js'
import { normaliseTarget } from '../../src/path/normalise.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { MEMO_ENTRIES, MEMO_MAX_TARGET, remembered } from '../../src/table/memo.js'
import { resolve, singleSource, type Origins } from '../../src/table/resolve.js'

const origins: Origins = singleSource(
  'https://github.com/flatcar/sysext-bakery/releases/download',
  'https://flatcar.github.io/sysext-bakery',
)
const table = await loadTable(DEFAULT_TABLE_FILE, origins)
// A computation that throws on bad input, as normalising does.
const direct = (raw: string) => {
  const target = normaliseTarget(raw)
  return { target, resolution: resolve(table, target, origins) }
}
const memoResolver = () => remembered(direct)

t.test('answers what normaliseTarget and resolve answer', async (t) => {
  const memo = memoResolver()
  for (const raw of [
    '/extensions/kubernetes-v1.32.2-x86-64.raw',
    '/extensions/k3s-v1.32.2%2Bk3s1-x86-64.raw',
    '//extensions//kubernetes.conf',
    '/docs/getting-started/?ref=readme',
  ]) {
    t.same(memo(raw), direct(raw), `${raw} first time`)
    t.same(memo(raw), direct(raw), `${raw} from the memo`)
  }
})

t.test('remembers a target: the second answer is the same object', async (t) => {
  const memo = memoResolver()
  const raw = '/extensions/kubernetes.conf'
  t.equal(memo(raw), memo(raw))
})

t.test('refuses bad input every time, never remembering it', async (t) => {
  const memo = memoResolver()
  for (const raw of ['/extensions/%zz.raw', 'no-slash', `/${'a'.repeat(5000)}`]) {
    for (let i = 0; i < 2; i++) {
      let thrown: unknown
      try {
        memo(raw)
      } catch (err) {
        thrown = err
      }
      t.ok(isRedirectorError(thrown), `${raw.slice(0, 20)} refused, time ${i + 1}`)
    }
  }
})

t.test('leaves long targets out, still answering them', async (t) => {
  const memo = memoResolver()
  const raw = `/docs/${'a'.repeat(MEMO_MAX_TARGET)}`
  t.same(memo(raw), direct(raw))
  t.not(memo(raw), memo(raw), 'recomputed each time')
})

t.test('is bounded: the least recently used target is forgotten', async (t) => {
  const memo = memoResolver()
  const first = memo('/docs/0')
  t.equal(memo('/docs/0'), first)
  for (let i = 1; i <= MEMO_ENTRIES; i++) memo(`/docs/${i}`)
  t.not(memo('/docs/0'), first, 'pushed out by MEMO_ENTRIES newer targets')
  t.same(memo('/docs/0'), first)
})
