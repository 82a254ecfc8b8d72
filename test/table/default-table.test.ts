import { readFileSync } from 'node:fs'
import t from 'tap'
import { normaliseTarget } from '../../src/path/normalise.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { resolve, tryRule, singleSource, type Origins } from '../../src/table/resolve.js'
import { compileTable } from '../../src/table/table.js'

// The URL contract (shared/reference/url-map.md), row by row, against the
// built-in table: what every installed Flatcar machine relies on.
const REL = 'https://github.com/flatcar/sysext-bakery/releases/download'
const DOCS = 'https://flatcar.github.io/sysext-bakery'
const origins: Origins = singleSource(REL, DOCS)
const table = await loadTable(DEFAULT_TABLE_FILE, origins)

function where(path: string): [string, string] {
  const got = resolve(table, normaliseTarget(path), origins)
  return [got.kind === 'release' ? got.rule.name : 'fallback', got.location]
}

const cases: [string, string, string][] = [
  // <ext>-<ver>-<arch>.raw, any prefix
  [
    '/extensions/kubernetes-v1.32.2-x86-64.raw',
    'raw',
    `${REL}/kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw`,
  ],
  [
    '/extensions/kubernetes-v1.32.2-arm64.raw',
    'raw',
    `${REL}/kubernetes-v1.32.2/kubernetes-v1.32.2-arm64.raw`,
  ],
  [
    '/extensions/k3s-v1.32.2+k3s1-x86-64.raw',
    'raw',
    `${REL}/k3s-v1.32.2+k3s1/k3s-v1.32.2+k3s1-x86-64.raw`,
  ],
  [
    '/extensions/k3s-v1.32.2%2Bk3s1-x86-64.raw',
    'raw',
    `${REL}/k3s-v1.32.2+k3s1/k3s-v1.32.2+k3s1-x86-64.raw`,
  ],
  [
    '/extensions/k3s-v1.32.2%2bk3s1-x86-64.raw',
    'raw',
    `${REL}/k3s-v1.32.2+k3s1/k3s-v1.32.2+k3s1-x86-64.raw`,
  ],
  [
    '/extensions/crio-v1.30.0-rc1-x86-64.raw',
    'raw',
    `${REL}/crio-v1.30.0-rc1/crio-v1.30.0-rc1-x86-64.raw`,
  ],
  [
    '/extensions/nvidia-runtime-v1.17.5-arm64.raw',
    'raw',
    `${REL}/nvidia-runtime-v1.17.5/nvidia-runtime-v1.17.5-arm64.raw`,
  ],
  [
    '/any/prefix/extensions/docker-27.0.1-x86-64.raw',
    'raw',
    `${REL}/docker-27.0.1/docker-27.0.1-x86-64.raw`,
  ],
  [
    '//extensions//docker-27.0.1-x86-64.raw?foo=bar',
    'raw',
    `${REL}/docker-27.0.1/docker-27.0.1-x86-64.raw`,
  ],
  [
    '/extensions/x/../docker-27.0.1-x86-64.raw',
    'raw',
    `${REL}/docker-27.0.1/docker-27.0.1-x86-64.raw`,
  ],
  // below a sysupdate Path=: the sub-path is ignored (bakery issue #127)
  [
    '/extensions/kubernetes/kubernetes-v1.32.2-x86-64.raw',
    'raw-below-path',
    `${REL}/kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw`,
  ],
  [
    '/extensions/docker-compose/docker-compose-2.34.0-x86-64.raw',
    'raw-below-path',
    `${REL}/docker-compose-2.34.0/docker-compose-2.34.0-x86-64.raw`,
  ],
  [
    '/extensions/kubernetes/v1.31/kubernetes-v1.31.5-arm64.raw',
    'raw-below-path',
    `${REL}/kubernetes-v1.31.5/kubernetes-v1.31.5-arm64.raw`,
  ],
  [
    '/p/extensions/kubernetes/./kubernetes-v1.32.2-x86-64.raw',
    'raw-below-path',
    `${REL}/kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw`,
  ],
  // <name>.conf and .transfer
  ['/extensions/noop.conf', 'transfer', `${REL}/noop/noop.conf`],
  ['/extensions/docker.conf', 'transfer', `${REL}/docker/docker.conf`],
  ['/extensions/docker.transfer', 'transfer', `${REL}/docker/docker.transfer`],
  ['/prefix/extensions/docker.conf?x=1', 'transfer', `${REL}/docker/docker.conf`],
  // <release>/<file>.conf and .transfer
  [
    '/extensions/kubernetes/kubernetes-v1.32.conf',
    'transfer-in-release',
    `${REL}/kubernetes/kubernetes-v1.32.conf`,
  ],
  [
    '/extensions/kubernetes/kubernetes-v1.32.transfer',
    'transfer-in-release',
    `${REL}/kubernetes/kubernetes-v1.32.transfer`,
  ],
  ['/extensions/chrony/chrony.conf', 'transfer-in-release', `${REL}/chrony/chrony.conf`],
  [
    '/extensions/opkssh/opkssh-v0.5.1.conf',
    'transfer-in-release',
    `${REL}/opkssh/opkssh-v0.5.1.conf`,
  ],
  ['/x/y/extensions/chrony/chrony.conf', 'transfer-in-release', `${REL}/chrony/chrony.conf`],
  // <ext>/SHA256SUMS and its signatures
  ['/extensions/kubernetes/SHA256SUMS', 'extension-index', `${REL}/kubernetes/SHA256SUMS`],
  ['/extensions/kubernetes/SHA256SUMS?v=2', 'extension-index', `${REL}/kubernetes/SHA256SUMS`],
  ['/extensions/kubernetes//SHA256SUMS', 'extension-index', `${REL}/kubernetes/SHA256SUMS`],
  [
    '/extensions/kubernetes/SHA256SUMS.gpg',
    'extension-signature',
    `${REL}/kubernetes/SHA256SUMS.gpg`,
  ],
  [
    '/extensions/kubernetes/SHA256SUMS.asc',
    'extension-signature',
    `${REL}/kubernetes/SHA256SUMS.asc`,
  ],
  [
    '/extensions/kubernetes/SHA256SUMS.sha256.asc',
    'extension-signature',
    `${REL}/kubernetes/SHA256SUMS.sha256.asc`,
  ],
  [
    '/extensions/kubernetes/SHA256SUMS.sha256.gpg',
    'extension-signature',
    `${REL}/kubernetes/SHA256SUMS.sha256.gpg`,
  ],
  // the global index and its signatures
  ['/extensions/SHA256SUMS', 'global-index', `${REL}/SHA256SUMS/SHA256SUMS`],
  ['/extensions/./SHA256SUMS', 'global-index', `${REL}/SHA256SUMS/SHA256SUMS`],
  ['/extensions/SHA256SUMS.gpg', 'global-signature', `${REL}/SHA256SUMS/SHA256SUMS.gpg`],
  ['/extensions/SHA256SUMS.asc', 'global-signature', `${REL}/SHA256SUMS/SHA256SUMS.asc`],
  [
    '/extensions/SHA256SUMS.sha256.asc',
    'global-signature',
    `${REL}/SHA256SUMS/SHA256SUMS.sha256.asc`,
  ],
  [
    '/extensions/SHA256SUMS.sha256.gpg',
    'global-signature',
    `${REL}/SHA256SUMS/SHA256SUMS.sha256.gpg`,
  ],
  // everything else: the docs site, path and query kept
  ['/', 'fallback', `${DOCS}/`],
  ['/extensions/', 'fallback', `${DOCS}/extensions/`],
  ['/extensions', 'fallback', `${DOCS}/extensions`],
  ['/extensions/kubernetes/', 'fallback', `${DOCS}/extensions/kubernetes/`],
  ['/extensions/kubernetes.raw', 'fallback', `${DOCS}/extensions/kubernetes.raw`],
  [
    '/extensions/kubernetes-v1.32.2-riscv64.raw',
    'fallback',
    `${DOCS}/extensions/kubernetes-v1.32.2-riscv64.raw`,
  ],
  [
    '/extensions/kubernetes-v1.32.2-amd64.raw',
    'fallback',
    `${DOCS}/extensions/kubernetes-v1.32.2-amd64.raw`,
  ],
  [
    '/extensions/kubernetes-v1.32.2-x86-64.raw/',
    'fallback',
    `${DOCS}/extensions/kubernetes-v1.32.2-x86-64.raw/`,
  ],
  [
    '/extensions/kubernetes-v1.32.2-x86-64xraw',
    'fallback',
    `${DOCS}/extensions/kubernetes-v1.32.2-x86-64xraw`,
  ],
  ['/extensions/noop.conf/', 'fallback', `${DOCS}/extensions/noop.conf/`],
  ['/prefix/extensions/SHA256SUMS', 'fallback', `${DOCS}/prefix/extensions/SHA256SUMS`],
  [
    '/prefix/extensions/kubernetes/SHA256SUMS',
    'fallback',
    `${DOCS}/prefix/extensions/kubernetes/SHA256SUMS`,
  ],
  ['/extensions/a/b/SHA256SUMS', 'fallback', `${DOCS}/extensions/a/b/SHA256SUMS`],
  [
    '/extensions/kubernetes/SHA256SUMS.sig',
    'fallback',
    `${DOCS}/extensions/kubernetes/SHA256SUMS.sig`,
  ],
  ['/extensions/a b.conf', 'fallback', `${DOCS}/extensions/a%20b.conf`],
  ['/extensions/caf%C3%A9.conf', 'fallback', `${DOCS}/extensions/caf%C3%A9.conf`],
  ['/docs/?q=a b&x=%zz', 'fallback', `${DOCS}/docs/?q=a%20b&x=%25zz`],
  ['/../../../etc/passwd', 'fallback', `${DOCS}/etc/passwd`],
  ['/extensions/..conf', 'fallback', `${DOCS}/extensions/..conf`],
]

