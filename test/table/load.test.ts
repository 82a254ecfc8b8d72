import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { checkExamples } from '../../src/table/examples.js'
import { buildTable, DEFAULT_TABLE_FILE, loadTable, parseTableText } from '../../src/table/load.js'
import type { Origins } from '../../src/table/resolve.js'

const origins: Origins = {
  releases: 'https://github.com/flatcar/sysext-bakery/releases/download',
  fallback: 'https://flatcar.github.io/sysext-bakery',
}

const confRule = {
  name: 'conf',
  path: '/extensions/{name}.conf',
  release: '{name}',
  asset: '{name}.conf',
}

t.test('the built-in table loads and all its examples pass', async (t) => {
  const table = await loadTable(DEFAULT_TABLE_FILE, origins)
  t.same(
    table.rules.map((rule) => rule.name),
    ['raw', 'raw-below-path', 'transfer', 'transfer-in-release', 'extension-index', 'global-index'],
  )
  t.same(checkExamples(table, origins), [])
})

t.test('its examples pass for a fork on another origin too', async (t) => {
  const fork: Origins = {
    releases: 'http://127.0.0.1:9/acme/bakery/releases/download',
    fallback: 'https://acme.example/docs',
  }
  t.same(checkExamples(await loadTable(DEFAULT_TABLE_FILE, fork), fork), [])
})

t.test('a failing example stops the load and names its rule', async (t) => {
  const doc = {
    rules: [
      {
        ...confRule,
        examples: [{ path: '/extensions/noop.conf', location: '{releases}/noop/other.conf' }],
      },
      {
        name: 'sums',
        path: '/extensions/{ext}/SHA256SUMS',
        release: '{ext}',
        asset: 'SHA256SUMS',
        examples: [
          { path: '/extensions/noop.conf', location: '{releases}/noop/noop.conf' },
          { path: '/extensions/%zz/SHA256SUMS', location: 'x' },
        ],
      },
    ],
    unmatched: [
      { path: '/extensions/a.conf', location: '{fallback}/extensions/a.conf' },
      { path: '/nothing', location: '{fallback}/something' },
    ],
  }
  const error = t.throws(() => buildTable(doc, origins, 'fork.yaml'), {
    code: 'SR_TABLE_EXAMPLE',
  }) as Error
  t.match(error.message, /^fork\.yaml: 5 example\(s\) fail:/)
  t.match(
    error.message,
    'rule "conf": example /extensions/noop.conf leads to https://github.com/flatcar/sysext-bakery/releases/download/noop/noop.conf, expected https://github.com/flatcar/sysext-bakery/releases/download/noop/other.conf',
  )
  t.match(error.message, 'rule "sums": example /extensions/noop.conf is taken by rule "conf"')
  t.match(
    error.message,
    'rule "sums": example /extensions/%zz/SHA256SUMS is not a valid request path: path has an invalid percent-encoding',
  )
  t.match(error.message, 'unmatched: example /extensions/a.conf is taken by rule "conf"')
  t.match(
    error.message,
    'unmatched: example /nothing leads to https://flatcar.github.io/sysext-bakery/nothing, expected https://flatcar.github.io/sysext-bakery/something',
  )
})

t.test('an example that reaches no rule says so', async (t) => {
  const doc = { rules: [{ ...confRule, examples: [{ path: '/x', location: 'y' }] }] }
  t.throws(() => buildTable(doc, origins, 'f.yaml'), {
    message: /rule "conf": example \/x is taken by no rule \(fallback\)/,
  })
})

t.test('a structural error is prefixed with the file name', async (t) => {
  t.throws(() => buildTable({ rules: [] }, origins, 'f.yaml'), {
    code: 'SR_TABLE_INVALID',
    message: 'f.yaml: "rules" must be a non-empty list',
  })
})

t.test('reads YAML and JSON, reporting syntax errors with their place', async (t) => {
  t.same(parseTableText('rules: []\n', 't.yaml'), { rules: [] })
  t.same(parseTableText('{"rules": []}', 't.json'), { rules: [] })
  t.throws(() => parseTableText('rules: [\n', 't.yaml'), {
    code: 'SR_TABLE_SYNTAX',
    message: /^t\.yaml at line \d+: /,
  })
  t.throws(() => parseTableText('a: 1\na: 2\n', 't.yaml'), {
    code: 'SR_TABLE_SYNTAX',
    message: /Map keys must be unique/,
  })
  t.throws(() => parseTableText('{', 't.json'), { code: 'SR_TABLE_SYNTAX', message: /^t\.json: / })
})

t.test('loads a table file a fork wrote, or says why not', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'table-'))
  const good = join(dir, 'table.json')
  await writeFile(
    good,
    JSON.stringify({
      rules: [
        {
          ...confRule,
          examples: [{ path: '/extensions/a.conf', location: '{releases}/a/a.conf' }],
        },
      ],
    }),
  )
  t.equal((await loadTable(good, origins)).rules[0]?.name, 'conf')
  await t.rejects(loadTable(join(dir, 'missing.yaml'), origins), {
    code: 'SR_TABLE_SYNTAX',
    message: `cannot read pattern table ${join(dir, 'missing.yaml')}: ENOENT`,
  })
  await t.rejects(loadTable(dir, origins), { code: 'SR_TABLE_SYNTAX', message: /EISDIR/ })
})
