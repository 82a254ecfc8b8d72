import t from 'tap'
import {
  ANSWER_KINDS,
  answerKindOf,
  comparableLocation,
  expectedLocation,
  fixtureBytes,
  fixtureFor,
  MIX,
  type MixKind,
} from '../../bench/lib/mix.js'
import { parseManifest } from '../../src/catalog/manifest.js'
import { normaliseTarget } from '../../src/path/normalise.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { resolve, singleSource, type Origins } from '../../src/table/resolve.js'

// The benchmark's path mix against the built-in table: each path must be the
// kind it claims and lead where the mix says, or the three servers would be
// compared on different work (and the fake GitHub would lack the asset).
const REL = 'https://github.com/flatcar/sysext-bakery/releases/download'
const DOCS = 'https://flatcar.github.io/sysext-bakery'
const origins: Origins = singleSource(REL, DOCS)
const table = await loadTable(DEFAULT_TABLE_FILE, origins)

const RULE_OF_KIND: Record<MixKind, string> = {
  raw: 'raw',
  'raw-below-path': 'raw-below-path',
  conf: 'transfer',
  'release-conf': 'transfer-in-release',
  'extension-sha256sums': 'extension-index',
  'global-sha256sums': 'global-index',
  fallback: 'fallback',
}

t.test('every path of the mix resolves to its kind and its expected target', async (t) => {
  for (const entry of MIX) {
    const got = resolve(table, normaliseTarget(entry.path), origins)
    t.equal(
      got.kind === 'release' ? got.rule.name : 'fallback',
      RULE_OF_KIND[entry.kind],
      entry.path,
    )
    t.equal(comparableLocation(got.location, REL), expectedLocation(entry, DOCS), entry.path)
  }
})

t.test('the mix has every kind the bakery serves', async (t) => {
  t.same(new Set(MIX.map((entry) => entry.kind)), new Set(Object.keys(RULE_OF_KIND)))
})

t.test(
  'the fixture publishes every release target of the mix, and nothing for the fallback',
  async (t) => {
    const fixture = fixtureFor(MIX)
    const published = Object.entries(fixture).flatMap(([tag, assets]) =>
      Object.keys(assets).map((name) => `${tag}/${name}`),
    )
    const targets = MIX.filter((entry) => entry.kind !== 'fallback').map((entry) => entry.target)
    t.same(new Set(published), new Set(targets))
  },
)

t.test('the fixture manifests parse as sysupdate reads them and list the images', async (t) => {
  const fixture = fixtureFor(MIX)
  const names = (tag: string): string[] => {
    const text = fixture[tag]?.SHA256SUMS
    if (typeof text !== 'string') throw new Error(`no SHA256SUMS in ${tag}`)
    const parsed = parseManifest(Buffer.from(text))
    if (!parsed.ok) throw new Error(parsed.reason)
    return parsed.entries.map((entry) => entry.name)
  }
  const images = MIX.filter((entry) => entry.target.endsWith('.raw')).map((entry) =>
    entry.target.slice(entry.target.indexOf('/') + 1),
  )
  t.same(names('SHA256SUMS').sort(), [...new Set(images)].sort())
  t.same(names('kubernetes').sort(), [
    'kubernetes-v1.32.2-arm64.raw',
    'kubernetes-v1.32.2-x86-64.raw',
  ])
  t.same(names('docker-compose'), ['docker-compose-2.34.0-arm64.raw'])
  t.match(fixture['kubernetes-v1.32.2']?.['kubernetes-v1.32.2-x86-64.raw'], { randomBytes: Number })
  t.match(fixture.kubernetes?.['kubernetes.conf'], /^\[Source\]\n/)
})

t.test('comparableLocation strips only the releases base it is given', async (t) => {
  t.equal(comparableLocation(`${REL}/a-1/a-1-arm64.raw`, REL), 'release:a-1/a-1-arm64.raw')
  t.equal(
    comparableLocation(
      'http://127.0.0.1:9/o/r/releases/download/SHA256SUMS/SHA256SUMS',
      'http://127.0.0.1:9/o/r/releases/download',
    ),
    'release:SHA256SUMS/SHA256SUMS',
  )
  // Another origin, or a base that only starts the same way, stays whole.
  t.equal(comparableLocation(`${DOCS}/x`, REL), `${DOCS}/x`)
  t.equal(comparableLocation(`${REL}x/a`, REL), `${REL}x/a`)
})

t.test('each kind is answered as a redirect or as a snapshot file', async (t) => {
  const kinds = Object.fromEntries(MIX.map((entry) => [entry.kind, answerKindOf(entry.kind)]))
  t.same(kinds, {
    raw: 'redirect',
    'raw-below-path': 'redirect',
    fallback: 'redirect',
    conf: 'snapshot',
    'release-conf': 'snapshot',
    'extension-sha256sums': 'snapshot',
    'global-sha256sums': 'snapshot',
  })
  t.same(ANSWER_KINDS, ['redirect', 'snapshot'])
})

t.test('the fixture’s bytes of a snapshot file, none for an image or the fallback', async (t) => {
  const fixture = fixtureFor(MIX)
  const sums = fixtureBytes(fixture, 'kubernetes/SHA256SUMS')
  t.match(sums, /^[0-9a-f]{64} {2}kubernetes-v1\.32\.2-x86-64\.raw\n/)
  t.equal(fixtureBytes(fixture, 'kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw'), undefined)
  t.equal(fixtureBytes(fixture, 'nosuch/file'), undefined)
})
