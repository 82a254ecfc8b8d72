import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { originsOf, parseConfig } from '../../src/config/service.js'
import { checkExamples } from '../../src/config/table-examples.js'
import { loadTable } from '../../src/config/table-file.js'
import { compileTable } from '../../src/table/table.js'
import { singleSource } from '../../src/table/resolve.js'

const origins = singleSource('https://github.test/r', 'https://docs.test')
const rules = [
  {
    name: 'raw',
    path: '/extensions/{ext}-{version}-{arch:x86-64|arm64}.raw',
    release: '{ext}-{version}',
    asset: '{ext}-{version}-{arch}.raw',
  },
]
const layers = {
  newest: { paths: ['/extensions/{name}.raw'], release: '{ext}-{version}' },
  directories: [{ name: 'listing', path: '/extensions/' }],
}

function failures(doc: object): string[] {
  return checkExamples(compileTable({ rules, ...layers, ...doc }), origins)
}

t.test('newest examples: taken by a newest form, read as they say', async (t) => {
  const example = (path: string, extension: string, arch: string, stream?: string) => ({
    newest: { ...layers.newest, examples: [{ path, extension, arch, stream }] },
  })
  t.same(failures(example('/extensions/k.raw', 'k', 'x86-64')), [])
  t.same(
    failures(example('/extensions/k-1-arm64.raw', 'k', 'arm64', '1')),
    [],
    'a rule may take it too',
  )
  t.same(failures(example('/extensions/%zz.raw', 'k', 'x86-64')), [
    'newest: example /extensions/%zz.raw is not a valid request path: path has an invalid percent-encoding',
  ])
  t.same(failures(example('/docs/k.raw', 'k', 'x86-64')), [
    'newest: example /docs/k.raw is taken by no newest form',
  ])
  t.same(failures(example('/extensions/', 'k', 'x86-64')), [
    'newest: example /extensions/ is taken by directory listing',
  ])
  t.same(failures(example('/extensions/k.raw', 'other', 'x86-64')), [
    'newest: example /extensions/k.raw does not read as other (newest) x86-64',
  ])
  t.same(failures(example('/extensions/k-arm64.raw', 'k', 'x86-64')), [
    'newest: example /extensions/k-arm64.raw reads as k (newest) arm64, expected k (newest) x86-64',
  ])
})

t.test('directory examples: taken by that directory form', async (t) => {
  const example = (path: string) => ({
    directories: [{ ...layers.directories[0], examples: [path] }],
  })
  t.same(failures(example('/extensions/')), [])
  t.same(failures(example('/extensions/%zz/')), [
    'listing: example /extensions/%zz/ is not a valid request path: path has an invalid percent-encoding',
  ])
  t.same(failures(example('/extensions/k-1-x86-64.raw')), [
    'listing: example /extensions/k-1-x86-64.raw is taken by rule "raw"',
  ])
  t.same(failures(example('/extensions/k.raw')), [
    'listing: example /extensions/k.raw is taken by newest k',
  ])
  t.same(failures(example('/docs/')), ['listing: example /docs/ is taken by the fallback'])
})

t.test('unmatched examples: no layer takes them', async (t) => {
  const unmatched = (path: string) => ({ unmatched: [{ path, location: `{fallback}${path}` }] })
  t.same(failures(unmatched('/docs/')), [])
  t.same(failures(unmatched('/extensions/')), [
    'unmatched: example /extensions/ is taken by directory listing',
  ])
  t.same(failures(unmatched('/extensions/k-1-x86-64.raw')), [
    'unmatched: example /extensions/k-1-x86-64.raw is taken by rule "raw"',
  ])
})

t.test('every shipped table passes its examples, and every rule has one', async (t) => {
  const dir = fileURLToPath(new URL('../../tables/', import.meta.url))
  const files = readdirSync(dir).filter((file) => file.endsWith('.yaml'))
  t.ok(files.length >= 3, `${files.join(', ')}`)
  const config = parseConfig({})
  for (const file of files) {
    // loadTable checks the examples, as check-table does: it refuses a table whose examples fail.
    const table = await loadTable(join(dir, file), (loaded) => originsOf(config, loaded))
    const without = table.rules.filter((rule) => rule.examples.length === 0).map((r) => r.name)
    t.same(without, [], `${file}: every rule has an example`)
  }
})