for (const [path, rule, location] of cases) {
  t.test(path, async (t) => {
    t.same(where(path), [rule, location])
  })
}

t.test('a capture that would name "." or ".." is refused, not redirected', async (t) => {
  const doc = { rules: [{ name: 'r', path: '/x/{name}.conf', release: '{name}', asset: 'f' }] }
  const bare = compileTable(doc)
  const rule = bare.rules[0]
  t.ok(rule)
  if (rule === undefined) return
  t.equal(tryRule(rule, '/x/...conf', origins), 'would name "..", which is not a file')
  t.equal(tryRule(rule, '/x/..conf', origins), 'would name ".", which is not a file')
  t.equal(tryRule(rule, '/y', origins), 'does not fit /x/{name}.conf')
  t.equal(resolve(bare, normaliseTarget('/x/...conf'), origins).kind, 'fallback')
})

t.test('a fork changes the origin and repo, not the paths', async (t) => {
  const fork: Origins = singleSource('https://github.com/acme/bakery/releases/download', DOCS)
  t.equal(
    resolve(table, normaliseTarget('/extensions/kubernetes/SHA256SUMS'), fork).location,
    'https://github.com/acme/bakery/releases/download/kubernetes/SHA256SUMS',
  )
})

t.test("docs/using.md's URL table is the built-in table, row by row", async (t) => {
  const readme = readFileSync(new URL('../../docs/using.md', import.meta.url), 'utf8')
  const section = readme.slice(
    readme.indexOf('## The URLs it answers'),
    readme.indexOf('### Cache lifetimes'),
  )
  // | `request` ... | `target` ... (or "same": the row above's) | `rule` |
  const rows = [
    ...section.matchAll(/^\| `([^`]+)`.*?\| (?:`([^`]+)`[^|]*|same +)\| (`[^`]+`|fallback) +\|$/gm),
  ]
  // Sample values for the placeholders; a target's <file> is the request's
  // <file>, or its last segment when the request names the file literally.
  const sample: Record<string, string> = {
    ext: 'kubernetes',
    ver: 'v1.32.2',
    arch: 'arm64',
    name: 'docker',
    release: 'kubernetes',
    sub: 'kubernetes',
    file: 'kubernetes-v1.32',
  }
  const fill = (text: string, values: Record<string, string>): string =>
    text.replace('/.../', '/').replace(/<(\w+)>/g, (_, key: string) => values[key] as string)
  const ruleNames: string[] = []
  let previous = ''
  for (const [, request, target = previous, ruleCell] of rows) {
    previous = target
    const rule = (ruleCell as string).replace(/`/g, '')
    if (rule === 'fallback') continue
    ruleNames.push(rule)
    const path = fill(request as string, sample)
    const named = (request as string).includes('<file>')
    const file = named ? (sample.file as string) : path.slice(path.lastIndexOf('/') + 1)
    const location = fill(target, { ...sample, file }).replace('REL', REL)
    t.same(where(path), [rule, location], `${rule}: ${path}`)
  }
  t.same(
    ruleNames,
    table.rules.map((rule) => rule.name),
    'every rule of the table, in its order, and no other',
  )
})
