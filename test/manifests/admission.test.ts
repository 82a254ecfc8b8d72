import { checked } from '../helpers/upstream.js'
import t from 'tap'
import { admission, imageTargets } from '../../src/manifests/admission.js'
import type { ManifestEntry } from '../../src/catalog/manifest.js'
import { DEFAULT_TABLE_FILE, loadTable } from '../../src/config/table-file.js'
import { originsOf, parseConfig } from '../../src/config/service.js'
import { singleSource } from '../../src/table/resolve.js'
import type { CheckTarget } from '../../src/upstream/checks.js'
import type { CheckOutcome } from '../../src/upstream/head.js'

const REL = 'https://github.example/flatcar/sysext-bakery/releases/download'
const origins = singleSource(REL, 'https://docs.example')
const table = await loadTable(DEFAULT_TABLE_FILE, origins)
const entries = (...names: string[]): ManifestEntry[] =>
  names.map((name) => ({ sha256: 'a'.repeat(64), name }))

function admit(outcomes: Record<string, CheckOutcome> = {}) {
  const asked: CheckTarget[] = []
  const exists = (target: CheckTarget) => {
    asked.push(target)
    return Promise.resolve(checked(outcomes[target.asset] ?? 'exists'))
  }
  return { asked, admit: admission({ table, origins, source: 'bakery', exists }) }
}

const OLD = entries('kubernetes-v1.32.2-x86-64.raw')
const NEW = entries('kubernetes-v1.32.2-x86-64.raw', 'kubernetes-v1.33.0-x86-64.raw')

t.test('the first revision is adopted as it comes: nothing is asked', async (t) => {
  const { asked, admit: whole } = admit()
  t.equal(await whole('kubernetes', NEW, undefined), null)
  t.same(asked, [])
})

t.test(
  'only the files the adopted revision did not list are asked, where a client asks',
  async (t) => {
    const { asked, admit: whole } = admit()
    t.equal(await whole('kubernetes', NEW, OLD), null)
    t.same(asked, [
      {
        source: 'bakery',
        release: 'kubernetes-v1.33.0',
        asset: 'kubernetes-v1.33.0-x86-64.raw',
        location: `${REL}/kubernetes-v1.33.0/kubernetes-v1.33.0-x86-64.raw`,
        cache: 'versioned',
      },
    ])
  },
)

t.test('a new file missing or unconfirmed holds the revision back, and says why', async (t) => {
  const missing = await admit({ 'kubernetes-v1.33.0-x86-64.raw': 'missing' }).admit('k', NEW, OLD)
  t.same(missing, {
    reason: '1 new file(s) not at the origin yet (kubernetes-v1.33.0-x86-64.raw)',
    missing: ['kubernetes-v1.33.0-x86-64.raw'],
  })
  const unknown = await admit({ 'kubernetes-v1.33.0-x86-64.raw': 'unknown' }).admit('k', NEW, OLD)
  t.same(unknown, { reason: '1 new file(s) the origin could not confirm', missing: [] })
})

t.test('a new name no redirect rule takes is not asked, and holds nothing back', async (t) => {
  const { asked, admit: whole } = admit()
  t.equal(await whole('SHA256SUMS', entries(...OLD.map((e) => e.name), 'README.md'), OLD), null)
  t.same(asked, [])
})

t.test('names no redirect rule takes are not asked', async (t) => {
  const targetOf = imageTargets({ table, origins, source: 'bakery' })
  t.equal(targetOf('README.md'), null, 'the fallback')
  t.equal(targetOf('kubernetes.conf'), null, 'a snapshot file')
  t.doesNotThrow(() => targetOf('odd%zz?#-1.0-x86-64.raw'), 'any file name makes a path')
  t.match(targetOf('k3s-v1.32.2+k3s1-x86-64.raw'), { release: 'k3s-v1.32.2+k3s1' })
})

t.test('a source’s manifest is checked in its own repository', async (t) => {
  const config = parseConfig({ PATTERN_TABLE: 'tables/fedora-sysexts.yaml' })
  const fedora = await loadTable('tables/fedora-sysexts.yaml', (one) => originsOf(config, one))
  const both = originsOf(config, fedora)
  const community = imageTargets({ table: fedora, origins: both, source: 'community' })
  const image = 'tailscale-1.82.5-1-42-x86-64.raw'
  t.match(community(image), {
    source: 'community',
    release: 'tailscale-1.82.5-1-42-x86-64',
    location: `${both.sources.community as string}/tailscale-1.82.5-1-42-x86-64/${image}`,
  })
  const own = imageTargets({ table: fedora, origins: both, source: 'fedora' })
  t.match(own(image), { source: 'fedora' })
})
