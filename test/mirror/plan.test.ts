import t from 'tap'
import { parseManifest } from '../../src/catalog/manifest.js'
import { FLATCAR_PLACE, type Place } from '../../src/directory/model.js'
import {
  chosenImages,
  EVERYTHING,
  extensionManifestPath,
  globalPath,
  imagePaths,
  keepLines,
  planExtension,
  planGlobal,
  transferPaths,
  type Choice,
} from '../../src/mirror/plan.js'
import { DEFAULT_MANIFESTS } from '../../src/table/layers.js'

const hash = (n: number) => String(n).padStart(64, '0')
const line = (n: number, name: string) => `${hash(n)}  ${name}\n`
const KUBERNETES =
  line(1, 'kubernetes-v1.31.4-x86-64.raw') +
  line(2, 'kubernetes-v1.32.2-arm64.raw') +
  line(3, 'kubernetes-v1.32.2-x86-64.raw') +
  line(4, 'kubernetes-v1.33.0-x86-64.raw')
const bytes = (text: string) => Buffer.from(text)
// Pages below /directory/fedora/, files in the name folders below /fedora/.
const FEDORA: Place = {
  base: '/directory/fedora/',
  layout: { kind: 'fedora', folder: '/fedora/{ext}/' },
}

function entries(text: string) {
  const parsed = parseManifest(bytes(text))
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.entries
}

const choose = (choice: Partial<Choice>) => ({ ...EVERYTHING, ...choice })

t.test('chosen images: by architecture, then the newest versions kept', async (t) => {
  const files = (choice: Partial<Choice>) =>
    chosenImages('kubernetes', entries(KUBERNETES), choose(choice)).map((image) => image.file)
  t.same(files({}), [
    'kubernetes-v1.33.0-x86-64.raw',
    'kubernetes-v1.32.2-arm64.raw',
    'kubernetes-v1.32.2-x86-64.raw',
    'kubernetes-v1.31.4-x86-64.raw',
  ])
  t.same(
    files({ keep: 2 }),
    [
      'kubernetes-v1.33.0-x86-64.raw',
      'kubernetes-v1.32.2-arm64.raw',
      'kubernetes-v1.32.2-x86-64.raw',
    ],
    'a version counts once, whatever its architectures',
  )
  t.same(files({ arches: new Set(['arm64'] as const) }), ['kubernetes-v1.32.2-arm64.raw'])
  t.same(
    files({ arches: new Set(['arm64'] as const), keep: 1 }),
    ['kubernetes-v1.32.2-arm64.raw'],
    'kept among that architecture’s versions',
  )
})

t.test(
  'a manifest keeps its lines of the images kept, byte for byte, and its markers',
  async (t) => {
    const marked = `${KUBERNETES}${line(9, 'BEST-BEFORE-2030-01-01')}`
    const all = keepLines(bytes(marked), new Set(entries(KUBERNETES).map((e) => e.name)))
    t.equal(all.filtered, false)
    t.equal(Buffer.from(all.bytes).toString(), marked, 'unchanged: the very bytes')
    const one = keepLines(bytes(marked), new Set(['kubernetes-v1.33.0-x86-64.raw']))
    t.equal(one.filtered, true)
    t.equal(
      Buffer.from(one.bytes).toString(),
      line(4, 'kubernetes-v1.33.0-x86-64.raw') + line(9, 'BEST-BEFORE-2030-01-01'),
    )
    const starred = `${hash(5)} *kubernetes-v1.31.4-x86-64.raw\r\n`
    t.equal(
      Buffer.from(keepLines(bytes(starred), new Set()).bytes).toString(),
      '',
      'binary-mode lines read too',
    )
    t.equal(keepLines(bytes('\n'), new Set()).filtered, false, 'a blank line stays')
  },
)

