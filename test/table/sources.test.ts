import t from 'tap'
import { isRedirectorError } from '../../src/core/errors.js'
import {
  compileSources,
  ruleSource,
  sharedRelease,
  sourceName,
  splitSharedRelease,
} from '../../src/table/sources.js'
import { parseTemplate } from '../../src/table/template.js'

const two = compileSources({
  fedora: 'fedora-sysexts/fedora',
  community: 'fedora-sysexts/community',
})
const name = (template: string) => parseTemplate(template)

/** The message of the SR_TABLE_INVALID `fn` throws. */
function refused(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (isRedirectorError(err) && err.code === 'SR_TABLE_INVALID') return err.message
    throw err
  }
  throw new Error('accepted')
}

t.test('sources: names to repositories, in order, the first the default', async (t) => {
  t.same(compileSources(undefined), [], 'none: the implicit source (BAKERY_REPO)')
  t.same(
    compileSources({
      fedora: { repo: 'a/b', 'signing-keys': 'keys/fedora.asc' },
      copr: { repo: 'c/d' },
    }),
    [
      { name: 'fedora', repo: 'a/b', signingKeys: 'keys/fedora.asc' },
      { name: 'copr', repo: 'c/d' },
    ],
    'the long form: a repository and the keys that sign its manifests',
  )
  t.same(two, [
    { name: 'fedora', repo: 'fedora-sysexts/fedora' },
    { name: 'community', repo: 'fedora-sysexts/community' },
  ])
  const bad: [unknown, RegExp][] = [
    [['a/b'], /"sources" must map short names/],
    ['a/b', /"sources" must map short names/],
    [null, /"sources" must map short names/],
    [{}, /at least one repository/],
    [{ Fedora: 'a/b' }, /source "Fedora": the name must be lower-case/],
    [{ '1x': 'a/b' }, /source "1x"/],
    [{ fedora: 'no-slash' }, /source "fedora": expected owner\/name/],
    [{ fedora: 'a/..' }, /expected owner\/name/],
    [{ fedora: 7 }, /expected owner\/name/],
    [
      { fedora: { repo: 'a/b', keys: 'k' } },
      /source "fedora": unknown key "keys" \(expected repo, signing-keys, mirrors, mirrors-first\)/,
    ],
    [{ fedora: { 'signing-keys': 'k' } }, /source "fedora": expected owner\/name/],
    [
      { fedora: { repo: 'a/b', 'signing-keys': '' } },
      /"signing-keys" must be the path of a file of public keys/,
    ],
    [{ fedora: { repo: 'a/b', 'signing-keys': 3 } }, /"signing-keys" must be the path/],
  ]
  for (const [doc, message] of bad)
    t.match(
      refused(() => compileSources(doc)),
      message,
    )
})

t.test('a source’s mirrors: base URLs in order, and which clients go to them first', async (t) => {
  const [one] = compileSources({
    fedora: {
      repo: 'a/b',
      mirrors: ['https://mirror.example/fedora/', 'http://10.0.0.1:8080/copy'],
      'mirrors-first': 'ipv6',
    },
  })
  t.same(one?.mirrors, ['https://mirror.example/fedora', 'http://10.0.0.1:8080/copy'])
  t.equal(one?.mirrorsFirst, 'ipv6')
  const [plain] = compileSources({ fedora: { repo: 'a/b', mirrors: ['https://m.example'] } })
  t.equal(plain?.mirrorsFirst, 'never', 'GitHub first unless told')
  const bad: [unknown, RegExp][] = [
    [{ mirrors: 'https://m.example' }, /source "f": "mirrors" must list one or more base URLs/],
    [{ mirrors: [] }, /"mirrors" must list one or more base URLs/],
    [
      { mirrors: ['ftp://m.example'] },
      /source "f": mirror "ftp:\/\/m.example" is not valid: expected an http/,
    ],
    [{ mirrors: ['https://m.example/?x=1'] }, /mirror "https:\/\/m.example\/\?x=1" is not valid/],
    [
      { mirrors: ['https://u:p@m.example'] },
      /is not valid: expected .* without query, fragment or credentials/,
    ],
    [{ mirrors: [7] }, /mirror 7 is not valid/],
    [{ 'mirrors-first': 'ipv6' }, /source "f": "mirrors-first" needs "mirrors"/],
    [
      { mirrors: ['https://m.example'], 'mirrors-first': 'v6' },
      /"mirrors-first" must be one of never, ipv6, all/,
    ],
  ]
  for (const [fields, message] of bad) {
    t.match(
      refused(() => compileSources({ f: { repo: 'a/b', ...(fields as object) } })),
      message,
    )
  }
})

t.test('a rule names a declared source, or none (the default)', async (t) => {
  t.same(ruleSource(undefined, two, 'rule "r"', name), { source: null, publisher: null })
  t.same(ruleSource('community', two, 'rule "r"', name), { source: 'community', publisher: null })
  t.match(
    refused(() => ruleSource('copr', two, 'rule "r"', name)),
    'rule "r": "source": must be one of fedora, community',
  )
  t.match(
    refused(() => ruleSource(3, two, 'rule "r"', name)),
    /must be one of/,
  )
  t.match(
    refused(() => ruleSource('bakery', [], 'rule "r"', name)),
    `rule "r": "source": needs the table's "sources" to declare it`,
  )
})

t.test('or whichever source publishes a name, with a declared one otherwise', async (t) => {
  const publisher = { 'publisher-of': '{name}', otherwise: 'fedora' }
  t.same(ruleSource(publisher, two, 'rule "r"', name), {
    source: 'fedora',
    publisher: { name: parseTemplate('{name}'), otherwise: 'fedora' },
  })
  const bad: [unknown, RegExp][] = [
    [{ 'publisher-of': '{name}' }, /"otherwise": must be one of fedora, community/],
    [{ 'publisher-of': '{name}', otherwise: 'copr' }, /"otherwise": must be one of/],
    [{ otherwise: 'fedora' }, /"publisher-of" must be a template naming the extension/],
    [{ 'publisher-of': 1, otherwise: 'fedora' }, /"publisher-of" must be a template/],
    [
      { ...publisher, among: ['fedora'] },
      /unknown key "among" \(expected publisher-of, otherwise\)/,
    ],
    [[publisher], /must be one of/],
  ]
  for (const [doc, message] of bad)
    t.match(
      refused(() => ruleSource(doc, two, 'rule "r"', name)),
      message,
    )
  const one = compileSources({ fedora: 'fedora-sysexts/fedora' })
  t.match(
    refused(() => ruleSource(publisher, one, 'rule "r"', name)),
    /"publisher-of" needs two or more "sources"/,
    'with one source there is nothing to choose',
  )
})

t.test('a directory form may name a source', async (t) => {
  t.equal(sourceName(undefined, two, 'directory "d"'), null)
  t.equal(sourceName('community', two, 'directory "d"'), 'community')
  t.match(
    refused(() => sourceName('x', two, 'directory "d": "source"')),
    /must be one of/,
  )
})

t.test('a release as the shared store names it: with its source, and split again', async (t) => {
  t.equal(sharedRelease('community', 'latest'), 'community/latest')
  t.same(splitSharedRelease(sharedRelease('fedora', 'btop-1.0/x')), {
    source: 'fedora',
    tag: 'btop-1.0/x',
  })
  t.not(
    sharedRelease('fedora', 'latest'),
    sharedRelease('community', 'latest'),
    'two sources, two names',
  )
})
