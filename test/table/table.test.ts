import t from 'tap'
import { compileTable } from '../../src/table/table.js'

const rule = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'conf',
  path: '/extensions/{name}.conf',
  release: '{name}',
  asset: '{name}.conf',
  ...extra,
})

t.test('compiles a minimal table with defaults', async (t) => {
  const table = compileTable({ rules: [rule()] })
  t.equal(table.rules.length, 1)
  const [compiled] = table.rules
  t.equal(compiled?.name, 'conf')
  t.equal(compiled?.cache, 'mutable', 'mutable unless the table says versioned')
  t.equal(compiled?.description, '')
  t.same(compiled?.examples, [])
  t.same(table.unmatched, [])
})

t.test('keeps descriptions, cache classes and examples', async (t) => {
  const table = compileTable({
    rules: [
      rule({
        description: 'd',
        cache: 'versioned',
        examples: [{ path: '/extensions/a.conf', location: 'x' }],
      }),
    ],
    unmatched: [{ path: '/', location: '{fallback}/' }],
  })
  t.equal(table.rules[0]?.description, 'd')
  t.equal(table.rules[0]?.cache, 'versioned')
  t.same(table.rules[0]?.examples, [{ path: '/extensions/a.conf', location: 'x' }])
  t.same(table.unmatched, [{ path: '/', location: '{fallback}/' }])
})

t.test('every table error names the rule and stops the load', async (t) => {
  const cases: [unknown, RegExp][] = [
    [null, /the table must be a mapping with a "rules" list/],
    [[], /the table must be a mapping/],
    ['rules', /the table must be a mapping/],
    [{ rules: [rule()], extra: 1 }, /unknown top-level key "extra"/],
    [
      { rules: [rule()], mirrors: ['https://mirror.example/releases'] },
      /"mirrors" names no source: give each source its own .*, or set BAKERY_MIRRORS for a table without sources/,
    ],
    [{}, /"rules" must be a non-empty list/],
    [{ rules: [] }, /"rules" must be a non-empty list/],
    [{ rules: [1] }, /rule #1: must be a mapping/],
    [
      { rules: [rule({ name: 'Bad Name' })] },
      /rule #1: "name" must be lower-case letters, digits and dashes/,
    ],
    [{ rules: [rule({ name: undefined })] }, /rule #1: "name" must be/],
    [{ rules: [rule(), rule()] }, /rule "conf": the name is used twice/],
    [{ rules: [rule({ regex: '.*' })] }, /rule "conf": unknown key "regex"/],
    [{ rules: [rule({ path: undefined })] }, /rule "conf": "path" must be text/],
    [{ rules: [rule({ path: '' })] }, /rule "conf": "path" must be text/],
    [{ rules: [rule({ path: '/{name' })] }, /rule "conf": "path" unclosed "{"/],
    [
      { rules: [rule({ path: 'extensions/{name}.conf' })] },
      /rule "conf": "path" a path template must start with "\/"/,
    ],
    [
      { rules: [rule({ release: '{tag}' })] },
      /rule "conf": "release" uses {tag}, which the path does not capture/,
    ],
    [
      { rules: [rule({ asset: '{file}.conf' })] },
      /rule "conf": "asset" uses {file}, which the path does not capture/,
    ],
    [
      { rules: [rule({ asset: '{name:a|b}' })] },
      /rule "conf": "asset" {name} must be a plain {name}/,
    ],
    [{ rules: [rule({ release: 7 })] }, /rule "conf": "release" must be text/],
    [
      { rules: [rule({ cache: 'forever' })] },
      /rule "conf": "cache" must be "versioned", "mutable" or "signature"/,
    ],
    [{ rules: [rule({ description: 3 })] }, /rule "conf": "description" must be text/],
    [{ rules: [rule({ snapshot: 'yes' })] }, /rule "conf": "snapshot" must be true or false/],
    [
      { rules: [rule({ snapshot: true, cache: 'versioned' })] },
      /rule "conf": a "versioned" file never changes: it is redirected, not a snapshot/,
    ],
    [{ rules: [rule({ examples: 'x' })] }, /rule "conf": examples must be a list/],
    [
      { rules: [rule({ examples: ['x'] })] },
      /rule "conf": examples #1 must be a mapping with "path" and "location"/,
    ],
    [
      { rules: [rule({ examples: [{ path: '/a' }] })] },
      /rule "conf": examples #1: "location" must be text/,
    ],
    [{ rules: [rule()], unmatched: [{ location: 'x' }] }, /unmatched #1: "path" must be text/],
  ]
  for (const [doc, message] of cases) {
    t.throws(() => compileTable(doc), { code: 'SR_TABLE_INVALID', message }, String(message))
  }
})

t.test('sources: each rule names one, or whichever publishes a name', async (t) => {
  const sources = { fedora: 'fedora-sysexts/fedora', community: 'fedora-sysexts/community' }
  const table = compileTable({
    sources,
    rules: [
      rule(),
      rule({ name: 'community', source: 'community' }),
      rule({ name: 'either', source: { 'publisher-of': '{name}', otherwise: 'fedora' } }),
    ],
    directories: [{ name: 'listing', path: '/community/', source: 'community' }],
  })
  t.same(
    table.sources.map((source) => source.name),
    ['fedora', 'community'],
  )
  t.match(table.rules, [
    { source: null, publisher: null },
    { source: 'community', publisher: null },
    {
      source: 'fedora',
      publisher: { otherwise: 'fedora', name: [{ kind: 'capture', name: 'name' }] },
    },
  ])
  t.equal(table.directories[0]?.source, 'community')
  const refused = (doc: Record<string, unknown>): string => {
    try {
      compileTable(doc)
    } catch (err) {
      return (err as Error).message
    }
    return 'accepted'
  }
  t.match(
    refused({
      sources,
      rules: [rule({ source: { 'publisher-of': '{nosuch}', otherwise: 'fedora' } })],
    }),
    /rule "conf": "source": "publisher-of" /,
    'the name comes from the path’s captures',
  )
  t.match(
    refused({
      sources,
      rules: [rule()],
      directories: [{ name: 'd', path: '/d/', source: 'copr' }],
    }),
    /directory "d": "source": must be one of fedora, community/,
  )
  t.match(refused({ rules: [rule({ source: 'fedora' })] }), /needs the table's "sources"/)
})
