import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { checkExamples } from '../../src/config/table-examples.js'
import { parse as parseYaml } from 'yaml'
import {
  buildTable,
  DEFAULT_TABLE_FILE,
  loadTable,
  parseTableText,
  type ParsedTable,
} from '../../src/config/table-file.js'
import { singleSource, type Origins } from '../../src/table/resolve.js'
import type { Table } from '../../src/table/table.js'

const origins: Origins = singleSource(
  'https://github.com/flatcar/sysext-bakery/releases/download',
  'https://flatcar.github.io/sysext-bakery',
)

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
    [
      'raw',
      'raw-below-path',
      'image-checksum',
      'transfer',
      'transfer-in-release',
      'extension-index',
      'extension-signature',
      'global-index',
      'global-signature',
    ],
  )
  t.same(checkExamples(table, origins), [])
})

t.test('its examples pass for a fork on another origin too', async (t) => {
  const fork: Origins = singleSource(
    'http://127.0.0.1:9/acme/bakery/releases/download',
    'https://acme.example/docs',
  )
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
  t.same(await parseTableText('rules: []\n', 't.yaml'), { rules: [] })
  t.same(await parseTableText('{"rules": []}', 't.json'), { rules: [] })
  await t.rejects(parseTableText('rules: [\n', 't.yaml'), {
    code: 'SR_TABLE_SYNTAX',
    message: /^t\.yaml at line \d+, column \d+: [^\n]+$/,
  })
  // The place once, and no trailing colon from the parser's own message.
  await t.rejects(parseTableText('rules:\n  - name: a\n   path: x\n', 't.yaml'), {
    message: 't.yaml at line 3, column 1: Sequence item without - indicator',
  })
  await t.rejects(parseTableText('a: 1\na: 2\n', 't.yaml'), {
    code: 'SR_TABLE_SYNTAX',
    message: /Map keys must be unique/,
  })
  await t.rejects(parseTableText('{', 't.json'), {
    code: 'SR_TABLE_SYNTAX',
    message: /^t\.json: /,
  })
})

t.test('a table the build parsed is used only for exactly the same text', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'parsed-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const tableFile = join(dir, 'table.yaml')
  const text = await readFile(DEFAULT_TABLE_FILE, 'utf8')
  await writeFile(tableFile, text)
  const parsedFile = join(dir, 'parsed-tables.json')
  const real = await parseTableText(text, tableFile)
  t.same(real, parseYaml(text), 'what the build stores: the YAML parse')
  // A stored parse that differs from the text, so the test can see which was used.
  const stored = structuredClone(real) as { rules: { name: string }[] }
  ;(stored.rules[0] as { name: string }).name = 'stored-raw'
  await writeFile(parsedFile, JSON.stringify([{ text, doc: stored } satisfies ParsedTable]))

  const fromStore = await loadTable(tableFile, origins, { parsedTablesFile: parsedFile })
  t.equal(fromStore.rules[0]?.name, 'stored-raw', 'the same text: the stored parse')

  await writeFile(tableFile, `${text}\n# one more line\n`)
  const changed = await loadTable(tableFile, origins, { parsedTablesFile: parsedFile })
  t.equal(changed.rules[0]?.name, 'raw', 'changed text: parsed again')

  await writeFile(parsedFile, '[{"text": ')
  await writeFile(tableFile, text)
  const damaged = await loadTable(tableFile, origins, { parsedTablesFile: parsedFile })
  t.equal(damaged.rules[0]?.name, 'raw', 'a damaged store: parsed again')

  const none = await loadTable(tableFile, origins, { parsedTablesFile: join(dir, 'none.json') })
  t.equal(none.rules[0]?.name, 'raw', 'no store (as in src/): parsed')
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
    code: 'SR_TABLE_UNREADABLE',
    message: `the pattern table ${join(dir, 'missing.yaml')} cannot be read: no such file (ENOENT)`,
  })
  await t.rejects(loadTable(join(dir, 'missing.yaml'), origins, { setting: 'PATTERN_TABLE' }), {
    code: 'SR_TABLE_UNREADABLE',
    message: `PATTERN_TABLE=${join(dir, 'missing.yaml')} cannot be read: no such file (ENOENT)`,
  })
  await t.rejects(loadTable(dir, origins), {
    code: 'SR_TABLE_UNREADABLE',
    message: `the pattern table ${dir} cannot be read: a folder, not a file (EISDIR)`,
  })
  const long = join(dir, 'x'.repeat(300))
  await t.rejects(loadTable(long, origins), {
    code: 'SR_TABLE_UNREADABLE',
    message: `the pattern table ${long} cannot be read: ENAMETOOLONG`,
  })
})

t.test('a source’s signing-keys file is named relative to the table’s folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'table-'))
  const file = join(dir, 'table.json')
  const rule = {
    ...confRule,
    examples: [{ path: '/extensions/a.conf', location: '{releases}/a/a.conf' }],
  }
  await writeFile(
    file,
    JSON.stringify({
      sources: {
        one: { repo: 'a/one', 'signing-keys': 'keys/one.asc' },
        two: { repo: 'a/two', 'signing-keys': '/etc/keys/two.gpg' },
        three: 'a/three',
      },
      rules: [rule],
    }),
  )
  const sources = { one: 'https://r/one', two: 'https://r/two', three: 'https://r/three' }
  const table = await loadTable(file, { ...origins, source: 'one', sources })
  t.same(
    table.sources.map((source) => source.signingKeys),
    [join(dir, 'keys/one.asc'), '/etc/keys/two.gpg', undefined],
  )
})

t.test('a table of several sources: fixed origins must give each a release URL', async (t) => {
  const file = new URL('../../tables/fedora-sysexts.yaml', import.meta.url).pathname
  await t.rejects(
    loadTable(file, singleSource('https://github.test/a/b/releases/download', 'https://docs.test')),
    {
      code: 'SR_TABLE_INVALID',
      message: `${file}: no release URL for source(s) fedora, community`,
    },
  )
  const doc = {
    sources: { fedora: 'fedora-sysexts/fedora', community: 'fedora-sysexts/community' },
    rules: [
      {
        name: 'conf',
        path: '/community/{name}.conf',
        source: 'community',
        release: '{name}',
        asset: '{name}.conf',
        examples: [{ path: '/community/a.conf', location: '{releases:copr}/a/a.conf' }],
      },
    ],
  }
  const origins = (table: Table): Origins => ({
    ...singleSource('https://github.test/fedora', 'https://docs.test'),
    source: table.sources[0]?.name as string,
    sources: { fedora: 'https://github.test/fedora', community: 'https://github.test/community' },
  })
  t.throws(
    () => buildTable(doc, origins, 'f.yaml'),
    {
      code: 'SR_TABLE_EXAMPLE',
      message:
        /leads to https:\/\/github\.test\/community\/a\/a\.conf, expected \{releases:copr\}\/a\/a\.conf/,
    },
    'an unknown source in an example is left as written, and fails',
  )
})