t.test(
  'the flat layout: images at the top and below the extension, newest names, transfers',
  async (t) => {
    const plan = planExtension(
      'kubernetes',
      bytes(KUBERNETES),
      choose({ keep: 2 }),
      FLATCAR_PLACE,
      DEFAULT_MANIFESTS,
    )
    t.equal(plan.manifestPath, '/extensions/kubernetes/SHA256SUMS')
    t.equal(plan.filtered, true)
    t.same(plan.images[0], {
      file: 'kubernetes-v1.33.0-x86-64.raw',
      sha256: hash(4),
      paths: [
        '/extensions/kubernetes-v1.33.0-x86-64.raw',
        '/extensions/kubernetes/kubernetes-v1.33.0-x86-64.raw',
      ],
    })
    t.same(plan.newest, [
      {
        path: '/extensions/kubernetes.raw',
        file: 'kubernetes-v1.33.0-x86-64.raw',
        sha256: hash(4),
      },
      {
        path: '/extensions/kubernetes/kubernetes.raw',
        file: 'kubernetes-v1.33.0-x86-64.raw',
        sha256: hash(4),
      },
      {
        path: '/extensions/kubernetes-arm64.raw',
        file: 'kubernetes-v1.32.2-arm64.raw',
        sha256: hash(2),
      },
      {
        path: '/extensions/kubernetes/kubernetes-arm64.raw',
        file: 'kubernetes-v1.32.2-arm64.raw',
        sha256: hash(2),
      },
    ])
    t.same(plan.transferPaths, [
      '/extensions/kubernetes.conf',
      '/extensions/kubernetes/kubernetes.conf',
      '/extensions/kubernetes.transfer',
      '/extensions/kubernetes/kubernetes.transfer',
    ])
    t.same(
      planExtension('x', bytes('not a manifest'), EVERYTHING, FLATCAR_PLACE, DEFAULT_MANIFESTS)
        .images,
      [],
      'a manifest that does not parse (none the service adopts) lists nothing',
    )
    const upper = planExtension(
      'kubernetes',
      bytes(`${'A'.repeat(64)}  kubernetes-v1-x86-64.raw\n`),
      EVERYTHING,
      FLATCAR_PLACE,
      DEFAULT_MANIFESTS,
    )
    t.equal(upper.images[0]?.sha256, 'a'.repeat(64), 'digests compared in lower case')
  },
)

t.test('the Fedora layout: each name in its folder, no newest names', async (t) => {
  const sums = line(1, 'tmux-3.5a-1.fc42-42-x86-64.raw')
  const plan = planExtension('tmux', bytes(sums), EVERYTHING, FEDORA, DEFAULT_MANIFESTS)
  t.same(plan.images[0]?.paths, ['/fedora/tmux/tmux-3.5a-1.fc42-42-x86-64.raw'])
  t.same(plan.newest, [])
  t.equal(extensionManifestPath('tmux', FEDORA, DEFAULT_MANIFESTS), '/fedora/tmux/SHA256SUMS')
  t.same(imagePaths('tmux', 'a.raw', FEDORA), ['/fedora/tmux/a.raw'])
  t.same(transferPaths('tmux', FEDORA), [
    '/fedora/tmux.conf',
    '/fedora/tmux/tmux.conf',
    '/fedora/tmux.transfer',
    '/fedora/tmux/tmux.transfer',
  ])
  t.equal(globalPath(FEDORA, DEFAULT_MANIFESTS), '/fedora/SHA256SUMS')
})

t.test('the global manifest lists what every extension mirrored keeps', async (t) => {
  const global = KUBERNETES + line(7, 'docker-28.0.1-x86-64.raw')
  const plan = planExtension(
    'kubernetes',
    bytes(KUBERNETES),
    EVERYTHING,
    FLATCAR_PLACE,
    DEFAULT_MANIFESTS,
  )
  const written = planGlobal(bytes(global), plan === null ? [] : [plan])
  t.equal(written.filtered, true, 'docker was not chosen')
  t.equal(Buffer.from(written.bytes).toString(), KUBERNETES)
})
